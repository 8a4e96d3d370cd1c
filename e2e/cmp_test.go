package e2e

// The harness: the digestpin binary built from the root module, Argo CD's
// own CMP server (cmpserver) serving the project's plugin.yaml on a unix
// socket, and the repo-server's own manifest generation
// (reposerver/repository.GenerateManifests) as the client, exactly as
// argocd-repo-server calls it after checking out a revision.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-cd/v2/cmpserver"
	cmpclient "github.com/argoproj/argo-cd/v2/cmpserver/apiclient"
	cmpplugin "github.com/argoproj/argo-cd/v2/cmpserver/plugin"
	"github.com/argoproj/argo-cd/v2/common"
	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v2/reposerver/apiclient"
	"github.com/argoproj/argo-cd/v2/reposerver/repository"
	apppath "github.com/argoproj/argo-cd/v2/util/app/path"
	"github.com/google/go-cmp/cmp"
	log "github.com/sirupsen/logrus"
	"google.golang.org/protobuf/types/known/emptypb"
	"k8s.io/apimachinery/pkg/api/resource"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Generous bounds for a loaded 2-core machine; none of them is a sleep.
const (
	buildTimeout    = 10 * time.Minute
	startTimeout    = time.Minute
	generateTimeout = 2 * time.Minute
)

// The environment the tests run in, set up once by TestMain.
var (
	// binary is the digestpin binary built from the root module.
	binary string
	// cmpWorkDir is the CMP server's work directory: every request's tree
	// is unpacked under it, so no message may mention it.
	cmpWorkDir string
)

// maxSocketPath is the size of sun_path in struct sockaddr_un on Linux,
// the terminating NUL included.
const maxSocketPath = 108

// pluginName is how an Application names the plugin:
// <metadata.name>-<spec.version> of plugin.yaml.
const pluginName = "digestpin-v1"

// repoURL is the repository the test Applications point at. Nothing is
// fetched from it: the checkout is a directory on disk.
const repoURL = "https://git.example.com/acme/deploy.git"

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if !testing.Verbose() {
		// The CMP server logs every command at info level.
		log.SetLevel(log.WarnLevel)
	}
	// A short base: the socket path must stay under 108 bytes.
	tmp, err := os.MkdirTemp("", "cmp")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	stop, err := startPlugin(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		return 1
	}
	defer stop()
	return m.Run()
}

// startPlugin builds digestpin, and serves the project's plugin.yaml with
// Argo CD's CMP server under dir, like the digestpin sidecar of
// argocd-repo-server.
func startPlugin(dir string) (stop func(), err error) {
	binary = filepath.Join(dir, "bin", "digestpin")
	if err := buildDigestpin(binary); err != nil {
		return nil, err
	}

	// The sidecar's environment is the CMP server's: keep operator policy
	// and Argo CD variables of whoever runs the tests out of it.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "DIGESTPIN_") || strings.HasPrefix(name, "ARGOCD_") {
			os.Unsetenv(name)
		}
	}
	sockets := filepath.Join(dir, "plugins")
	cmpWorkDir = filepath.Join(dir, "work")
	for _, d := range []string{sockets, cmpWorkDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	// Read by common.GetPluginSockFilePath and common.GetCMPWorkDir in
	// both the CMP server and the repo-server code.
	os.Setenv(common.EnvPluginSockFilePath, sockets)
	os.Setenv(common.EnvCMPWorkDir, cmpWorkDir)

	config, err := pluginConfig(filepath.Join(dir, "config"), binary)
	if err != nil {
		return nil, err
	}
	server, err := cmpserver.NewServer(cmpplugin.CMPServerInitConstants{PluginConfig: *config})
	if err != nil {
		return nil, err
	}
	// ArgoCDCMPServer.Run is CreateGRPC served on a unix listener at
	// PluginConfig.Address(), plus SIGINT/SIGTERM handling and log.Fatal
	// on errors. Those two would take Ctrl-C away from the test process
	// and exit it from a goroutine, skipping every cleanup, so the test
	// does the listening and keeps the rest: the same gRPC server and
	// plugin service, the same work dir initialisation, the same socket.
	grpcServer, err := server.CreateGRPC()
	if err != nil {
		return nil, err
	}
	address := config.Address()
	if len(address) >= maxSocketPath {
		return nil, fmt.Errorf("socket path %s is %d bytes, the limit is %d: set TMPDIR to a shorter directory", address, len(address), maxSocketPath-1)
	}
	listener, err := net.Listen("unix", address)
	if err != nil {
		return nil, err
	}
	served := make(chan error, 1)
	go func() { served <- grpcServer.Serve(listener) }()
	stop = func() {
		grpcServer.Stop()
		<-served
	}
	if err := waitForPlugin(address, served); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// buildDigestpin builds the binary with the root module's go.mod, as it
// ships, not with this module's.
func buildDigestpin(out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/digestpin")
	build.Dir = root
	var stderr bytes.Buffer
	build.Stdout, build.Stderr = &stderr, &stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/digestpin in %s: %v\n%s", root, err, stderr.Bytes())
	}
	return nil
}

// pluginConfig copies the project's plugin.yaml into dir, changing only
// spec.generate.command[0] from "digestpin" (found on PATH in the sidecar
// image) to the absolute path of the binary just built, and reads it with
// argocd-cmp-server's reader.
func pluginConfig(dir, binary string) (*cmpplugin.PluginConfig, error) {
	raw, err := os.ReadFile(filepath.Join("..", common.PluginConfigFileName))
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	spec, _ := doc["spec"].(map[string]any)
	generate, _ := spec["generate"].(map[string]any)
	command, _ := generate["command"].([]any)
	if len(command) == 0 || command[0] != "digestpin" {
		return nil, fmt.Errorf("plugin.yaml: spec.generate.command is %v, expected it to start with digestpin", generate["command"])
	}
	command[0] = binary
	adapted, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, common.PluginConfigFileName), adapted, 0o644); err != nil {
		return nil, err
	}
	config, err := cmpplugin.ReadPluginConfig(dir)
	if err != nil {
		return nil, err
	}
	// Nothing but command[0] may differ from the shipped file.
	shipped, err := cmpplugin.ReadPluginConfig("..")
	if err != nil {
		return nil, err
	}
	shipped.Spec.Generate.Command[0] = binary
	if !reflect.DeepEqual(config, shipped) {
		return nil, fmt.Errorf("adapted plugin.yaml differs from ../plugin.yaml beyond spec.generate.command[0]:\n%s", cmp.Diff(shipped, config))
	}
	return config, nil
}

// waitForPlugin waits until the plugin answers on its socket, through Argo
// CD's own client, and checks that it announces discovery. The socket
// exists once net.Listen returns; Argo CD's client dials without a
// deadline, hence the goroutine.
func waitForPlugin(address string, served <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	ready := make(chan error, 1)
	go func() {
		conn, client, err := cmpclient.NewConfigManagementPluginClientSet(address).NewConfigManagementPluginClient()
		if err != nil {
			ready <- err
			return
		}
		defer conn.Close()
		cfg, err := client.CheckPluginConfiguration(ctx, &emptypb.Empty{})
		switch {
		case err != nil:
			ready <- fmt.Errorf("CheckPluginConfiguration: %w", err)
		case !cfg.IsDiscoveryConfigured:
			ready <- errors.New("the plugin does not announce discovery")
		default:
			ready <- nil
		}
	}()
	select {
	case err := <-ready:
		return err
	case err := <-served:
		return fmt.Errorf("CMP server stopped: %v", err)
	case <-ctx.Done():
		return fmt.Errorf("the plugin did not answer on %s within %v", address, startTimeout)
	}
}

// checkout is a repository at one revision, on disk, as argocd-repo-server
// has it after fetching and checking out. checkoutTestdata makes one from
// testdata; a clone of a git repository checked out at a commit, with that
// commit as revision, is used the same way.
type checkout struct {
	root     string
	revision string
}

// testdataRevision stands for the commit of a checkout copied from
// testdata; Argo CD passes it on as ARGOCD_APP_REVISION.
const testdataRevision = "5b1e3f0d8a2c4e6f8091a2b3c4d5e6f708192a3b"

// checkoutTestdata copies testdata/<name> into a fresh directory, the
// repository as the repo-server would have checked it out.
func checkoutTestdata(t *testing.T, name string) checkout {
	t.Helper()
	src := filepath.Join("testdata", name)
	root := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(root, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return checkout{root: root, revision: testdataRevision}
}

// application is what the application controller sends the repo-server
// for one source of an Application.
type application struct {
	// name is metadata.name (ARGOCD_APP_NAME).
	name string
	// namespace is spec.destination.namespace (ARGOCD_APP_NAMESPACE).
	namespace string
	// source is spec.source; RepoURL and TargetRevision default to
	// repoURL and HEAD.
	source v1alpha1.ApplicationSource
	// manifestGeneratePaths is the argocd.argoproj.io/manifest-generate-paths
	// annotation.
	manifestGeneratePaths string
}

// repoServer holds the argocd-repo-server settings that change what it
// sends a plugin.
type repoServer struct {
	// useManifestGeneratePaths is --plugin-use-manifest-generate-paths
	// (ARGOCD_REPO_SERVER_PLUGIN_USE_MANIFEST_GENERATE_PATHS): send only
	// the common root of the app path and the annotation's paths.
	useManifestGeneratePaths bool
}

// generate asks for app's manifests from repo with a default repo-server.
func generate(t *testing.T, repo checkout, app application) (*apiclient.ManifestResponse, error) {
	t.Helper()
	return repoServer{}.generate(t, repo, app)
}

// generate runs the repo-server's manifest generation for app on repo, as
// argocd-repo-server's GenerateManifest does after the checkout: the same
// request the controller sends, the same app path resolution, the same
// GenerateManifests call and options.
func (s repoServer) generate(t *testing.T, repo checkout, app application) (*apiclient.ManifestResponse, error) {
	t.Helper()
	source := *app.source.DeepCopy() // GenerateManifests applies overrides to it
	if source.RepoURL == "" {
		source.RepoURL = repoURL
	}
	if source.TargetRevision == "" {
		source.TargetRevision = "HEAD"
	}
	appPath, err := apppath.Path(repo.root, source.Path)
	if err != nil {
		t.Fatal(err)
	}
	q := &apiclient.ManifestRequest{
		Repo:              &v1alpha1.Repository{Repo: source.RepoURL},
		Revision:          source.TargetRevision,
		AppName:           app.name,
		Namespace:         app.namespace,
		ApplicationSource: &source,
		KubeVersion:       "1.31.0",
		ApiVersions:       []string{"v1", "apps/v1", "batch/v1"},
		ProjectName:       "default",
		ProjectSourceRepos: []string{
			"*",
		},
		AnnotationManifestGeneratePaths: app.manifestGeneratePaths,
		// Used by Argo CD's native kustomize source only, which some tests
		// render as the reference.
		KustomizeOptions: &v1alpha1.KustomizeOptions{BinaryPath: os.Getenv("KUSTOMIZE")},
		// No AppLabelKey: the repo-server would add the tracking label to
		// every object, and the tests compare what the plugin rendered.
	}
	ctx, cancel := context.WithTimeout(context.Background(), generateTimeout)
	defer cancel()
	// argocd-repo-server waits on this channel to unlock the checkout once
	// the tree is packed; buffered, nobody needs to wait here.
	tarDone := make(chan bool, 1)
	resp, err := repository.GenerateManifests(ctx, appPath, repo.root, repo.revision, q, false, nil,
		resource.MustParse("10M"), nil,
		repository.WithCMPTarDoneChannel(tarDone),
		repository.WithCMPTarExcludedGlobs(nil),
		repository.WithCMPUseManifestGeneratePaths(s.useManifestGeneratePaths))
	if ctx.Err() != nil {
		t.Fatalf("manifest generation for %s did not finish within %v (err: %v)", source.Path, generateTimeout, err)
	}
	return resp, err
}

// pluginSource is spec.source for the app at path with a plugin block.
func pluginSource(path string, plugin v1alpha1.ApplicationSourcePlugin) v1alpha1.ApplicationSource {
	return v1alpha1.ApplicationSource{Path: path, Plugin: &plugin}
}

// generateFailure is the beginning of every error GenerateManifests
// returns when digestpin generate exits non-zero: Argo CD's wrapping of the
// command's stderr, up to and including "exit status N: ".
func generateFailure(code int) string {
	return "plugin sidecar failed. error generating manifests in cmp: rpc error: code = Unknown desc = error generating manifests: `" +
		binary + " generate` failed exit status " + fmt.Sprint(code) + ": "
}

// object is one Kubernetes object, normalised through JSON.
type object = map[string]any

// manifests parses what Argo CD received: one JSON object per string.
func manifests(t *testing.T, resp *apiclient.ManifestResponse) []object {
	t.Helper()
	var objs []object
	for _, m := range resp.Manifests {
		var obj object
		if err := json.Unmarshal([]byte(m), &obj); err != nil {
			t.Fatalf("manifest is not JSON: %v\n%s", err, m)
		}
		objs = append(objs, obj)
	}
	return objs
}

// parseYAML parses a multi-document YAML stream, such as kustomize build
// prints, into objects normalised like manifests.
func parseYAML(t *testing.T, stream string) []object {
	t.Helper()
	reader := k8syaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	var objs []object
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		var obj object
		if err := json.Unmarshal(js, &obj); err != nil {
			t.Fatal(err)
		}
		if obj != nil {
			objs = append(objs, obj)
		}
	}
}

// sameObjects compares objects one by one, in order, naming each by kind,
// namespace and name.
func sameObjects(t *testing.T, got, want []object) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d objects %v, want %d %v", len(got), names(got), len(want), names(want))
		return
	}
	for i := range want {
		if diff := cmp.Diff(want[i], got[i]); diff != "" {
			t.Errorf("object %d (%s) differs (-want +got):\n%s", i, names(want[i : i+1])[0], diff)
		}
	}
}

func names(objs []object) []string {
	var out []string
	for _, o := range objs {
		meta, _ := o["metadata"].(map[string]any)
		name := fmt.Sprintf("%v %v", o["kind"], meta["name"])
		if ns, ok := meta["namespace"]; ok {
			name = fmt.Sprintf("%v %v/%v", o["kind"], ns, meta["name"])
		}
		out = append(out, name)
	}
	return out
}

// noTemporaryPaths fails when msg shows a directory the user never sees:
// the repo-server's checkout or the sidecar's work directory.
func noTemporaryPaths(t *testing.T, msg string, repo checkout) {
	t.Helper()
	for _, dir := range []string{repo.root, cmpWorkDir, common.DefaultCMPWorkDirName} {
		if strings.Contains(msg, dir) {
			t.Errorf("message shows the temporary directory %s:\n%s", dir, msg)
		}
	}
}

// describe summarises objects, one line each: kind, namespace/name, labels,
// selector labels, pod template labels and the images of every container,
// so that a test can assert exactly what an override changed.
func describe(objs []object) string {
	var b strings.Builder
	for i, o := range objs {
		b.WriteString(names(objs[i : i+1])[0])
		if l := labels(o, "metadata", "labels"); l != "" {
			b.WriteString(" labels: " + l)
		}
		if l := labels(o, "spec", "selector", "matchLabels"); l != "" {
			b.WriteString(" selector: " + l)
		} else if o["kind"] == "Service" {
			if l := labels(o, "spec", "selector"); l != "" {
				b.WriteString(" selector: " + l)
			}
		}
		if l := labels(o, "spec", "template", "metadata", "labels"); l != "" {
			b.WriteString(" pod labels: " + l)
		} else if l := labels(o, "spec", "jobTemplate", "spec", "template", "metadata", "labels"); l != "" {
			b.WriteString(" pod labels: " + l)
		}
		if images := containerImages(o); len(images) > 0 {
			b.WriteString(" images: " + strings.Join(images, " "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func field(o any, path ...string) any {
	for _, p := range path {
		m, ok := o.(map[string]any)
		if !ok {
			return nil
		}
		o = m[p]
	}
	return o
}

func labels(o object, path ...string) string {
	m, _ := field(o, path...).(map[string]any)
	var pairs []string
	for k, v := range m {
		pairs = append(pairs, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

// containerImages lists name=image for the init containers ("init name=")
// and containers of a pod template, a Deployment's or a CronJob's.
func containerImages(o object) []string {
	spec := field(o, "spec", "template", "spec")
	if spec == nil {
		spec = field(o, "spec", "jobTemplate", "spec", "template", "spec")
	}
	var out []string
	for _, list := range []struct{ key, prefix string }{{"initContainers", "init "}, {"containers", ""}} {
		items, _ := field(spec, list.key).([]any)
		for _, c := range items {
			out = append(out, fmt.Sprintf("%s%v=%v", list.prefix, field(c, "name"), field(c, "image")))
		}
	}
	return out
}
