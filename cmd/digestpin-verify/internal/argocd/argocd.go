// Package argocd is verify's window on Argo CD: its API server, reached
// with Argo CD's own client (github.com/argoproj/argo-cd/v2/pkg/apiclient)
// the way the argocd CLI reaches it, and nothing else. verify never talks
// to the cluster.
//
// Every error this package returns is an *Error naming the server and what
// went wrong in words a CI log reader can act on; the token never appears
// in one.
package argocd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/argoproj/argo-cd/v2/pkg/apiclient"
	applicationpkg "github.com/argoproj/argo-cd/v2/pkg/apiclient/application"
	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Options say how to reach Argo CD, as the argocd CLI's flags and
// environment do.
type Options struct {
	// Server is the API server's host:port ($ARGOCD_SERVER).
	Server string
	// Token is a bearer token ($ARGOCD_AUTH_TOKEN), for example one made
	// with `argocd account generate-token`.
	Token string
	// PlainText talks to the server without TLS.
	PlainText bool
	// Insecure skips verifying the server's certificate.
	Insecure bool
	// GRPCWeb speaks gRPC-Web over HTTP/1.1, for servers behind proxies
	// that do not pass gRPC through.
	GRPCWeb bool
}

// Kind says what kind of failure an Error is.
type Kind int

const (
	// Usage: the options cannot work (no server, no token).
	Usage Kind = iota
	// Unreachable: no answer from the server (down, wrong address, wrong
	// transport).
	Unreachable
	// Unauthenticated: the server rejected the token.
	Unauthenticated
	// Forbidden: the token may not do this, or the application does not
	// exist (Argo CD does not tell the two apart).
	Forbidden
	// NotFound: the server says the object does not exist.
	NotFound
	// Failed: the server answered with another error.
	Failed
)

// Error is a failure talking to Argo CD.
type Error struct {
	Kind Kind
	// Server is the address that was asked.
	Server string
	// Code is the gRPC status code, codes.Unknown when there was none.
	Code codes.Code
	msg  string
	err  error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// Client reads an Application and what it deployed.
type Client struct {
	server string
	apps   applicationpkg.ApplicationServiceClient
	closer io.Closer
}

// Connect opens a connection to Argo CD's API server. It does not check the
// token; the first call does.
func Connect(opts Options) (*Client, error) {
	if opts.Server == "" {
		return nil, &Error{Kind: Usage, msg: "no Argo CD server: set ARGOCD_SERVER to its API address (host:port), as for the argocd CLI"}
	}
	if opts.Token == "" {
		return nil, &Error{Kind: Usage, Server: opts.Server, msg: "no Argo CD token: set ARGOCD_AUTH_TOKEN, for example to a token from `argocd account generate-token --account ci`"}
	}
	c, err := apiclient.NewClient(&apiclient.ClientOptions{
		ServerAddr: opts.Server,
		AuthToken:  opts.Token,
		PlainText:  opts.PlainText,
		Insecure:   opts.Insecure,
		GRPCWeb:    opts.GRPCWeb,
		UserAgent:  "digestpin-verify",
		// Never ~/.config/argocd: CI states its server and token.
		ConfigPath: "",
	})
	if err != nil {
		return nil, classify(opts.Server, "connecting", err)
	}
	closer, apps, err := c.NewApplicationClient()
	if err != nil {
		return nil, classify(opts.Server, "connecting", err)
	}
	return &Client{server: opts.Server, apps: apps, closer: closer}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.closer.Close() }

// App names an Application: Name, in Namespace when Argo CD watches
// applications in more namespaces than its own ("" for its own).
type App struct {
	Name, Namespace string
}

// ParseApp reads "NAME" or "NAMESPACE/NAME", as the argocd CLI does.
func ParseApp(s string) (App, error) {
	ns, name, qualified := strings.Cut(s, "/")
	if !qualified {
		ns, name = "", s
	}
	if name == "" || (qualified && ns == "") || strings.Contains(name, "/") {
		return App{}, fmt.Errorf("--app %q: want NAME or NAMESPACE/NAME", s)
	}
	return App{Name: name, Namespace: ns}, nil
}

func (a App) String() string {
	if a.Namespace == "" {
		return a.Name
	}
	return a.Namespace + "/" + a.Name
}

func (a App) ns() *string {
	if a.Namespace == "" {
		return nil
	}
	return &a.Namespace
}

// Get reads the Application. refresh asks Argo CD to compare it with Git
// now instead of at its next polling interval.
func (c *Client) Get(ctx context.Context, app App, refresh bool) (*v1alpha1.Application, error) {
	q := &applicationpkg.ApplicationQuery{Name: &app.Name, AppNamespace: app.ns()}
	if refresh {
		normal := string(v1alpha1.RefreshTypeNormal)
		q.Refresh = &normal
	}
	a, err := c.apps.Get(ctx, q)
	if err != nil {
		return nil, c.appError(app, "reading application", err)
	}
	return a, nil
}

// Sync asks Argo CD to sync the Application to revision.
func (c *Client) Sync(ctx context.Context, app App, revision string) error {
	if _, err := c.apps.Sync(ctx, &applicationpkg.ApplicationSyncRequest{Name: &app.Name, AppNamespace: app.ns(), Revision: &revision}); err != nil {
		return c.appError(app, "syncing application", err)
	}
	return nil
}

// Manifests returns the manifests Argo CD renders for the Application at
// revision, through its repo-server and config management plugin.
func (c *Client) Manifests(ctx context.Context, app App, revision string) ([]string, error) {
	m, err := c.apps.GetManifests(ctx, &applicationpkg.ApplicationManifestQuery{Name: &app.Name, AppNamespace: app.ns(), Revision: &revision})
	if err != nil {
		return nil, c.appError(app, "reading the manifests of application", err)
	}
	return m.Manifests, nil
}

// Tree returns the Application's resource tree: its objects and the
// objects they own, down to pods.
func (c *Client) Tree(ctx context.Context, app App) (*v1alpha1.ApplicationTree, error) {
	t, err := c.apps.ResourceTree(ctx, &applicationpkg.ResourcesQuery{ApplicationName: &app.Name, AppNamespace: app.ns()})
	if err != nil {
		return nil, c.appError(app, "reading the resource tree of application", err)
	}
	return t, nil
}

// Resource returns the live object ref of the Application's tree as JSON.
func (c *Client) Resource(ctx context.Context, app App, ref v1alpha1.ResourceRef) (string, error) {
	r, err := c.apps.GetResource(ctx, &applicationpkg.ApplicationResourceRequest{
		Name: &app.Name, AppNamespace: app.ns(),
		Namespace: &ref.Namespace, ResourceName: &ref.Name, Version: &ref.Version, Group: &ref.Group, Kind: &ref.Kind,
	})
	if err != nil {
		return "", c.appError(app, fmt.Sprintf("reading %s %s/%s of application", ref.Kind, ref.Namespace, ref.Name), err)
	}
	if r.Manifest == nil {
		return "", &Error{Kind: Failed, Server: c.server, msg: fmt.Sprintf("Argo CD at %s returned no manifest for %s %s/%s", c.server, ref.Kind, ref.Namespace, ref.Name)}
	}
	return *r.Manifest, nil
}

// RevisionDate returns the date Argo CD's repo-server reads from Git for a
// revision of the Application's source.
func (c *Client) RevisionDate(ctx context.Context, app App, revision string) (time.Time, error) {
	m, err := c.apps.RevisionMetadata(ctx, &applicationpkg.RevisionMetadataQuery{Name: &app.Name, AppNamespace: app.ns(), Revision: &revision})
	if err != nil {
		return time.Time{}, c.appError(app, "reading revision "+revision+" of application", err)
	}
	return m.Date.Time, nil
}

func (c *Client) appError(app App, doing string, err error) error {
	return classify(c.server, fmt.Sprintf("%s %q", doing, app), err)
}

// classify turns what the client returned into an *Error that says what to
// do about it.
func classify(server, doing string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	st, isStatus := status.FromError(err)
	if !isStatus {
		return &Error{Kind: Unreachable, Server: server, Code: codes.Unavailable, err: err,
			msg: fmt.Sprintf("cannot reach Argo CD at %s: %s%s", server, oneLine(err.Error()), transportHint(err.Error()))}
	}
	msg := oneLine(st.Message())
	switch st.Code() {
	case codes.Unauthenticated:
		return &Error{Kind: Unauthenticated, Server: server, Code: st.Code(), err: err,
			msg: fmt.Sprintf("Argo CD at %s rejected the token in ARGOCD_AUTH_TOKEN (%s): it is invalid, expired or revoked; generate a new one with `argocd account generate-token`", server, msg)}
	case codes.PermissionDenied:
		return &Error{Kind: Forbidden, Server: server, Code: st.Code(), err: err,
			msg: fmt.Sprintf("Argo CD at %s refused %s (%s): the application does not exist, or the token's account lacks the RBAC permission `applications, get` on it", server, doing, msg)}
	case codes.NotFound:
		return &Error{Kind: NotFound, Server: server, Code: st.Code(), err: err,
			msg: fmt.Sprintf("Argo CD at %s: %s: not found (%s)", server, doing, msg)}
	case codes.Unavailable, codes.DeadlineExceeded:
		return &Error{Kind: Unreachable, Server: server, Code: st.Code(), err: err,
			msg: fmt.Sprintf("cannot reach Argo CD at %s: %s%s", server, msg, transportHint(msg))}
	case codes.Canceled:
		return &Error{Kind: Unreachable, Server: server, Code: st.Code(), err: err, msg: fmt.Sprintf("%s on Argo CD at %s: canceled", doing, server)}
	default:
		return &Error{Kind: Failed, Server: server, Code: st.Code(), err: err,
			msg: fmt.Sprintf("Argo CD at %s: %s: %s", server, doing, msg)}
	}
}

// transportHint suggests the flag that fixes a transport mismatch.
func transportHint(msg string) string {
	switch {
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return " (the server speaks plain HTTP: pass --plaintext)"
	case strings.Contains(msg, "certificate"):
		return " (to accept a certificate you cannot verify, pass --insecure)"
	case strings.Contains(msg, "malformed HTTP response") || strings.Contains(msg, "frame too large") || strings.Contains(msg, "unexpected HTTP status") || strings.Contains(msg, "content-type"):
		return " (behind a proxy that does not pass gRPC through, pass --grpc-web)"
	}
	return ""
}

// oneLine keeps a server's message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)), " ")
}

// IsTransient reports whether err may go away by itself: the server was
// unreachable for a moment.
func IsTransient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind == Unreachable
	}
	var ne net.Error
	return errors.As(err, &ne)
}
