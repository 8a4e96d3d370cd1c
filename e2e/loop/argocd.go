package loop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/argoproj/argo-cd/v2/pkg/apiclient"
	accountpkg "github.com/argoproj/argo-cd/v2/pkg/apiclient/account"
	applicationpkg "github.com/argoproj/argo-cd/v2/pkg/apiclient/application"
	sessionpkg "github.com/argoproj/argo-cd/v2/pkg/apiclient/session"
	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	appclientset "github.com/argoproj/argo-cd/v2/pkg/client/clientset/versioned"
	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// ArgoCDNamespace is where Argo CD runs and keeps its Applications.
const ArgoCDNamespace = "argocd"

// PluginName is how an Application names the digestpin plugin:
// <metadata.name>-<spec.version> of plugin.yaml.
const PluginName = "digestpin-v1"

// ArgoCDOptions say what Argo CD runs.
type ArgoCDOptions struct {
	// Binary is the argocd binary built from the argo-cd module's cmd/.
	Binary string
	// RedisServer is the redis-server binary.
	RedisServer string
	// PluginYAML is the project's plugin.yaml.
	PluginYAML string
	// Digestpin is the digestpin binary the CMP server runs: plugin.yaml
	// finds it on PATH, as in the sidecar image.
	Digestpin string
	// CRDs is the directory of Argo CD's CRD manifests (the module's
	// manifests/crds).
	CRDs string
	// SocketDir holds the CMP server's socket; its path must stay short
	// (a unix socket path has at most 107 bytes).
	SocketDir string
}

// ArgoCD is Argo CD's application controller, API server, repo-server and
// CMP server, with Redis, running against a ControlPlane.
type ArgoCD struct {
	// Server is the API server's address (host:port), plain HTTP and gRPC.
	Server string
	// Apps reads and writes Applications directly, as kubectl would.
	Apps appclientset.Interface
	// AdminPassword is the admin account's password.
	AdminPassword string

	procs []*proc
}

// StartArgoCD installs Argo CD's CRDs and configuration into the control
// plane and starts its components, the way Argo CD's own local mode runs
// them: one argocd binary, ARGOCD_BINARY_NAME choosing the component,
// ARGOCD_FAKE_IN_CLUSTER=true and a kubeconfig.
func StartArgoCD(ctx context.Context, dir string, cp *ControlPlane, o ArgoCDOptions) (a *ArgoCD, err error) {
	a = &ArgoCD{}
	defer func() {
		if err != nil {
			a.Stop()
		}
	}()
	if err := installCRDs(ctx, cp, o.CRDs); err != nil {
		return nil, err
	}
	if err := cp.Namespace(ctx, ArgoCDNamespace); err != nil {
		return nil, err
	}
	if a.Apps, err = appclientset.NewForConfig(cp.Config); err != nil {
		return nil, err
	}
	if err := a.configure(ctx, cp); err != nil {
		return nil, err
	}

	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	redisPort, repoPort, repoMetrics, ctrlMetrics, serverPort, serverMetrics := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	a.Server = fmt.Sprintf("127.0.0.1:%d", serverPort)
	redisAddr := fmt.Sprintf("127.0.0.1:%d", redisPort)
	repoAddr := fmt.Sprintf("127.0.0.1:%d", repoPort)

	for _, d := range []string{"tmp", "tls", "ssh", "gpg", "gpg-data", "plugin", "static", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(o.SocketDir, 0o700); err != nil {
		return nil, err
	}
	pluginYAML, err := os.ReadFile(o.PluginYAML)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "plugin", "plugin.yaml"), pluginYAML, 0o644); err != nil {
		return nil, err
	}

	redis, err := start(dir, "redis", o.RedisServer, []string{
		"--bind", "127.0.0.1", "--port", fmt.Sprint(redisPort),
		"--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no",
	}, []string{"PATH=/usr/bin:/bin"})
	if err != nil {
		return nil, err
	}
	a.procs = append(a.procs, redis)

	base := []string{
		"HOME=" + filepath.Join(dir, "home"),
		"TMPDIR=" + filepath.Join(dir, "tmp"),
		"KUBECONFIG=" + cp.Kubeconfig,
		"ARGOCD_FAKE_IN_CLUSTER=true",
		"ARGOCD_TLS_DATA_PATH=" + filepath.Join(dir, "tls"),
		"ARGOCD_SSH_DATA_PATH=" + filepath.Join(dir, "ssh"),
		"ARGOCD_GNUPGHOME=" + filepath.Join(dir, "gpg"),
		"ARGOCD_GPG_DATA_PATH=" + filepath.Join(dir, "gpg-data"),
		"ARGOCD_GPG_ENABLED=false",
		"ARGOCD_PLUGINSOCKFILEPATH=" + o.SocketDir,
		"ARGOCD_CMP_WORKDIR=" + filepath.Join(dir, "tmp"),
	}
	component := func(name string, extraEnv []string, args ...string) error {
		env := append(append([]string{"ARGOCD_BINARY_NAME=" + name, "PATH=/usr/bin:/bin"}, base...), extraEnv...)
		p, err := start(dir, name, o.Binary, append(args, "--loglevel", "info"), env)
		if err != nil {
			return err
		}
		a.procs = append(a.procs, p)
		return nil
	}

	// The CMP server finds `digestpin` on PATH, as in the sidecar image.
	if err := component("argocd-cmp-server", []string{"PATH=" + filepath.Dir(o.Digestpin) + ":/usr/bin:/bin"},
		"--config-dir-path", filepath.Join(dir, "plugin")); err != nil {
		return nil, err
	}
	if err := component("argocd-repo-server", nil,
		"--port", fmt.Sprint(repoPort), "--metrics-port", fmt.Sprint(repoMetrics),
		"--redis", redisAddr, "--disable-tls"); err != nil {
		return nil, err
	}
	if err := component("argocd-application-controller", []string{"HOSTNAME=argocd-application-controller-0"},
		"--redis", redisAddr, "--repo-server", repoAddr, "--repo-server-plaintext",
		"--metrics-port", fmt.Sprint(ctrlMetrics),
		"--status-processors", "4", "--operation-processors", "2",
		// Look at Git every 15 seconds rather than every 3 minutes.
		"--app-resync", "15", "--self-heal-timeout-seconds", "1"); err != nil {
		return nil, err
	}
	if err := component("argocd-server", nil,
		"--insecure", "--port", fmt.Sprint(serverPort), "--metrics-port", fmt.Sprint(serverMetrics),
		"--redis", redisAddr, "--repo-server", repoAddr, "--repo-server-plaintext",
		"--staticassets", filepath.Join(dir, "static")); err != nil {
		return nil, err
	}

	byName := map[string]*proc{}
	for _, p := range a.procs {
		byName[p.name] = p
	}
	socket := filepath.Join(o.SocketDir, PluginName+".sock")
	checks := []struct {
		what  string
		p     *proc
		check func(context.Context) error
	}{
		{"redis", byName["redis"], func(context.Context) error { return ping(redisAddr) }},
		{"argocd-cmp-server", byName["argocd-cmp-server"], func(context.Context) error { _, err := os.Stat(socket); return err }},
		{"argocd-repo-server", byName["argocd-repo-server"], httpOK(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/healthz", repoMetrics))},
		{"argocd-application-controller", byName["argocd-application-controller"], httpOK(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/healthz", ctrlMetrics))},
		{"argocd-server", byName["argocd-server"], httpOK(http.DefaultClient, fmt.Sprintf("http://%s/healthz?full=true", a.Server))},
	}
	for _, c := range checks {
		if err := waitFor(ctx, c.what, 3*time.Minute, c.p, c.check); err != nil {
			return nil, err
		}
	}
	// argocd-server creates the default project when it starts.
	if err := waitFor(ctx, "the default AppProject", time.Minute, byName["argocd-server"], func(ctx context.Context) error {
		_, err := a.Apps.ArgoprojV1alpha1().AppProjects(ArgoCDNamespace).Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return nil, err
	}
	return a, nil
}

// installCRDs creates Argo CD's CRDs and waits until the apiserver serves
// them.
func installCRDs(ctx context.Context, cp *ControlPlane, dir string) error {
	client, err := apiextensionsclient.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*-crd.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs (*-crd.yaml) in %s: %v", dir, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating CRD %s: %w", crd.Name, err)
		}
		if err := waitFor(ctx, "CRD "+crd.Name, time.Minute, nil, func(ctx context.Context) error {
			got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, c := range got.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return nil
				}
			}
			return fmt.Errorf("not established")
		}); err != nil {
			return err
		}
	}
	return nil
}

// configure writes argocd-cm, argocd-rbac-cm and argocd-secret: an admin
// with a known password, and a "ci" account that may only read and sync
// Applications, the narrow role a CI token gets.
func (a *ArgoCD) configure(ctx context.Context, cp *ControlPlane) error {
	a.AdminPassword = randomString(18)
	hash, err := bcrypt.GenerateFromPassword([]byte(a.AdminPassword), bcrypt.MinCost)
	if err != nil {
		return err
	}
	labels := map[string]string{"app.kubernetes.io/part-of": "argocd"}
	cms := []*corev1.ConfigMap{{
		ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Labels: labels},
		Data: map[string]string{
			"accounts.ci":   "apiKey",
			"admin.enabled": "true",
		},
	}, {
		ObjectMeta: metav1.ObjectMeta{Name: "argocd-rbac-cm", Labels: labels},
		Data: map[string]string{
			"policy.csv": "p, role:ci, applications, get, */*, allow\n" +
				"p, role:ci, applications, sync, */*, allow\n" +
				"g, ci, role:ci\n",
		},
	}}
	for _, name := range []string{"argocd-cmd-params-cm", "argocd-tls-certs-cm", "argocd-ssh-known-hosts-cm", "argocd-gpg-keys-cm"} {
		cms = append(cms, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	}
	for _, cm := range cms {
		if _, err := cp.Client.CoreV1().ConfigMaps(ArgoCDNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating %s: %w", cm.Name, err)
		}
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "argocd-secret", Labels: labels},
		StringData: map[string]string{
			"server.secretkey":    randomString(32),
			"admin.password":      string(hash),
			"admin.passwordMtime": time.Now().UTC().Format(time.RFC3339),
		},
	}
	if _, err := cp.Client.CoreV1().Secrets(ArgoCDNamespace).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating argocd-secret: %w", err)
	}
	return nil
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ping checks that Redis answers PING.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 16)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(buf[:n]), "+PONG") {
		return fmt.Errorf("redis answered %q", buf[:n])
	}
	return nil
}

// Stop stops the components by PID, newest first.
func (a *ArgoCD) Stop() {
	for i := len(a.procs) - 1; i >= 0; i-- {
		a.procs[i].stop()
	}
	a.procs = nil
}

// Check returns an error when a component has exited.
func (a *ArgoCD) Check() error {
	for _, p := range a.procs {
		if err := p.exited(); err != nil {
			return err
		}
	}
	return nil
}

// client connects to the API server with a token.
func (a *ArgoCD) client(token string) (apiclient.Client, error) {
	return apiclient.NewClient(&apiclient.ClientOptions{ServerAddr: a.Server, PlainText: true, AuthToken: token})
}

// CIToken logs in as admin and generates a token for the "ci" account, as
// `argocd account generate-token --account ci` does.
func (a *ArgoCD) CIToken(ctx context.Context) (string, error) {
	anon, err := a.client("")
	if err != nil {
		return "", err
	}
	closer, sessions, err := anon.NewSessionClient()
	if err != nil {
		return "", err
	}
	defer closer.Close()
	session, err := sessions.Create(ctx, &sessionpkg.SessionCreateRequest{Username: "admin", Password: a.AdminPassword})
	if err != nil {
		return "", fmt.Errorf("logging in to Argo CD as admin: %w", err)
	}
	admin, err := a.client(session.Token)
	if err != nil {
		return "", err
	}
	closer2, accounts, err := admin.NewAccountClient()
	if err != nil {
		return "", err
	}
	defer closer2.Close()
	tok, err := accounts.CreateToken(ctx, &accountpkg.CreateTokenRequest{Name: "ci", Id: "e2e"})
	if err != nil {
		return "", fmt.Errorf("generating a token for the ci account: %w", err)
	}
	return tok.Token, nil
}

// Application is what the loop's Applications look like.
type Application struct {
	Name, RepoURL, Path, Namespace string
	// Auto turns automated sync on.
	Auto bool
}

// CreateApplication creates an Application rendering Path of RepoURL's
// main branch with the digestpin plugin into Namespace.
func (a *ArgoCD) CreateApplication(ctx context.Context, app Application) error {
	obj := &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: app.Name, Namespace: ArgoCDNamespace},
		Spec: v1alpha1.ApplicationSpec{
			Project: "default",
			Source: &v1alpha1.ApplicationSource{
				RepoURL: app.RepoURL, Path: app.Path, TargetRevision: "main",
				Plugin: &v1alpha1.ApplicationSourcePlugin{Name: PluginName},
			},
			Destination: v1alpha1.ApplicationDestination{Server: v1alpha1.KubernetesInternalAPIServerAddr, Namespace: app.Namespace},
		},
	}
	if app.Auto {
		obj.Spec.SyncPolicy = &v1alpha1.SyncPolicy{Automated: &v1alpha1.SyncPolicyAutomated{}}
	}
	_, err := a.Apps.ArgoprojV1alpha1().Applications(ArgoCDNamespace).Create(ctx, obj, metav1.CreateOptions{})
	return err
}

// Refresh asks Argo CD, through its API, to compare an Application with
// Git now, as a Git webhook does.
func (a *ArgoCD) Refresh(ctx context.Context, token, app string) (*v1alpha1.Application, error) {
	normal := string(v1alpha1.RefreshTypeNormal)
	return a.get(ctx, token, &applicationpkg.ApplicationQuery{Name: &app, Refresh: &normal})
}

// Get reads an Application through Argo CD's API, as the UI does.
func (a *ArgoCD) Get(ctx context.Context, token, app string) (*v1alpha1.Application, error) {
	return a.get(ctx, token, &applicationpkg.ApplicationQuery{Name: &app})
}

func (a *ArgoCD) get(ctx context.Context, token string, q *applicationpkg.ApplicationQuery) (*v1alpha1.Application, error) {
	c, err := a.client(token)
	if err != nil {
		return nil, err
	}
	closer, apps, err := c.NewApplicationClient()
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return apps.Get(ctx, q)
}

// Logs returns the end of every component's log, for a failing test.
func (a *ArgoCD) Logs(lines int) string {
	var b bytes.Buffer
	for _, p := range a.procs {
		fmt.Fprintf(&b, "--- %s (%s)\n%s\n", p.name, p.log, tail(p.log, lines))
	}
	return b.String()
}

// WaitApp polls the Application through Argo CD's API until ok accepts it,
// and returns it.
func (a *ArgoCD) WaitApp(ctx context.Context, token, name string, timeout time.Duration, ok func(*v1alpha1.Application) bool) (*v1alpha1.Application, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last *v1alpha1.Application
	var lastErr error
	for {
		app, err := a.Get(ctx, token, name)
		if err == nil {
			last = app
			if ok(app) {
				return app, nil
			}
		}
		lastErr = err
		select {
		case <-ctx.Done():
			if last == nil {
				return nil, fmt.Errorf("application %s: %v", name, lastErr)
			}
			return nil, fmt.Errorf("application %s: not in the expected state after %s; sync %s at %q, health %s, conditions %v",
				name, timeout, last.Status.Sync.Status, last.Status.Sync.Revision, last.Status.Health.Status, last.Status.Conditions)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Condition returns the message of the Application's condition of that
// type.
func Condition(app *v1alpha1.Application, typ string) (string, bool) {
	for _, c := range app.Status.Conditions {
		if c.Type == typ {
			return c.Message, true
		}
	}
	return "", false
}
