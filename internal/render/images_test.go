package render

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	benchtree "github.com/digestpin/digestpin/bench/tree"
	"github.com/digestpin/digestpin/internal/testutil"
)

func TestMain(m *testing.M) {
	// The tests take the fast path from one images: entry on, so that
	// small trees test it too (imagetag.TestFewImages checks the default).
	minFastImages = 1
	os.Exit(m.Run())
}

// outcome is one way's render: the YAML, or the error.
type outcome struct {
	yaml []byte
	err  error
	fast bool
	// printing says how Result.YAML differs from AsYaml, if it does.
	printing string
}

func (o outcome) String() string {
	if o.err != nil {
		return "error: " + o.err.Error()
	}
	return string(o.yaml)
}

func renderWay(opts Options) outcome {
	result, err := Render(opts)
	if err != nil {
		return outcome{err: err}
	}
	out, err := result.YAML()
	o := outcome{yaml: out, err: err, fast: result.imagesFast}
	// The printing, too, must be kustomize's to the byte.
	want, wantErr := result.Resources.AsYaml()
	if (err == nil) != (wantErr == nil) || !bytes.Equal(out, want) {
		o.printing = fmt.Sprintf("Result.YAML printed\n%s(%v)\nAsYaml printed\n%s(%v)", out, err, want, wantErr)
	}
	return o
}

// bothWays renders with the fast path and with kustomize alone (the
// root's images: left in), and says how they differ: they must give the
// same bytes, or fail with the same message.
func bothWays(opts Options) (fast, plain outcome, problem string) {
	fast = renderWay(opts)
	opts.ImagesByKustomize = true
	plain = renderWay(opts)
	switch {
	case fast.printing != "":
		return fast, plain, fast.printing
	case plain.printing != "":
		return fast, plain, plain.printing
	case plain.fast:
		return fast, plain, "ImagesByKustomize set, yet the fast path ran"
	case (fast.err == nil) != (plain.err == nil) || fast.err != nil && errorText(fast.err) != errorText(plain.err) ||
		!bytes.Equal(fast.yaml, plain.yaml):
		return fast, plain, fmt.Sprintf("the fast path differs from kustomize alone\nfast path (fast=%t):\n%s\nkustomize alone:\n%s", fast.fast, fast, plain)
	}
	return fast, plain, ""
}

var pointer = regexp.MustCompile(`0x[0-9a-f]+`)

// errorText is an error's message without the pointers kustomize prints
// in some.
func errorText(err error) string { return pointer.ReplaceAllString(err.Error(), "0x") }

func renderBothWays(t testing.TB, opts Options) (fast, plain outcome) {
	t.Helper()
	fast, plain, problem := bothWays(opts)
	if problem != "" {
		t.Fatal(problem)
	}
	return fast, plain
}

// kustomizeBuild runs `kustomize build dir` in root.
func kustomizeBuild(t testing.TB, bin, root, dir string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "build", dir)
	cmd.Dir = root
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "KUSTOMIZE_") })
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return outcome{err: fmt.Errorf("%v: %s", err, stderr.String())}
	}
	return outcome{yaml: stdout.Bytes()}
}

// kustomizeDiff says how got differs from what the kustomize CLI prints
// (when got is an error, kustomize must fail too).
func kustomizeDiff(t testing.TB, bin, root, dir string, got outcome) string {
	t.Helper()
	want := kustomizeBuild(t, bin, root, dir)
	switch {
	case want.err != nil && got.err != nil:
	case want.err != nil:
		return fmt.Sprintf("kustomize build fails, the render does not:\n%v\nrender:\n%s", want.err, got)
	case got.err != nil:
		return fmt.Sprintf("the render fails, kustomize build does not:\n%v\nkustomize:\n%s", got.err, want)
	case !bytes.Equal(want.yaml, got.yaml):
		return fmt.Sprintf("the render differs from kustomize build (fast path %t)\nkustomize:\n%s\nrender:\n%s", got.fast, want, got)
	}
	return ""
}

func compareWithKustomize(t testing.TB, bin, root, dir string, got outcome) {
	t.Helper()
	if problem := kustomizeDiff(t, bin, root, dir, got); problem != "" {
		t.Fatal(problem)
	}
}

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

const podTemplate = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
      - name: init
        image: busybox:1.36
      containers:
      - name: app
        image: ghcr.io/acme/web:v1 # the app
      - name: quoted
        image: "nginx:1.25"
      - name: sidecar
        image: ghcr.io/acme/proxy@` + digestA + `
      volumes:
      - name: data
        image:
          reference: ghcr.io/acme/data:v1
`

// TestImagesFastPath renders trees that exercise each semantic the fast
// path replicates and each condition that makes it fall back: the fast
// path must give kustomize's exact bytes, be taken when expected, and the
// kustomize CLI must agree.
func TestImagesFastPath(t *testing.T) {
	cases := []struct {
		name     string
		files    map[string]string
		dir      string
		params   []string
		wantFast bool
	}{
		{
			name: "newName, newTag, digest and their combinations",
			files: map[string]string{
				"deployment.yaml": podTemplate,
				"kustomization.yaml": `resources: [deployment.yaml]
images:
- name: ghcr.io/acme/web
  newTag: v2
  digest: ` + digestA + `
- name: nginx
  newName: mirror.acme.io/nginx
- name: busybox
  digest: ` + digestB + `
- name: ghcr.io/acme/proxy
  newTag: "3.0"
- name: ghcr.io/acme/data
  newName: ghcr.io/acme/data2
  digest: ` + digestA + `
`,
			},
			wantFast: true,
		},
		{
			name: "chained entries and tagSuffix applied by both walks",
			files: map[string]string{
				"deployment.yaml": podTemplate,
				"kustomization.yaml": `resources: [deployment.yaml]
images:
- name: busybox
  newName: ghcr.io/acme/busybox
- name: ghcr.io/acme/busybox
  tagSuffix: -debug
- name: ghcr.io/acme/web
  tagSuffix: -alpine
- name: ghcr.io/acme/data
  tagSuffix: -x
- name: nginx
  newName: ghcr.io/acme/web
- name: ghcr.io/acme/web
  newTag: v9
`,
			},
			wantFast: true,
		},
		{
			name: "names are regexps: dots, alternations, invalid ones, anything",
			files: map[string]string{
				"deployment.yaml": podTemplate,
				"kustomization.yaml": `resources: [deployment.yaml]
images:
- name: "["
  newTag: never
- name: ghcr.io/acme/pro.y
  newTag: dotted
- name: ghcrXio/acme/web
  newTag: nope
- name: busybox|nothing
  newTag: alternation
- name: ".*"
  tagSuffix: -all
`,
			},
			wantFast: true,
		},
		{
			name: "newName that keeps matching its own name, tag and digest splitting",
			files: map[string]string{
				"deployment.yaml": podTemplate,
				"kustomization.yaml": `resources: [deployment.yaml]
images:
- name: ".*web"
  newName: "x/web:5"
- name: ghcr.io/acme/proxy
  newName: localhost:5000/proxy
`,
			},
			wantFast: true,
		},
		{
			name: "null containers become empty lists, CRDs are skipped, odd values",
			files: map[string]string{
				"objects.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: empty
spec:
  containers:
  initContainers: null
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.acme.io
spec:
  containers:
  - image: nginx:1
---
apiVersion: acme.io/v1
kind: Thing
metadata:
  name: deep
spec:
  jobs:
  - template:
      containers:
      - image: nginx:1
      - name: no-image
      - image: 1234
      - image: ~
  image: nginx:2
`,
				"kustomization.yaml": `resources: [objects.yaml]
images:
- name: nginx
  newTag: "2"
- name: "1234"
  newName: numeric
- name: ""
  newTag: empty
`,
			},
			wantFast: true,
		},
		{
			name: "configurations field specs from a base, prefixes, namespace, labels and patches before images",
			files: map[string]string{
				"base/kustomizeconfig.yaml": "images:\n- kind: Thing\n  path: spec/image\n- path: spec/template/spec/sidecars[]/image\n",
				"base/thing.yaml":           "apiVersion: acme.io/v1\nkind: Thing\nmetadata:\n  name: t\nspec:\n  image: nginx:1\n  template:\n    spec:\n      sidecars:\n      - image: nginx:3\n",
				"base/deployment.yaml":      podTemplate,
				"base/kustomization.yaml":   "resources: [deployment.yaml, thing.yaml]\nconfigurations: [kustomizeconfig.yaml]\nimages:\n- name: nginx\n  newName: library/nginx\n",
				"overlay/kustomization.yaml": `resources: [../base]
namePrefix: prod-
namespace: shop
commonLabels: {env: prod}
patches:
- target: {kind: Deployment}
  patch: |-
    - op: add
      path: /spec/template/spec/containers/-
      value: {name: added, image: "library/nginx:7"}
images:
- name: library/nginx
  newTag: "1.27"
  digest: ` + digestB + `
`,
			},
			dir:      "overlay",
			wantFast: true,
		},
		{
			name: "parameters merged into the root's images first",
			files: map[string]string{
				"deployment.yaml":    podTemplate,
				"kustomization.yaml": "resources: [deployment.yaml]\nimages:\n- name: nginx\n  newTag: \"1.0\"\n",
			},
			params:   []string{"nginx=*:1.27", "ghcr.io/acme/web@" + digestA},
			wantFast: true,
		},
		{
			name: "deprecated imageTags and a key spelled differently",
			files: map[string]string{
				"deployment.yaml":    podTemplate,
				"kustomization.yaml": "resources: [deployment.yaml]\nImages:\n- name: nginx\n  newTag: \"1.0\"\nimageTags:\n- name: busybox\n  newTag: \"2.0\"\n",
			},
			wantFast: true,
		},
		{
			name: "build metadata: origins and the managed-by label",
			files: map[string]string{
				"deployment.yaml":    podTemplate,
				"kustomization.yaml": "resources: [deployment.yaml]\nbuildMetadata: [originAnnotations, managedByLabel]\nimages:\n- name: nginx\n  newTag: \"1.0\"\n",
			},
			wantFast: true,
		},
		{
			name: "an image in a ConfigMap: hashed after images, so kustomize does it",
			files: map[string]string{
				"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  x: y\nspec:\n  containers:\n  - image: nginx:1\n",
				"kustomization.yaml": "resources: [cm.yaml]\nimages:\n- name: nginx\n  newTag: \"2\"\n",
			},
			wantFast: false,
		},
		{
			name: "root replacements read images",
			files: map[string]string{
				"deployment.yaml": podTemplate,
				"kustomization.yaml": `resources: [deployment.yaml]
images:
- name: nginx
  newTag: "2"
replacements:
- source: {kind: Deployment, fieldPath: spec.template.spec.containers.1.image}
  targets:
  - select: {kind: Deployment}
    fieldPaths: [metadata.annotations.image]
    options: {create: true}
`,
			},
			wantFast: false,
		},
		{
			name: "vars resolve after images",
			files: map[string]string{
				"deployment.yaml": strings.Replace(podTemplate, "image: busybox:1.36", "image: $(REGISTRY)/busybox", 1),
				"kustomization.yaml": `resources: [deployment.yaml]
images:
- name: ghcr.io/busybox
  newTag: "2"
vars:
- name: REGISTRY
  objref: {apiVersion: apps/v1, kind: Deployment, name: web}
  fieldref: {fieldpath: metadata.labels.registry}
`,
			},
			wantFast: false,
		},
		{
			name: "a custom image field spec shares a default path with a kind",
			files: map[string]string{
				"deployment.yaml":      podTemplate,
				"kustomizeconfig.yaml": "images:\n- kind: Deployment\n  path: spec/template/spec/containers[]/image\n  create: true\n",
				"kustomization.yaml":   "resources: [deployment.yaml]\nconfigurations: [kustomizeconfig.yaml]\nimages:\n- name: ghcr.io/acme/web\n  tagSuffix: -s\n",
			},
			wantFast: false,
		},
		{
			name: "a needsHashSuffix annotation",
			files: map[string]string{
				"deployment.yaml":    strings.Replace(podTemplate, "  name: web\n", "  name: web\n  annotations:\n    internal.config.kubernetes.io/needsHashSuffix: enabled\n", 1),
				"kustomization.yaml": "resources: [deployment.yaml]\nimages:\n- name: nginx\n  newTag: \"2\"\n",
			},
			wantFast: false,
		},
		{
			name: "malformed images fail the same way",
			files: map[string]string{
				"pod.yaml":           "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - image: {name: nginx}\n",
				"kustomization.yaml": "resources: [pod.yaml]\nimages:\n- name: nginx\n  newTag: \"2\"\n",
			},
			wantFast: false,
		},
		{
			name: "a local-config object with a malformed image fails the same way",
			files: map[string]string{
				"deployment.yaml":    podTemplate,
				"local.yaml":         "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\nspec:\n  template: oops\n",
				"kustomization.yaml": "resources: [deployment.yaml, local.yaml]\nimages:\n- name: nginx\n  newTag: \"2\"\n",
			},
			wantFast: false,
		},
		{
			name: "containers in an annotation: the legacy walk fails on them, before annotations are cleaned up",
			files: map[string]string{
				"deployment.yaml":    strings.Replace(podTemplate, "  name: web\n", "  name: web\n  annotations:\n    x:\n      containers:\n      - 1\n", 1),
				"kustomization.yaml": "resources: [deployment.yaml]\nimages:\n- name: nginx\n  newTag: \"2\"\n",
			},
			wantFast: false,
		},
		{
			name: "a root with images only",
			files: map[string]string{
				"kustomization.yaml": "images:\n- name: nginx\n  newTag: \"2\"\n",
			},
			wantFast: true,
		},
	}
	bin := ""
	if os.Getenv("KUSTOMIZE") != "" || os.Getenv("CI") != "" {
		bin = testutil.Kustomize(t, KustomizeVersion)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root := testutil.WriteTree(t, c.files)
			opts := Options{Root: root, Dir: c.dir, Overrides: Overrides{Images: c.params}}
			fast, _ := renderBothWays(t, opts)
			if fast.fast != c.wantFast {
				t.Errorf("fast path taken: %t, want %t", fast.fast, c.wantFast)
			}
			traced := opts
			traced.TrackOrigins = true
			renderBothWays(t, traced)
			if bin != "" && len(c.params) == 0 {
				compareWithKustomize(t, bin, root, cmpOr(c.dir, "."), fast)
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestAsYAML checks the parallel printing against kustomize's.
func TestAsYAML(t *testing.T) {
	app := benchtree.Services(12)
	root := t.TempDir()
	if err := app.Write(root); err != nil {
		t.Fatal(err)
	}
	result, err := Render(Options{Root: root, Dir: app.AppPath})
	if err != nil {
		t.Fatal(err)
	}
	want, err := result.Resources.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	got, err := asYAML(result.Resources)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("asYAML = %q, %v; want %q", got, err, want)
	}
}
