// Package manifests holds the tests of the repository's deployment
// artifacts: the Dockerfile and the kustomizations under manifests/ that add
// the digestpin sidecar to argocd-repo-server. It has no Go code to ship.
package manifests

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/policy"
)

const (
	rootPluginYAML = "../plugin.yaml"
	// The component's copy of it: kustomize reads nothing outside a
	// kustomization's directory.
	copyPluginYAML = "sidecar/plugin.yaml"

	repoServer    = "argocd-repo-server"
	sidecar       = "digestpin"
	configMapName = "digestpin-plugin-config"
	configVolume  = "digestpin-plugin-config"
	tmpVolume     = "digestpin-tmp"
	checksumKey   = "checksum/digestpin-plugin-yaml"

	// Where the in-memory copy of manifests/ lives.
	memRoot = "/repo/manifests"
	// Stands in for Argo CD's install.yaml, which cannot be downloaded here.
	fakeInstall = "testdata/argocd-install.yaml"
)

// upstreamInstall is the one remote resource of manifests/kustomization.yaml:
// Argo CD's install.yaml at a release tag, never a branch such as stable.
var upstreamInstall = regexp.MustCompile(`^https://raw\.githubusercontent\.com/argoproj/argo-cd/v[0-9]+\.[0-9]+\.[0-9]+/manifests/install\.yaml$`)

// sidecarImage is the released image, with the tag for people and the digest
// that is pulled.
var sidecarImage = regexp.MustCompile(`^ghcr\.io/digestpin/digestpin:v[0-9]+\.[0-9]+\.[0-9]+@sha256:[0-9a-f]{64}$`)

// The sidecar container, field by field, as Argo CD's CMP documentation and
// the README ask. The image is checked separately.
const (
	wantCommand = `[/var/run/argocd/argocd-cmp-server]`

	wantSecurityContext = `
runAsUser: 999
runAsGroup: 999
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
`
	wantResources = `
requests:
  cpu: 100m
  memory: 128Mi
limits:
  memory: 512Mi
`
	wantVolumeMounts = `
- name: var-files
  mountPath: /var/run/argocd
- name: plugins
  mountPath: /home/argocd/cmp-server/plugins
- name: digestpin-plugin-config
  mountPath: /home/argocd/cmp-server/config/plugin.yaml
  subPath: plugin.yaml
- name: digestpin-tmp
  mountPath: /tmp
`
)

var wantContainerFields = []string{"command", "env", "image", "name", "resources", "securityContext", "volumeMounts"}

// The operator policy, named by the code that reads it, empty by default.
var defaultPolicyEnv = []envVar{
	{policy.EnvAllowedRegistries, ""},
	{policy.EnvExemptImages, ""},
	{policy.EnvImageFields, ""},
}

type envVar struct{ name, value string }

// TestPluginYAMLCopyIsTheRootOne keeps the component's plugin.yaml
// byte-identical to the repository's.
func TestPluginYAMLCopyIsTheRootOne(t *testing.T) {
	root, err := os.ReadFile(rootPluginYAML)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := os.ReadFile(copyPluginYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(root, cp) {
		t.Errorf("manifests/%s differs from plugin.yaml; run: cp plugin.yaml manifests/%s", copyPluginYAML, copyPluginYAML)
	}
}

// TestInstallKustomization reads manifests/kustomization.yaml, the one
// `kubectl apply -k manifests/` uses: Argo CD's install.yaml at a release,
// in namespace argocd, with the sidecar component.
func TestInstallKustomization(t *testing.T) {
	k := readYAML(t, "kustomization.yaml")
	if got := str(k["kind"]); got != "Kustomization" {
		t.Errorf("kind %q, want Kustomization (kubectl apply -k builds only those)", got)
	}
	if got := str(k["namespace"]); got != "argocd" {
		t.Errorf("namespace %q, want argocd", got)
	}
	resources := list(k["resources"])
	if len(resources) != 1 || !upstreamInstall.MatchString(str(resources[0])) {
		t.Errorf("resources %v, want Argo CD's install.yaml at a release tag, matching %s", resources, upstreamInstall)
	}
	if got := list(k["components"]); !reflect.DeepEqual(got, []any{"sidecar"}) {
		t.Errorf("components %v, want [sidecar]", got)
	}
	c := readYAML(t, "sidecar/kustomization.yaml")
	if got := str(c["kind"]); got != "Component" {
		t.Errorf("sidecar/kustomization.yaml is a %q, want a Component", got)
	}
}

// TestKubectlApplyK renders manifests/ as `kubectl apply -k manifests/`
// would, with Argo CD's install.yaml replaced by a local stand-in shaped like
// it, and checks the patched repo-server and the plugin's ConfigMap.
func TestKubectlApplyK(t *testing.T) {
	fsys := memCopy(t)
	k, err := fsys.ReadFile(path.Join(memRoot, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, u := range regexp.MustCompile(`https://\S+`).FindAllString(string(k), -1) {
		if upstreamInstall.MatchString(u) {
			urls = append(urls, u)
		}
	}
	if len(urls) != 1 {
		t.Fatalf("manifests/kustomization.yaml names %d Argo CD install.yaml, want 1 to stand in for", len(urls))
	}
	url := urls[0]
	write(t, fsys, path.Join(memRoot, "kustomization.yaml"), strings.Replace(string(k), url, fakeInstall, 1))

	objs := render(t, fsys, memRoot)
	checkSidecar(t, objs, want{
		namespace: "argocd",
		image: func(image string) bool {
			return sidecarImage.MatchString(image)
		},
		env: defaultPolicyEnv,
	})
}

// TestComponentInOwnKustomization uses the component the way the README
// tells operators who install Argo CD with their own kustomization: over a
// base that already sets the namespace, with the released image's digest in
// images: and a policy set by a patch of the digestpin container.
func TestComponentInOwnKustomization(t *testing.T) {
	fsys := memCopy(t)
	install, err := os.ReadFile(fakeInstall)
	if err != nil {
		t.Fatal(err)
	}
	write(t, fsys, "/repo/argocd/base/install.yaml", string(install))
	write(t, fsys, "/repo/argocd/base/kustomization.yaml", `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: argocd
resources:
  - install.yaml
`)
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	write(t, fsys, "/repo/argocd/kustomization.yaml", `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: argocd
resources:
  - base
components:
  - ../manifests/sidecar
images:
  - name: ghcr.io/digestpin/digestpin
    newTag: v9.8.7
    digest: `+digest+`
patches:
  - target: {kind: Deployment, name: argocd-repo-server}
    patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: argocd-repo-server}
      spec:
        template:
          spec:
            containers:
              - name: digestpin
                env:
                  - name: DIGESTPIN_ALLOWED_REGISTRIES
                    value: ghcr.io/acme/*,registry.k8s.io
`)
	objs := render(t, fsys, "/repo/argocd")
	checkSidecar(t, objs, want{
		namespace: "argocd",
		image: func(image string) bool {
			return image == "ghcr.io/digestpin/digestpin:v9.8.7@"+digest
		},
		env: []envVar{
			{policy.EnvAllowedRegistries, "ghcr.io/acme/*,registry.k8s.io"},
			{policy.EnvExemptImages, ""},
			{policy.EnvImageFields, ""},
		},
	})
}

type want struct {
	namespace string
	image     func(string) bool
	env       []envVar
}

// checkSidecar checks a rendered Argo CD with the sidecar.
func checkSidecar(t *testing.T, objs []object, w want) {
	t.Helper()
	rootPlugin, err := os.ReadFile(rootPluginYAML)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if ns := o.namespace(); ns != w.namespace {
			t.Errorf("%s %s is in namespace %q, want %q", o.kind(), o.name(), ns, w.namespace)
		}
	}

	// The ConfigMap holds plugin.yaml, byte for byte.
	cm := find(t, objs, "ConfigMap", configMapName)
	data := mapOf(cm["data"])
	if got := str(data["plugin.yaml"]); got != string(rootPlugin) {
		t.Errorf("ConfigMap %s data[plugin.yaml] is not the repository's plugin.yaml:\n%s", configMapName, got)
	}
	if len(data) != 1 || cm["binaryData"] != nil {
		t.Errorf("ConfigMap %s holds %v, want plugin.yaml only", configMapName, keys(data))
	}

	dep := find(t, objs, "Deployment", repoServer)
	template := mapOf(dig(dep, "spec", "template"))
	pod := mapOf(template["spec"])

	// The pod restarts when plugin.yaml changes.
	sum := sha256.Sum256(rootPlugin)
	if got := str(dig(template, "metadata", "annotations", checksumKey)); got != hex.EncodeToString(sum[:]) {
		t.Errorf("pod template annotation %s is %q, want the sha256 of plugin.yaml, %s (update manifests/sidecar/repo-server-patch.yaml)", checksumKey, got, hex.EncodeToString(sum[:]))
	}

	if got := str(dig(template, "metadata", "annotations", "kubectl.kubernetes.io/default-container")); got != repoServer {
		t.Errorf("pod template annotation kubectl.kubernetes.io/default-container is %q, want %s", got, repoServer)
	}

	// The sidecar, field by field.
	c := container(t, pod, "containers", sidecar)
	if got := keys(c); !slices.Equal(got, wantContainerFields) {
		t.Errorf("container %s sets %v, want exactly %v", sidecar, got, wantContainerFields)
	}
	image := str(c["image"])
	if !w.image(image) {
		t.Errorf("container %s image %q is not the expected one", sidecar, image)
	}
	if err := imageref.RequireDigest(image); err != nil {
		t.Errorf("container %s image %q: %v", sidecar, image, err)
	}
	if !regexp.MustCompile(`@sha256:[0-9a-f]{64}$`).MatchString(image) {
		t.Errorf("container %s image %q is not pinned by a sha256 digest", sidecar, image)
	}
	expectEqual(t, "command", c["command"], wantCommand)
	expectEqual(t, "securityContext", c["securityContext"], wantSecurityContext)
	expectEqual(t, "resources", c["resources"], wantResources)
	expectEqual(t, "volumeMounts", c["volumeMounts"], wantVolumeMounts)

	var env []envVar
	values := map[string]string{}
	for _, e := range list(c["env"]) {
		m := mapOf(e)
		if len(m) != 2 || m["valueFrom"] != nil {
			t.Errorf("container %s env entry %v: want a name and a literal value", sidecar, m)
		}
		env = append(env, envVar{str(m["name"]), str(m["value"])})
		values[str(m["name"])] = str(m["value"])
	}
	if !slices.Equal(env, w.env) {
		t.Errorf("container %s env %q, want %q", sidecar, env, w.env)
	}
	if _, err := policy.FromEnv(func(k string) (string, bool) { v, ok := values[k]; return v, ok }); err != nil {
		t.Errorf("digestpin would refuse the sidecar's policy: %v", err)
	}

	// Volumes: the sidecar's own two, the repo-server's shared ones reused,
	// none duplicated.
	volumes := map[string]map[string]any{}
	for _, v := range list(pod["volumes"]) {
		m := mapOf(v)
		name := str(m["name"])
		if volumes[name] != nil {
			t.Errorf("volume %q is declared twice", name)
		}
		volumes[name] = m
	}
	expectEqual(t, "volume "+tmpVolume, volumes[tmpVolume], "{name: "+tmpVolume+", emptyDir: {}}")
	expectEqual(t, "volume "+configVolume, volumes[configVolume], "{name: "+configVolume+", configMap: {name: "+configMapName+"}}")
	for _, shared := range []string{"var-files", "plugins"} {
		expectEqual(t, "volume "+shared, volumes[shared], "{name: "+shared+", emptyDir: {}}")
	}

	// Who mounts what: digestpin-tmp is the sidecar's alone, and the
	// sidecar does not share the repo-server's tmp.
	for _, kind := range []string{"initContainers", "containers"} {
		for _, ctr := range listOf(pod[kind]) {
			name := str(ctr["name"])
			for _, m := range listOf(ctr["volumeMounts"]) {
				vol, at := str(m["name"]), str(m["mountPath"])
				if volumes[vol] == nil {
					t.Errorf("%s %s mounts volume %q, which the pod does not declare", kind, name, vol)
				}
				if vol == tmpVolume && name != sidecar {
					t.Errorf("%s %s mounts %s at %s; it is the sidecar's own /tmp", kind, name, tmpVolume, at)
				}
				if name == sidecar && vol == "tmp" {
					t.Errorf("the sidecar mounts the repo-server's tmp volume at %s", at)
				}
			}
		}
	}

	// Nothing else of Argo CD changed.
	install := readObjects(t, fakeInstall)
	orig := mapOf(dig(find(t, install, "Deployment", repoServer), "spec", "template", "spec"))
	for _, kind := range []string{"initContainers", "containers"} {
		for _, ctr := range listOf(orig[kind]) {
			name := str(ctr["name"])
			if got := container(t, pod, kind, name); !reflect.DeepEqual(got, ctr) {
				t.Errorf("%s %s changed:\n%v\nwas\n%v", kind, name, got, ctr)
			}
		}
		if got, was := len(list(pod[kind])), len(list(orig[kind])); kind == "containers" && got != was+1 || kind == "initContainers" && got != was {
			t.Errorf("the pod has %d %s, had %d", got, kind, was)
		}
	}
	for _, v := range list(orig["volumes"]) {
		m := mapOf(v)
		if !reflect.DeepEqual(volumes[str(m["name"])], m) {
			t.Errorf("volume %s changed: %v, was %v", str(m["name"]), volumes[str(m["name"])], m)
		}
	}
	for _, o := range install {
		if o.kind() == "Deployment" && o.name() == repoServer {
			continue
		}
		got := find(t, objs, o.kind(), o.name())
		if !reflect.DeepEqual(without(got, "metadata"), without(o, "metadata")) {
			t.Errorf("%s %s changed", o.kind(), o.name())
		}
	}
	if len(objs) != len(install)+1 {
		t.Errorf("rendered %d objects, want Argo CD's %d and the plugin's ConfigMap", len(objs), len(install))
	}
}

// memCopy copies manifests/ (its YAML, not its Go files) into an in-memory
// file system at memRoot.
func memCopy(t *testing.T) filesys.FileSystem {
	t.Helper()
	fsys := filesys.MakeFsInMemory()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		write(t, fsys, path.Join(memRoot, filepath.ToSlash(p)), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

func write(t *testing.T, fsys filesys.FileSystem, p, content string) {
	t.Helper()
	if err := fsys.MkdirAll(path.Dir(p)); err != nil {
		t.Fatal(err)
	}
	if err := fsys.WriteFile(p, []byte(content)); err != nil {
		t.Fatal(err)
	}
}

// render builds dir as kustomize build does, with kustomize's defaults
// (files only from inside the kustomization's directory, no plugins), and
// reads back the YAML it would print: what kubectl would send.
func render(t *testing.T, fsys filesys.FileSystem, dir string) []object {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return parseObjects(t, out)
}

func readObjects(t *testing.T, file string) []object {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return parseObjects(t, b)
}

func parseObjects(t *testing.T, b []byte) []object {
	t.Helper()
	nodes, err := kio.FromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	var objs []object
	for _, n := range nodes {
		m, err := n.Map()
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, m)
	}
	return objs
}

func readYAML(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return m
}

// expectEqual compares a rendered value with the YAML of the expected one.
func expectEqual(t *testing.T, what string, got any, wantYAML string) {
	t.Helper()
	var want any
	if err := yaml.Unmarshal([]byte(wantYAML), &want); err != nil {
		t.Fatalf("%s: bad expectation: %v", what, err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := yaml.Marshal(got)
		w, _ := yaml.Marshal(want)
		t.Errorf("%s is\n%s\nwant\n%s", what, g, w)
	}
}

type object map[string]any

func (o object) kind() string      { return str(o["kind"]) }
func (o object) name() string      { return str(dig(o, "metadata", "name")) }
func (o object) namespace() string { return str(dig(o, "metadata", "namespace")) }

func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	var found []object
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("found %d %s named %s, want 1", len(found), kind, name)
	}
	return found[0]
}

func container(t *testing.T, pod map[string]any, list, name string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, c := range listOf(pod[list]) {
		if str(c["name"]) == name {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("found %d %s named %s in the repo-server pod, want 1", len(found), list, name)
	}
	return found[0]
}

func dig(v any, path ...string) any {
	for _, k := range path {
		v = mapOf(v)[k]
	}
	return v
}

func mapOf(v any) map[string]any {
	switch m := v.(type) {
	case map[string]any:
		return m
	case object:
		return m
	}
	return nil
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func listOf(v any) []map[string]any {
	var out []map[string]any
	for _, e := range list(v) {
		out = append(out, mapOf(e))
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func without(m map[string]any, key string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}
