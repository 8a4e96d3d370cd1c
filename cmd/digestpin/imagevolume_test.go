package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/testutil"
)

// An image volume pulls an image like a container does: it is judged for a
// digest and against the allowed registries, and named in the refusal.
func TestGenerateJudgesImageVolumes(t *testing.T) {
	root := testutil.WriteTree(t, map[string]string{
		"app/kustomization.yaml": "resources: [deployment.yaml]\n",
		"app/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: infer}
spec:
  template:
    spec:
      containers:
      - name: server
        image: ghcr.io/acme/server@` + digest + `
        volumeMounts: [{name: models, mountPath: /models}]
      volumes:
      - name: models
        image:
          reference: ghcr.io/acme/models:v3
      - name: weights
        image: {reference: evil.io/weights@` + digest + `}
`,
	})
	dir := filepath.Join(root, "app")
	r := digestpin(t, dir, argoEnv("app", "DIGESTPIN_ALLOWED_REGISTRIES=ghcr.io/acme"), "generate")
	r.expect(t, 1, "", `refusing to render: 2 images are not pinned by a sha256 digest or from a registry that is not allowed.
  - Deployment infer, volume "models": image "ghcr.io/acme/models:v3": no digest (tag "v3" can be moved in the registry) (from app/deployment.yaml)
  - Deployment infer, volume "weights": image "evil.io/weights@`+digest+`": repository evil.io/weights is not in the allowed registries (from app/deployment.yaml)
fix: pin each image by digest in Git, for example with `+"`digestpin promote --image ghcr.io/acme/models:v3 --path app`"+` in CI, or an images: entry with a digest in the kustomization; images must come from an allowed registry (ghcr.io/acme).
`)

	r = digestpin(t, root, []string{"DIGESTPIN_ALLOWED_REGISTRIES=ghcr.io/acme"}, "check", "--root", root, "--format", "json", "app")
	if r.code != 1 || !strings.Contains(r.stdout, `"slot": "volume",
      "container": "models",
      "field": "spec.template.spec.volumes[0].image.reference",
      "image": "ghcr.io/acme/models:v3",`) {
		t.Errorf("check --format json: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// promote pins an image volume in a plain manifest, as it pins containers.
func TestPromotePinsImageVolumesInManifests(t *testing.T) {
	reg := newRegistry(t)
	models := reg.push(t, "acme/models", "v4", "")
	repo := newConfigRepo(t, map[string]string{"apps/infer/pod.yaml": `apiVersion: v1
kind: Pod
metadata: {name: infer}
spec:
  containers:
  - name: server
    image: ` + reg.host + `/acme/server:v1
  volumes:
  - name: models
    image:
      reference: ` + reg.host + `/acme/models:v3   # the weights
`})
	before := repo.head(t)
	r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/models:v4", "--path", "apps/infer/pod.yaml")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := git(t, repo.bare, "diff", "--unified=0", before, "main")
	want := fmt.Sprintf("-      reference: %[1]s/acme/models:v3   # the weights\n+      reference: %[1]s/acme/models:v4@%[2]s   # the weights", reg.host, models)
	if !strings.HasSuffix(got, want) {
		t.Errorf("git diff =\n%s\nwant it to end with\n%s", got, want)
	}
}
