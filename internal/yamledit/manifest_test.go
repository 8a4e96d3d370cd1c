package yamledit

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/digestpin/digestpin/internal/imageref"
)

const pinnedApp = "ghcr.io/acme/app:v2@" + digestB

func TestPinManifestImages(t *testing.T) {
	tests := []struct {
		name          string
		in            string
		repo, pinned  string
		want          string
		changed, same int
	}{
		{
			name: "deployment, comments kept, list not indented",
			in: `# app deployment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app # the app
spec:
  template:
    spec:
      containers:
      # main container
      - name: app
        image: ghcr.io/acme/app:v1 # bumped by CI
        ports:
        - containerPort: 8080
      - name: sidecar
        image: ghcr.io/acme/app-two:v1
`,
			want: `# app deployment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app # the app
spec:
  template:
    spec:
      containers:
      # main container
      - name: app
        image: ` + pinnedApp + ` # bumped by CI
        ports:
        - containerPort: 8080
      - name: sidecar
        image: ghcr.io/acme/app-two:v1
`,
			changed: 1,
		},
		{
			name: "4-space indent, indented list, quoting kept",
			in: `spec:
    template:
        spec:
            containers:
                -   name: a
                    image: "ghcr.io/acme/app"
                -   name: b
                    image: 'ghcr.io/acme/app@` + digestA + `'
`,
			want: `spec:
    template:
        spec:
            containers:
                -   name: a
                    image: "` + pinnedApp + `"
                -   name: b
                    image: '` + pinnedApp + `'
`,
			changed: 2,
		},
		{
			name: "init and ephemeral containers",
			in: `spec:
  initContainers:
    - name: migrate
      image: ghcr.io/acme/app:v1
  ephemeralContainers:
    - name: debug
      image: ghcr.io/acme/app:v1@` + digestA + `
  containers:
    - name: app
      image: busybox
`,
			want: `spec:
  initContainers:
    - name: migrate
      image: ` + pinnedApp + `
  ephemeralContainers:
    - name: debug
      image: ` + pinnedApp + `
  containers:
    - name: app
      image: busybox
`,
			changed: 2,
		},
		{
			name: "multi-document stream with comments between documents",
			in: `# first
apiVersion: batch/v1
kind: CronJob
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: job
            image: ghcr.io/acme/app:v1
---
# a Rollout
apiVersion: argoproj.io/v1alpha1
kind: Rollout
spec:
  template:
    spec:
      containers:
      - name: app
        image: ghcr.io/acme/app:v1
---
# a config map mentioning the image is not a container
apiVersion: v1
kind: ConfigMap
data:
  image: ghcr.io/acme/app:v1
---
apiVersion: serving.knative.dev/v1
kind: Service
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/acme/app:v1
`,
			want: `# first
apiVersion: batch/v1
kind: CronJob
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: job
            image: ` + pinnedApp + `
---
# a Rollout
apiVersion: argoproj.io/v1alpha1
kind: Rollout
spec:
  template:
    spec:
      containers:
      - name: app
        image: ` + pinnedApp + `
---
# a config map mentioning the image is not a container
apiVersion: v1
kind: ConfigMap
data:
  image: ghcr.io/acme/app:v1
---
apiVersion: serving.knative.dev/v1
kind: Service
spec:
  template:
    spec:
      containers:
        - image: ` + pinnedApp + `
`,
			changed: 3,
		},
		{
			name:    "CRLF and no trailing newline",
			in:      crlf("containers:\n- name: a # c\n  image: ghcr.io/acme/app:v1"),
			want:    crlf("containers:\n- name: a # c\n  image: " + pinnedApp),
			changed: 1,
		},
		{
			name:    "flow style containers",
			in:      "spec: {containers: [{name: a, image: ghcr.io/acme/app:v1}, {name: b, image: \"redis\"}]}\n",
			want:    "spec: {containers: [{name: a, image: " + pinnedApp + "}, {name: b, image: \"redis\"}]}\n",
			changed: 1,
		},
		{
			name:    "registry with a port",
			in:      "containers:\n- image: localhost:5000/app:v1\n- image: localhost:5000/app\n- image: localhost:5000/app-two:v1\n- image: localhost:5001/app:v1\n",
			repo:    "localhost:5000/app",
			pinned:  "localhost:5000/app:v2@" + digestB,
			want:    "containers:\n- image: localhost:5000/app:v2@" + digestB + "\n- image: localhost:5000/app:v2@" + digestB + "\n- image: localhost:5000/app-two:v1\n- image: localhost:5001/app:v1\n",
			changed: 2,
		},
		{
			name: "Docker Hub spellings are one repository",
			in: `containers:
- image: nginx
- image: nginx:1.25
- image: docker.io/nginx:1.25
- image: docker.io/library/nginx@` + digestA + `
- image: index.docker.io/library/nginx:1.25
- image: acme/nginx:1.25
- image: ghcr.io/library/nginx:1.25
`,
			repo:   "nginx",
			pinned: "nginx:1.27@" + digestB,
			want: `containers:
- image: nginx:1.27@` + digestB + `
- image: nginx:1.27@` + digestB + `
- image: nginx:1.27@` + digestB + `
- image: nginx:1.27@` + digestB + `
- image: nginx:1.27@` + digestB + `
- image: acme/nginx:1.25
- image: ghcr.io/library/nginx:1.25
`,
			changed: 5,
		},
		{
			name:    "repository given in its long Docker Hub form",
			in:      "containers:\n- image: nginx:1.25\n",
			repo:    "docker.io/library/nginx",
			pinned:  "docker.io/library/nginx:1.27@" + digestB,
			want:    "containers:\n- image: docker.io/library/nginx:1.27@" + digestB + "\n",
			changed: 1,
		},
		{
			name:    "some already pinned",
			in:      "containers:\n- image: " + pinnedApp + "\n- image: ghcr.io/acme/app:v1\n",
			want:    "containers:\n- image: " + pinnedApp + "\n- image: " + pinnedApp + "\n",
			changed: 1,
			same:    1,
		},
		{
			name:    "anchored image edited once, alias follows",
			in:      "containers:\n- name: a\n  image: &app ghcr.io/acme/app:v1\n- name: b\n  image: *app\n",
			want:    "containers:\n- name: a\n  image: &app " + pinnedApp + "\n- name: b\n  image: *app\n",
			changed: 2,
		},
		{
			name:    "other keys named image are not containers",
			in:      "spec:\n  image: ghcr.io/acme/app:v1\n  containers:\n  - image: ghcr.io/acme/app:v1\n    env:\n    - name: IMAGE\n      value: ghcr.io/acme/app:v1\n",
			want:    "spec:\n  image: ghcr.io/acme/app:v1\n  containers:\n  - image: " + pinnedApp + "\n    env:\n    - name: IMAGE\n      value: ghcr.io/acme/app:v1\n",
			changed: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, pinned := tt.repo, tt.pinned
			if repo == "" {
				repo, pinned = "ghcr.io/acme/app", pinnedApp
			}
			out, changed, same, err := PinManifestImages([]byte(tt.in), repo, pinned)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", out, tt.want)
			}
			if changed != tt.changed || same != tt.same {
				t.Errorf("changed, matched = %d, %d; want %d, %d", changed, same, tt.changed, tt.same)
			}
			again, changed, same, err := PinManifestImages(out, repo, pinned)
			if err != nil || changed != 0 || same != tt.changed+tt.same || !bytes.Equal(again, out) {
				t.Errorf("second run: changed=%d matched=%d err=%v", changed, same, err)
			}
		})
	}
}

func TestPinManifestImagesNoop(t *testing.T) {
	for _, in := range []string{
		"",
		"# nothing\n",
		"containers:\n- image: redis\n",
		"containers:\n- image: \"" + pinnedApp + "\"\n---\n---\nkind: List\n",
	} {
		src := []byte(in)
		out, changed, _, err := PinManifestImages(src, "ghcr.io/acme/app", pinnedApp)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if changed != 0 || len(out) != len(src) || len(src) > 0 && &out[0] != &src[0] {
			t.Errorf("%q: changed=%d, want the input itself back", in, changed)
		}
	}
}

func TestPinManifestImagesErrors(t *testing.T) {
	tests := []struct {
		name, in, repo, pinned string
		unsupported            bool
	}{
		{name: "invalid YAML", in: "containers: [\n"},
		{name: "tab indentation", in: "containers:\n\t- image: ghcr.io/acme/app\n"},
		{name: "invalid repository", repo: "Not A Repo"},
		{name: "empty pinned", pinned: " "},
		{name: "pinned with a newline", pinned: "ghcr.io/acme/app\n@" + digestB},
		{name: "image as block scalar", in: "containers:\n- image: >-\n    ghcr.io/acme/app:v1\n", unsupported: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, repo, pinned := tt.in, tt.repo, tt.pinned
			if in == "" {
				in = "containers:\n- image: ghcr.io/acme/app:v1\n"
			}
			if repo == "" {
				repo = "ghcr.io/acme/app"
			}
			if pinned == "" {
				pinned = pinnedApp
			}
			_, _, _, err := PinManifestImages([]byte(in), repo, pinned)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "manifest: ") {
				t.Errorf("error %q lacks the manifest: prefix", err)
			}
			if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(%v, ErrUnsupported) = %v", err, got)
			}
		})
	}
}

func TestRepository(t *testing.T) {
	for ref, want := range map[string]string{
		"ghcr.io/acme/app":                 "ghcr.io/acme/app",
		"ghcr.io/acme/app:v1":              "ghcr.io/acme/app",
		"ghcr.io/acme/app@" + digestA:      "ghcr.io/acme/app",
		"ghcr.io/acme/app:v1@" + digestA:   "ghcr.io/acme/app",
		"localhost:5000/app":               "localhost:5000/app",
		"localhost:5000/app:v1@" + digestA: "localhost:5000/app",
		"nginx":                            "index.docker.io/library/nginx",
		"docker.io/nginx:1":                "index.docker.io/library/nginx",
		"index.docker.io/library/nginx":    "index.docker.io/library/nginx",
		"acme/app":                         "index.docker.io/acme/app",
	} {
		if got, ok := repository(ref); !ok || got != want {
			t.Errorf("repository(%q) = %q, %v; want %q", ref, got, ok, want)
		}
	}
	for _, ref := range []string{"", "UPPER/case", "${IMAGE}", "a b"} {
		if got, ok := repository(ref); ok {
			t.Errorf("repository(%q) = %q, want not ok", ref, got)
		}
	}
}

// FuzzPinManifestImages checks that a successful edit leaves every image of
// the repository pinned and counts each of them once.
func FuzzPinManifestImages(f *testing.F) {
	for _, s := range []string{
		"containers:\n- image: ghcr.io/acme/app:v1 # c\n",
		"spec: {initContainers: [{image: 'ghcr.io/acme/app'}]}\n---\n# x\ncontainers:\n  - image: \"ghcr.io/acme/app@" + digestA + "\"\n",
		crlf("a:\n  ephemeralContainers:\n  - image: &i ghcr.io/acme/app\n  - image: *i"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, changed, matched, err := PinManifestImages([]byte(in), "ghcr.io/acme/app", pinnedApp)
		if err != nil {
			return
		}
		docs, err := parseDocuments(out)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		n := 0
		for _, image := range containerImages(docs) {
			if image.Kind == yaml.AliasNode && image.Alias != nil {
				image = image.Alias
			}
			if r, ok := repository(image.Value); ok && r == "ghcr.io/acme/app" {
				n++
				if image.Value != pinnedApp {
					t.Fatalf("image %q left unpinned:\n%s", image.Value, out)
				}
			}
		}
		if n != changed+matched {
			t.Fatalf("changed %d + matched %d, but %d images of the repository:\n%s", changed, matched, n, out)
		}
	})
}

func TestPinImages(t *testing.T) {
	in := `# two documents, CRLF-free, comments kept
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: "ghcr.io/acme/web:v1"   # same image, quoted
      containers:
      - name: web
        image: ghcr.io/acme/web:v1
      - name: old
        image: ghcr.io/acme/web:v0   # another tag: its own pin or none
      - name: pinned
        image: ghcr.io/acme/web:v1@` + digestA + `
      - name: proxy
        image: &proxy nginx
      - name: proxy-again
        image: *proxy
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  templates:
  - name: t
    container:
      image: 'ghcr.io/acme/tool:2'
`
	want := `# two documents, CRLF-free, comments kept
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: "ghcr.io/acme/web:v1@` + digestB + `"   # same image, quoted
      containers:
      - name: web
        image: ghcr.io/acme/web:v1@` + digestB + `
      - name: old
        image: ghcr.io/acme/web:v0   # another tag: its own pin or none
      - name: pinned
        image: ghcr.io/acme/web:v1@` + digestA + `
      - name: proxy
        image: &proxy nginx:latest@` + digestB + `
      - name: proxy-again
        image: *proxy
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  templates:
  - name: t
    container:
      image: 'ghcr.io/acme/tool:2@` + digestA + `'
`
	pins := map[string]string{
		"ghcr.io/acme/web:v1": "ghcr.io/acme/web:v1@" + digestB,
		"nginx":               "nginx:latest@" + digestB,
		"ghcr.io/acme/tool:2": "ghcr.io/acme/tool:2@" + digestA,
		"ghcr.io/acme/none:1": "ghcr.io/acme/none:1@" + digestA,
	}
	fields := []imageref.FieldSpec{{Kind: "Workflow", Path: "spec/templates[]/container/image"}}
	out, changed, err := PinImages([]byte(in), fields, pins)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want || changed != 4 {
		t.Errorf("PinImages changed %d:\n%s\nwant 4:\n%s", changed, out, want)
	}

	// Without the field spec, the Workflow's image is not an image field.
	out, changed, err = PinImages([]byte(in), nil, pins)
	if err != nil || changed != 3 || !strings.Contains(string(out), "image: 'ghcr.io/acme/tool:2'\n") {
		t.Errorf("without fields: changed %d, %v\n%s", changed, err, out)
	}

	// Nothing to pin: the input itself.
	out, changed, err = PinImages([]byte(in), nil, map[string]string{"busybox": "busybox:latest@" + digestA})
	if err != nil || changed != 0 || !bytes.Equal(out, []byte(in)) {
		t.Errorf("nothing to pin: changed %d, %v", changed, err)
	}
	if _, _, err := PinImages([]byte(in), nil, map[string]string{"nginx": "nginx latest"}); err == nil || err.Error() != `manifest: image nginx: pinned image "nginx latest" contains whitespace or control characters` {
		t.Errorf("bad pin: %v", err)
	}
}
