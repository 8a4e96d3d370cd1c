package yamledit

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var appPin = ImagePin{Name: "ghcr.io/acme/app", Tag: "v2", Digest: digestB}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestSetKustomizationImages(t *testing.T) {
	tests := []struct {
		name string
		in   string
		pins []ImagePin
		want string
	}{
		{
			name: "update tag and digest, comments kept",
			in: `# overlay for prod
resources:
- ../../base # the base

images:
# the app
- name: ghcr.io/acme/app # built by CI
  newTag: v1 # old
  digest: ` + digestA + `
- name: redis
  newTag: "7"
`,
			want: `# overlay for prod
resources:
- ../../base # the base

images:
# the app
- name: ghcr.io/acme/app # built by CI
  newTag: v2 # old
  digest: ` + digestB + `
- name: redis
  newTag: "7"
`,
		},
		{
			name: "add digest after newTag, list indented by 4",
			in: `images:
    -   name: ghcr.io/acme/app
        newTag: v1
    -   name: redis
`,
			want: `images:
    -   name: ghcr.io/acme/app
        newTag: v2
        digest: ` + digestB + `
    -   name: redis
`,
		},
		{
			name: "indented list, add newTag and digest at the end of the entry",
			in: `images:
  - name: ghcr.io/acme/app
  - name: redis
    newTag: "7"
`,
			want: `images:
  - name: ghcr.io/acme/app
    newTag: v2
    digest: ` + digestB + `
  - name: redis
    newTag: "7"
`,
		},
		{
			name: "newTag goes before an existing digest",
			in: `images:
- name: ghcr.io/acme/app
  digest: ` + digestA + `
`,
			want: `images:
- name: ghcr.io/acme/app
  newTag: v2
  digest: ` + digestB + `
`,
		},
		{
			name: "quoting of replaced values kept",
			in: `images:
- name: "ghcr.io/acme/app"
  newTag: 'v1'
  digest: "` + digestA + `"
`,
			want: `images:
- name: "ghcr.io/acme/app"
  newTag: 'v2'
  digest: "` + digestB + `"
`,
		},
		{
			name: "new values quoted like the entry's name",
			in: `images:
- name: 'ghcr.io/acme/app'
`,
			want: `images:
- name: 'ghcr.io/acme/app'
  newTag: 'v2'
  digest: '` + digestB + `'
`,
		},
		{
			name: "numeric tag quoted when written plain",
			in: `images:
- name: ghcr.io/acme/app
  newTag: v1
`,
			pins: []ImagePin{{Name: "ghcr.io/acme/app", Tag: "1.0", Digest: digestB}},
			want: `images:
- name: ghcr.io/acme/app
  newTag: "1.0"
  digest: ` + digestB + `
`,
		},
		{
			name: "octal-looking tag quoted in a new entry",
			in:   "resources:\n- a.yaml\n",
			pins: []ImagePin{{Name: "ghcr.io/acme/app", Tag: "010", Digest: digestB}},
			want: "resources:\n- a.yaml\nimages:\n- name: ghcr.io/acme/app\n  newTag: \"010\"\n  digest: " + digestB + "\n",
		},
		{
			name: "number that equals the tag is rewritten as a string",
			in:   "images:\n- name: ghcr.io/acme/app\n  newTag: 1.0\n  digest: " + digestB + "\n",
			pins: []ImagePin{{Name: "ghcr.io/acme/app", Tag: "1.0", Digest: digestB}},
			want: "images:\n- name: ghcr.io/acme/app\n  newTag: \"1.0\"\n  digest: " + digestB + "\n",
		},
		{
			name: "empty tag removes newTag",
			in: `images:
- name: ghcr.io/acme/app
  newTag: v1 # remove me
  digest: ` + digestA + `
`,
			pins: []ImagePin{{Name: "ghcr.io/acme/app", Digest: digestB}},
			want: `images:
- name: ghcr.io/acme/app
  digest: ` + digestB + `
`,
		},
		{
			name: "empty tag removes newTag on the dash line",
			in: `images:
- newTag: v1 # old
  name: ghcr.io/acme/app
  digest: ` + digestA + `
`,
			pins: []ImagePin{{Name: "ghcr.io/acme/app", Digest: digestB}},
			want: `images:
- name: ghcr.io/acme/app
  digest: ` + digestB + `
`,
		},
		{
			name: "empty tag, digest takes newTag's place on the dash line",
			in: `images:
- newTag: "v1"
  name: ghcr.io/acme/app
`,
			pins: []ImagePin{{Name: "ghcr.io/acme/app", Digest: digestB}},
			want: `images:
- digest: "` + digestB + `"
  name: ghcr.io/acme/app
`,
		},
		{
			name: "empty tag, null newTag on the last line without newline",
			in:   "images:\n- name: ghcr.io/acme/app\n  newTag:",
			pins: []ImagePin{{Name: "ghcr.io/acme/app", Digest: digestB}},
			want: "images:\n- name: ghcr.io/acme/app\n  digest: " + digestB,
		},
		{
			name: "null newTag on the last line without newline",
			in:   "images:\n- name: ghcr.io/acme/app\n  newTag:",
			want: "images:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB,
		},
		{
			name: "empty tag removes a trailing newTag, digest takes its place",
			in: `images:
- name: ghcr.io/acme/app
  newTag: v1
- name: redis
`,
			pins: []ImagePin{{Name: "ghcr.io/acme/app", Digest: digestB}},
			want: `images:
- name: ghcr.io/acme/app
  digest: ` + digestB + `
- name: redis
`,
		},
		{
			name: "entry found by newName keeps name and newName",
			in: `images:
- name: app
  newName: ghcr.io/acme/app
  newTag: v1
`,
			want: `images:
- name: app
  newName: ghcr.io/acme/app
  newTag: v2
  digest: ` + digestB + `
`,
		},
		{
			name: "name match wins over newName match",
			in: `images:
- name: app
  newName: ghcr.io/acme/app
- name: ghcr.io/acme/app
`,
			want: `images:
- name: app
  newName: ghcr.io/acme/app
- name: ghcr.io/acme/app
  newTag: v2
  digest: ` + digestB + `
`,
		},
		{
			name: "append to a list, after its trailing comment lines stay put",
			in: `images:
- name: redis
  newTag: "7" # cache

# generators follow
configMapGenerator:
- name: cfg
`,
			want: `images:
- name: redis
  newTag: "7" # cache
- name: ghcr.io/acme/app
  newTag: v2
  digest: ` + digestB + `

# generators follow
configMapGenerator:
- name: cfg
`,
		},
		{
			name: "append to an indented list",
			in: `images:
    - name: redis
namespace: prod
`,
			want: `images:
    - name: redis
    - name: ghcr.io/acme/app
      newTag: v2
      digest: ` + digestB + `
namespace: prod
`,
		},
		{
			name: "no images key, unindented lists",
			in: `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
# trailing comment
`,
			want: `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
images:
- name: ghcr.io/acme/app
  newTag: v2
  digest: ` + digestB + `
# trailing comment
`,
		},
		{
			name: "no images key, lists indented by 4",
			in: `resources:
    - deployment.yaml
patches:
    -   path: patch.yaml
        target:
            kind: Deployment
`,
			want: `resources:
    - deployment.yaml
patches:
    -   path: patch.yaml
        target:
            kind: Deployment
images:
    -   name: ghcr.io/acme/app
        newTag: v2
        digest: ` + digestB + `
`,
		},
		{
			name: "no images key and no other list",
			in:   "namespace: prod\n",
			want: "namespace: prod\nimages:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB + "\n",
		},
		{
			name: "no trailing newline",
			in:   "images:\n- name: ghcr.io/acme/app\n  newTag: v1",
			want: "images:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB,
		},
		{
			name: "no trailing newline, newTag removed from the last line",
			in:   "images:\n- name: ghcr.io/acme/app\n  digest: " + digestA + "\n  newTag: v1",
			pins: []ImagePin{{Name: "ghcr.io/acme/app", Digest: digestB}},
			want: "images:\n- name: ghcr.io/acme/app\n  digest: " + digestB,
		},
		{
			name: "no trailing newline, no images key",
			in:   "resources:\n- a.yaml",
			want: "resources:\n- a.yaml\nimages:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB,
		},
		{
			name: "CRLF update",
			in:   crlf("# c\nimages:\n- name: ghcr.io/acme/app\n  newTag: v1\n  digest: " + digestA + "\n"),
			want: crlf("# c\nimages:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB + "\n"),
		},
		{
			name: "CRLF insert",
			in:   crlf("resources:\n  - a.yaml\nimages:\n  - name: ghcr.io/acme/app\n"),
			want: crlf("resources:\n  - a.yaml\nimages:\n  - name: ghcr.io/acme/app\n    newTag: v2\n    digest: " + digestB + "\n"),
		},
		{
			name: "CRLF new images key without trailing newline",
			in:   crlf("resources:\n- a.yaml"),
			want: crlf("resources:\n- a.yaml\nimages:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB),
		},
		{
			name: "leading document separator and end marker",
			in:   "---\nresources:\n- a.yaml\n...\n",
			want: "---\nresources:\n- a.yaml\nimages:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB + "\n...\n",
		},
		{
			name: "images key with no value",
			in:   "images: # none yet\nresources:\n  - a.yaml\n",
			want: "images: # none yet\n  - name: ghcr.io/acme/app\n    newTag: v2\n    digest: " + digestB + "\nresources:\n  - a.yaml\n",
		},
		{
			name: "images key with null",
			in:   "images: null\n",
			want: "images:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB + "\n",
		},
		{
			name: "flow list, update",
			in:   "images: [{name: ghcr.io/acme/app, newTag: v1}]  # flow\n",
			want: "images: [{name: ghcr.io/acme/app, newTag: v2, digest: " + digestB + "}]  # flow\n",
		},
		{
			name: "flow list, remove newTag",
			in:   "images: [{name: ghcr.io/acme/app, newTag: v1, digest: " + digestA + "}]\n",
			pins: []ImagePin{{Name: "ghcr.io/acme/app", Digest: digestB}},
			want: "images: [{name: ghcr.io/acme/app, digest: " + digestB + "}]\n",
		},
		{
			name: "flow list, append",
			in:   "images: [{name: redis}]\n",
			want: "images: [{name: redis}, {name: ghcr.io/acme/app, newTag: v2, digest: " + digestB + "}]\n",
		},
		{
			name: "flow list, empty",
			in:   "images: []\n",
			want: "images: [{name: ghcr.io/acme/app, newTag: v2, digest: " + digestB + "}]\n",
		},
		{
			name: "flow list, one item per line",
			in:   "images: [\n  {name: redis},\n]\n",
			want: "images: [\n  {name: redis},\n  {name: ghcr.io/acme/app, newTag: v2, digest: " + digestB + "},\n]\n",
		},
		{
			name: "flow entry in a block list",
			in:   "images:\n- {name: ghcr.io/acme/app, newTag: v1}\n",
			want: "images:\n- {name: ghcr.io/acme/app, newTag: v2, digest: " + digestB + "}\n",
		},
		{
			name: "append to a block list of flow entries",
			in:   "images:\n- {name: redis}\n",
			want: "images:\n- {name: redis}\n- {name: ghcr.io/acme/app, newTag: v2, digest: " + digestB + "}\n",
		},
		{
			name: "JSON kustomization",
			in:   `{"resources": ["a.yaml"]}` + "\n",
			want: `{"resources": ["a.yaml"], "images": [{"name": "ghcr.io/acme/app", "newTag": "v2", "digest": "` + digestB + `"}]}` + "\n",
		},
		{
			name: "several pins",
			in:   "images:\n- name: ghcr.io/acme/app\n  newTag: v1\n",
			pins: []ImagePin{appPin, {Name: "redis", Tag: "7.2", Digest: digestA}},
			want: "images:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB + "\n- name: redis\n  newTag: \"7.2\"\n  digest: " + digestA + "\n",
		},
		{
			name: "last value is a block scalar",
			in:   "configMapGenerator:\n- name: cfg\n  literals:\n  - |\n    a=1\n\n    b=2\n\n",
			want: "configMapGenerator:\n- name: cfg\n  literals:\n  - |\n    a=1\n\n    b=2\nimages:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB + "\n\n",
		},
		{
			name: "non-ASCII text before the value on its line",
			in:   "images: [{note: \"ünïcödé ✓\", name: ghcr.io/acme/app, newTag: v1}]\n",
			want: "images: [{note: \"ünïcödé ✓\", name: ghcr.io/acme/app, newTag: v2, digest: " + digestB + "}]\n",
		},
		{
			name: "byte order mark",
			in:   "\ufeffimages:\n- name: ghcr.io/acme/app\n  newTag: v1\n",
			want: "\ufeffimages:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB + "\n",
		},
		{
			name: "tabs after colons",
			in:   "images:\n- name:\tghcr.io/acme/app\n  newTag:\tv1\t# c\n",
			want: "images:\n- name:\tghcr.io/acme/app\n  newTag:\tv2\t# c\n  digest: " + digestB + "\n",
		},
		{
			name: "value on the line after its key",
			in:   "images:\n- name: ghcr.io/acme/app\n  newTag:\n    v1\n",
			want: "images:\n- name: ghcr.io/acme/app\n  newTag:\n    v2\n  digest: " + digestB + "\n",
		},
		{
			name: "item mapping below its dash",
			in:   "images:\n-\n  name: ghcr.io/acme/app\n",
			want: "images:\n-\n  name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB + "\n",
		},
		{
			name: "anchor on the replaced value is kept",
			in:   "images:\n- name: ghcr.io/acme/app\n  newTag: &t v1\n",
			want: "images:\n- name: ghcr.io/acme/app\n  newTag: &t v2\n  digest: " + digestB + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pins := tt.pins
			if pins == nil {
				pins = []ImagePin{appPin}
			}
			out, changed, err := SetKustomizationImages([]byte(tt.in), pins...)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", out, tt.want)
			}
			if !changed {
				t.Error("changed = false")
			}
			// A second run has nothing left to do.
			again, changed, err := SetKustomizationImages(out, pins...)
			if err != nil || changed || !bytes.Equal(again, out) {
				t.Errorf("second run: changed=%v err=%v", changed, err)
			}
		})
	}
}

func TestSetKustomizationImagesNoop(t *testing.T) {
	for _, in := range []string{
		"images:\n- name: ghcr.io/acme/app\n  newTag: v2\n  digest: " + digestB + "\n",
		"images:\n- name: ghcr.io/acme/app # c\n  newTag: \"v2\"\n  digest: '" + digestB + "'\n",
		"images: [{name: ghcr.io/acme/app, newTag: v2, digest: " + digestB + "}]",
		crlf("images:\n  - newName: ghcr.io/acme/app\n    name: app\n    digest: " + digestB + "\n    newTag: v2\n"),
	} {
		src := []byte(in)
		out, changed, err := SetKustomizationImages(src, appPin)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if changed || &out[0] != &src[0] || len(out) != len(src) {
			t.Errorf("%q: changed=%v, want the input itself back", in, changed)
		}
	}
	src := []byte("images:\n- name: app\n  digest: " + digestB + "\n")
	out, changed, err := SetKustomizationImages(src, ImagePin{Name: "app", Digest: digestB})
	if err != nil || changed || !bytes.Equal(out, src) {
		t.Errorf("digest-only pin: changed=%v err=%v", changed, err)
	}
	out, changed, err = SetKustomizationImages(src)
	if err != nil || changed || !bytes.Equal(out, src) {
		t.Errorf("no pins: changed=%v err=%v", changed, err)
	}
}

func TestSetKustomizationImagesErrors(t *testing.T) {
	tests := []struct {
		name, in    string
		pin         ImagePin
		unsupported bool
	}{
		{name: "empty file", in: ""},
		{name: "only comments", in: "# nothing\n"},
		{name: "several documents", in: "resources: [a]\n---\nresources: [b]\n"},
		{name: "list at the top", in: "- a\n- b\n"},
		{name: "scalar at the top", in: "hello\n"},
		{name: "invalid YAML", in: "images: [\n"},
		{name: "images is a mapping", in: "images:\n  name: x\n"},
		{name: "images entry is a string", in: "images:\n- ghcr.io/acme/app\n"},
		{name: "two matching entries", in: "images:\n- name: ghcr.io/acme/app\n- name: ghcr.io/acme/app\n"},
		{name: "newTag is a list", in: "images:\n- name: ghcr.io/acme/app\n  newTag: [v1]\n"},
		{name: "newTag as block scalar", in: "images:\n- name: ghcr.io/acme/app\n  newTag: |\n    v1\n", unsupported: true},
		{name: "newTag folded over two lines", in: "images:\n- name: ghcr.io/acme/app\n  newTag: v\n    1\n", unsupported: true},
		{name: "bad digest", in: "resources: []\n", pin: ImagePin{Name: "x", Digest: "sha256:abc"}},
		{name: "uppercase digest", in: "resources: []\n", pin: ImagePin{Name: "x", Digest: strings.ToUpper(digestA)}},
		{name: "bad tag", in: "resources: []\n", pin: ImagePin{Name: "x", Tag: "v1 # no", Digest: digestA}},
		{name: "empty name", in: "resources: []\n", pin: ImagePin{Digest: digestA}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pin := tt.pin
			if pin == (ImagePin{}) {
				pin = appPin
			}
			out, changed, err := SetKustomizationImages([]byte(tt.in), pin)
			if err == nil {
				t.Fatalf("no error; changed=%v out:\n%s", changed, out)
			}
			if !strings.HasPrefix(err.Error(), "kustomization: ") {
				t.Errorf("error %q lacks the kustomization: prefix", err)
			}
			if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(%v, ErrUnsupported) = %v", err, got)
			}
		})
	}
	_, _, err := SetKustomizationImages([]byte("resources: []\n"), appPin, appPin)
	if err == nil {
		t.Error("the same image pinned twice: no error")
	}
}

// TestSetKustomizationImagesDiff checks on a realistic file that the only
// lines that differ are the image lines.
func TestSetKustomizationImagesDiff(t *testing.T) {
	in := `# Production overlay.
# Owned by the platform team; see README.md before editing.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

namespace: shop-prod   # keep in sync with the Argo CD Application

resources:
  - ../../base
  - ingress.yaml   # prod only

commonLabels:
  env: "prod"

images:
  # Frontend, promoted by digestpin.
  - name: ghcr.io/acme/frontend
    newTag: "1.4.0"
    digest: ` + digestA + `

  # Backend keeps its upstream name in the base.
  - name: backend
    newName: ghcr.io/acme/backend
    newTag: v3.1.0 # last manual bump

patches:
  - path: replicas.yaml
    target:
      kind: Deployment
      name: frontend # scaled for Black Friday
`
	out, changed, err := SetKustomizationImages([]byte(in),
		ImagePin{Name: "ghcr.io/acme/frontend", Tag: "1.5.0", Digest: digestB},
		ImagePin{Name: "ghcr.io/acme/backend", Tag: "v3.2.0", Digest: digestA},
		ImagePin{Name: "docker.io/library/redis", Tag: "7.2.4", Digest: digestB},
	)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	removed, added := lineDiff(strings.SplitAfter(in, "\n"), strings.SplitAfter(string(out), "\n"))
	wantRemoved := []string{
		"    newTag: \"1.4.0\"\n",
		"    digest: " + digestA + "\n",
		"    newTag: v3.1.0 # last manual bump\n",
	}
	wantAdded := []string{
		"    newTag: \"1.5.0\"\n",
		"    digest: " + digestB + "\n",
		"    newTag: v3.2.0 # last manual bump\n",
		"    digest: " + digestA + "\n",
		"  - name: docker.io/library/redis\n",
		"    newTag: 7.2.4\n",
		"    digest: " + digestB + "\n",
	}
	if strings.Join(removed, "") != strings.Join(wantRemoved, "") || strings.Join(added, "") != strings.Join(wantAdded, "") {
		t.Errorf("removed:\n%s\nadded:\n%s\noutput:\n%s", strings.Join(removed, ""), strings.Join(added, ""), out)
	}
}

// lineDiff returns the lines only in a and the lines only in b, in order,
// from a longest common subsequence of lines.
func lineDiff(a, b []string) (removed, added []string) {
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			removed = append(removed, a[i])
			i++
		default:
			added = append(added, b[j])
			j++
		}
	}
	return append(removed, a[i:]...), append(added, b[j:]...)
}

// FuzzSetKustomizationImages checks that whatever the input, an edit either
// fails or yields a kustomization that records the pin.
func FuzzSetKustomizationImages(f *testing.F) {
	for _, s := range []string{
		"resources:\n- a.yaml\n",
		"images:\n- name: ghcr.io/acme/app\n  newTag: v1\n",
		"images:\n  - name: x # c\n    newName: ghcr.io/acme/app\n",
		"images: [{name: ghcr.io/acme/app, digest: " + digestA + "}]",
		crlf("images:\n- newTag: v1\n  name: ghcr.io/acme/app\n"),
		"{\"images\": []}",
	} {
		f.Add(s, "v2", true)
	}
	f.Fuzz(func(t *testing.T, in, tag string, withTag bool) {
		if !tagPattern.MatchString(tag) || !withTag {
			tag = ""
		}
		pin := ImagePin{Name: "ghcr.io/acme/app", Tag: tag, Digest: digestB}
		var k struct {
			Images []struct {
				Name    string `yaml:"name"`
				NewName string `yaml:"newName"`
				NewTag  string `yaml:"newTag"`
				Digest  string `yaml:"digest"`
			} `yaml:"images"`
		}
		if yaml.Unmarshal([]byte(in), &k) != nil {
			return // not a kustomization to begin with
		}
		out, _, err := SetKustomizationImages([]byte(in), pin)
		if err != nil {
			return
		}
		k.Images = nil
		if err := yaml.Unmarshal(out, &k); err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		for _, img := range k.Images {
			if img.Name == pin.Name || img.NewName == pin.Name {
				if img.NewTag == pin.Tag && img.Digest == pin.Digest {
					return
				}
			}
		}
		t.Fatalf("pin not recorded:\n%s", out)
	})
}

// sequential records pins one at a time, as SetKustomizationImages did
// before it learned to batch; setImages must write the same bytes.
func sequential(t *testing.T, src []byte, pins []ImagePin) []byte {
	t.Helper()
	out := src
	for _, p := range pins {
		next, err := setImage(out, p)
		if err != nil {
			t.Fatalf("setImage(%s): %v", p.Name, err)
		}
		if next != nil {
			out = next
		}
	}
	return out
}

func TestSetImagesInOnePassWritesWhatOnePinAtATimeWrites(t *testing.T) {
	layouts := map[string]string{
		"block":           "resources:\n- app.yaml\nimages:\n- name: a\n  newTag: v1\n- name: b # comment\n  newTag: \"2\"\n",
		"block indented":  "resources:\n  - app.yaml\nimages:\n  - name: a\n    newTag: v1   # kept\n  - name: b\n    digest: " + digestA + "\n",
		"last entry flow": "images:\n- {name: a, newTag: v1}\n- {name: b}\n",
		"flow list":       "images: [{name: a, newTag: v1}, {name: b}]\n",
		"flow per line":   "images: [\n  {name: a, newTag: v1},\n  {name: b}\n]\n",
		"renamed":         "images:\n- name: a\n  newName: ghcr.io/acme/a\n- name: b\n",
		"no images":       "# app\nresources:\n- app.yaml\n",
		"null images":     "resources: [app.yaml]\nimages:\n",
		"no final eol":    "images:\n- name: a\n  newTag: v1",
		"crlf":            crlf("images:\n- name: a\n  newTag: v1\n- name: b\n"),
		"json style":      "{\"resources\": [\"app.yaml\"], \"images\": [{\"name\": \"a\"}]}\n",
	}
	pinSets := [][]ImagePin{
		{{Name: "a", Tag: "v2", Digest: digestB}, {Name: "b", Tag: "v3", Digest: digestA}},
		{{Name: "b", Digest: digestB}, {Name: "c", Tag: "v1", Digest: digestA}, {Name: "d", Tag: "latest", Digest: digestB}},
		{{Name: "ghcr.io/acme/a", Tag: "v9", Digest: digestA}, {Name: "e", Tag: "1.0", Digest: digestB}},
		{{Name: "x", Tag: "v1", Digest: digestA}, {Name: "z", Tag: "v1", Digest: digestB}, {Name: "a", Tag: "v1", Digest: digestA}},
	}
	batched := 0
	for name, in := range layouts {
		for i, pins := range pinSets {
			want := sequential(t, []byte(in), pins)
			got, _, err := setImages([]byte(in), pins)
			if err != nil {
				t.Logf("%s, pins %d: one pass declined (%v); SetKustomizationImages pins one at a time", name, i, err)
				continue
			}
			batched++
			if string(got) != string(want) {
				t.Errorf("%s, pins %d: one pass wrote\n%s\none at a time\n%s", name, i, got, want)
			}
			if out, _, err := SetKustomizationImages([]byte(in), pins...); err != nil || string(out) != string(want) {
				t.Errorf("%s, pins %d: SetKustomizationImages = %v\n%s", name, i, err, out)
			}
		}
	}
	if batched < len(layouts)*len(pinSets)*3/4 {
		t.Errorf("one pass handled %d of %d cases", batched, len(layouts)*len(pinSets))
	}

	// They differ in one way: one at a time, an appended entry takes its
	// quoting from the entry appended before it, which YAML made quote
	// "y"; in one pass, every appended entry looks like the file's own.
	in := "images:\n- name: a\n"
	pins := []ImagePin{{Name: "y", Tag: "v1", Digest: digestA}, {Name: "b", Tag: "v1", Digest: digestB}}
	got, _, err := SetKustomizationImages([]byte(in), pins...)
	want := "images:\n- name: a\n- name: \"y\"\n  newTag: v1\n  digest: " + digestA + "\n- name: b\n  newTag: v1\n  digest: " + digestB + "\n"
	if err != nil || string(got) != want {
		t.Errorf("got %v\n%s\nwant\n%s", err, got, want)
	}
}
