package github

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Permissions maps a permission of a GitHub App ("contents",
// "pull_requests") to its level ("read", "write").
type Permissions map[string]string

// String formats the permissions sorted, as "contents: write, pull_requests: write".
func (p Permissions) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+": "+p[k])
	}
	return strings.Join(parts, ", ")
}

var levels = map[string]int{"read": 1, "write": 2, "admin": 3}

// missing returns the permissions of want that have does not grant.
func (p Permissions) missing(want Permissions) Permissions {
	out := Permissions{}
	for k, v := range want {
		if levels[p[k]] < levels[v] {
			out[k] = v
		}
	}
	return out
}

// Installation is an installation of a GitHub App on an account.
type Installation struct {
	ID          int64       `json:"id"`
	AppSlug     string      `json:"app_slug"`
	Permissions Permissions `json:"permissions"`
	Account     struct {
		Login string `json:"login"`
	} `json:"account"`
}

// Token is an installation access token.
type Token struct {
	Token       string      `json:"token"`
	ExpiresAt   time.Time   `json:"expires_at"`
	Permissions Permissions `json:"permissions"`
}

func (c *Client) jwtCall(app *App, op string) (call, error) {
	jwt, err := app.JWT(c.now())
	if err != nil {
		return call{}, err
	}
	return call{
		op:     op,
		auth:   "Bearer " + jwt,
		secret: jwt,
		unauthorizedHint: fmt.Sprintf("GitHub refused the JSON Web Token of app %s: the private key is not this app's, "+
			"or this machine's clock is more than a minute off GitHub's (check NTP)", app.ID),
		retryUnavailable: true,
	}, nil
}

// FindInstallation returns the installation of app on repo
// (GET /repos/{owner}/{repo}/installation). When the app is not installed
// there, the error wraps ErrNotInstalled.
func (c *Client) FindInstallation(ctx context.Context, app *App, repo Repo) (*Installation, error) {
	cl, err := c.jwtCall(app, fmt.Sprintf("finding the installation of GitHub App %s on %s", app.ID, repo))
	if err != nil {
		return nil, err
	}
	cl.method, cl.url = http.MethodGet, c.ep.REST+"/repos/"+pathEscape(repo.Owner)+"/"+pathEscape(repo.Name)+"/installation"
	cl.notFoundKind = ErrNotInstalled
	cl.notFound = fmt.Sprintf("GitHub App %s is not installed on %s (or that repository does not exist): install the app on it", app.ID, repo)
	var inst Installation
	if err := c.do(ctx, cl, &inst); err != nil {
		return nil, err
	}
	if inst.ID <= 0 {
		return nil, &Error{Op: cl.op, Status: http.StatusOK, Kind: ErrServer, Message: "the answer has no installation id"}
	}
	return &inst, nil
}

// CreateToken creates an installation token for installationID that can
// reach repo only, with exactly perms
// (POST /app/installations/{id}/access_tokens).
func (c *Client) CreateToken(ctx context.Context, app *App, installationID int64, repo Repo, perms Permissions) (*Token, error) {
	cl, err := c.jwtCall(app, fmt.Sprintf("creating an installation token of GitHub App %s for %s", app.ID, repo))
	if err != nil {
		return nil, err
	}
	cl.method = http.MethodPost
	cl.url = c.ep.REST + "/app/installations/" + strconv.FormatInt(installationID, 10) + "/access_tokens"
	cl.body = map[string]any{"repositories": []string{repo.Name}, "permissions": perms}
	cl.notFound = fmt.Sprintf("installation %d of GitHub App %s does not exist", installationID, app.ID)
	cl.notFoundKind = ErrNotInstalled
	cl.retryUnavailable = false
	var tok Token
	err = c.do(ctx, cl, &tok)
	var e *Error
	if errors.As(err, &e) && e.Kind == ErrUnprocessable {
		m := strings.ToLower(e.Message)
		switch {
		case strings.Contains(m, "permissions requested are not granted"):
			e.Kind, e.Permission = ErrForbidden, strconv.Quote(perms.String())
			e.Hint = fmt.Sprintf("the installation does not grant all of %s: grant them in the app's settings and approve them on the installation", e.Permission)
		case strings.Contains(m, "repositor"):
			e.Kind = ErrNotInstalled
			e.Hint = fmt.Sprintf("installation %d of GitHub App %s cannot reach %s: add the repository to the installation", installationID, app.ID, repo)
		}
	}
	if err != nil {
		return nil, err
	}
	if tok.Token == "" {
		return nil, &Error{Op: cl.op, Status: http.StatusCreated, Kind: ErrServer, Message: "the answer has no token"}
	}
	return &tok, nil
}

// Authenticate authenticates as app's installation on repo: it finds the
// installation (unless installationID is given), checks that it grants
// perms, creates a token limited to repo and perms, and returns a client
// that uses it, with the token.
func (c *Client) Authenticate(ctx context.Context, app *App, installationID int64, repo Repo, perms Permissions) (*Client, *Token, error) {
	if installationID <= 0 {
		inst, err := c.FindInstallation(ctx, app, repo)
		if err != nil {
			return nil, nil, err
		}
		if miss := inst.Permissions.missing(perms); len(miss) > 0 {
			p := strconv.Quote(miss.String())
			return nil, nil, &Error{
				Op:         fmt.Sprintf("checking the permissions of GitHub App %s on %s", app.ID, repo),
				Kind:       ErrForbidden,
				Permission: p,
				Message:    "the installation grants " + inst.Permissions.String(),
				Hint:       forbiddenHint(p),
			}
		}
		installationID = inst.ID
	}
	tok, err := c.CreateToken(ctx, app, installationID, repo, perms)
	if err != nil {
		return nil, nil, err
	}
	return c.WithToken(tok.Token), tok, nil
}

func pathEscape(s string) string { return url.PathEscape(s) }
