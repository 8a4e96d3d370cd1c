package render

import (
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/testutil"
)

const pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestOverridesApplyInMemory(t *testing.T) {
	kustomization := `resources: [deployment.yaml]
namePrefix: old-
commonLabels:
  team: shop
images:
- name: ghcr.io/acme/web
  newTag: v1
- name: busybox
  newName: ghcr.io/acme/busybox
`
	root := testutil.WriteTree(t, map[string]string{
		"app/kustomization.yaml":       kustomization,
		"app/deployment.yaml":          deployment,
		"app/debug/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  debug: \"true\"\n",
	})
	got := renderYAML(t, Options{Root: root, Dir: "app", Overrides: Overrides{
		Images:            []string{"ghcr.io/acme/web=ghcr.io/acme/web:v2" + pinned, "busybox=*:1.36"},
		NamePrefix:        "new-",
		NameSuffix:        "-x",
		Namespace:         "shop",
		CommonLabels:      map[string]string{"env": "prod", "team": "checkout"},
		CommonAnnotations: map[string]string{"owner": "platform"},
		Components:        []string{"debug"},
	}})
	want := `apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    debug: "true"
    owner: platform
  labels:
    env: prod
    team: checkout
  name: new-web-x
  namespace: shop
spec:
  selector:
    matchLabels:
      app: web
      env: prod
      team: checkout
  template:
    metadata:
      annotations:
        debug: "true"
        owner: platform
      labels:
        app: web
        env: prod
        team: checkout
    spec:
      containers:
      - image: ghcr.io/acme/web:v2` + pinned + `
        name: app
`
	if got != want {
		t.Errorf("render =\n%s\nwant\n%s", got, want)
	}
	if data := readFile(t, root, "app/kustomization.yaml"); data != kustomization {
		t.Errorf("the checkout was edited:\n%s", data)
	}
}

func TestParseImageOverride(t *testing.T) {
	tests := []struct {
		arg  string
		want string // name|newName|newTag|digest
	}{
		{"nginx:1.27", "nginx||1.27|"},
		{"nginx@sha256:abc", "nginx|||sha256:abc"},
		{"nginx=ghcr.io/acme/nginx", "nginx|ghcr.io/acme/nginx||"},
		{"nginx=ghcr.io/acme/nginx:1.27" + pinned, "nginx|ghcr.io/acme/nginx|1.27|" + pinned[1:]},
		{"localhost:5000/app:v1", "localhost:5000/app||v1|"},
		{"nginx=*:1.27", "nginx|*|1.27|"},
	}
	for _, tt := range tests {
		img, err := ParseImageOverride(tt.arg)
		if err != nil {
			t.Errorf("ParseImageOverride(%q): %v", tt.arg, err)
			continue
		}
		if got := strings.Join([]string{img.Name, img.NewName, img.NewTag, img.Digest}, "|"); got != tt.want {
			t.Errorf("ParseImageOverride(%q) = %s, want %s", tt.arg, got, tt.want)
		}
	}
	for arg, want := range map[string]string{
		"nginx": `image override "nginx" sets nothing; write name=newName, name:tag or name@sha256:digest`,
		"=x:1":  `image override "=x:1" has no image name`,
	} {
		if _, err := ParseImageOverride(arg); err == nil || err.Error() != want {
			t.Errorf("ParseImageOverride(%q) error = %v, want %q", arg, err, want)
		}
	}
}

func TestImageOverridesAreSortedAndKeepStarredParts(t *testing.T) {
	root := testutil.WriteTree(t, map[string]string{
		"kustomization.yaml": "resources: [deployment.yaml]\nimages:\n- name: ghcr.io/acme/web\n  newName: ghcr.io/acme/mirror/web\n  newTag: v1\n",
		"deployment.yaml":    deployment,
	})
	got := renderYAML(t, Options{Root: root, Overrides: Overrides{Images: []string{"ghcr.io/acme/web=*:v9"}}})
	if !strings.Contains(got, "image: ghcr.io/acme/mirror/web:v9\n") {
		t.Errorf("newName was not kept:\n%s", got)
	}
	edited, err := Overrides{Images: []string{"zeta:1", "alpha:2"}}.apply([]byte("images:\n- name: mid\n  newTag: \"3\"\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	want := "images:\n- name: alpha\n  newTag: \"2\"\n- name: mid\n  newTag: \"3\"\n- name: zeta\n  newTag: \"1\"\n"
	if string(edited) != want {
		t.Errorf("edited kustomization =\n%s\nwant\n%s", edited, want)
	}
}

func TestOverridesOnAnInvalidKustomization(t *testing.T) {
	root := testutil.WriteTree(t, map[string]string{"kustomization.yaml": "resources: [deployment.yaml]\nnotAField: 1\n", "deployment.yaml": deployment})
	_, err := Render(Options{Root: root, Overrides: Overrides{NamePrefix: "x-"}})
	if err == nil || !strings.Contains(err.Error(), `kustomization.yaml: invalid Kustomization: json: unknown field "notAField"`) {
		t.Errorf("Render error = %v", err)
	}
}
