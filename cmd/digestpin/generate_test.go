package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/digestpin/digestpin/internal/render"
	"github.com/digestpin/digestpin/internal/testutil"
)

// digest is the digest the shop fixture pins its prod images to.
const digest = testutil.ShopDigest

const prodYAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - image: ghcr.io/acme/web:v1.2@` + digest + `
        name: app
      initContainers:
      - image: ghcr.io/acme/migrate:v7@` + digest + `
        name: migrate
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  namespace: shop
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - image: ghcr.io/acme/report@` + digest + `
            name: report
          restartPolicy: OnFailure
  schedule: 0 3 * * *
`

func argoEnv(sourcePath string, extra ...string) []string {
	return append([]string{"ARGOCD_APP_NAME=shop", "ARGOCD_APP_SOURCE_PATH=" + sourcePath}, extra...)
}

func TestGeneratePinnedAppRendersLikeKustomizeBuild(t *testing.T) {
	root := testutil.WriteTree(t, testutil.Shop)
	r := digestpin(t, filepath.Join(root, "apps/shop/prod"), argoEnv("apps/shop/prod"), "generate")
	r.expect(t, 0, prodYAML, "")

	kustomize := testutil.Kustomize(t, render.KustomizeVersion)
	out, err := exec.Command(kustomize, "build", filepath.Join(root, "apps/shop/prod")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != r.stdout {
		t.Errorf("kustomize build printed\n%s\ndigestpin generate printed\n%s", out, r.stdout)
	}
}

func TestGenerateRefusesEveryUnpinnedImage(t *testing.T) {
	root := testutil.WriteTree(t, testutil.Shop)
	r := digestpin(t, filepath.Join(root, "apps/shop/staging"), argoEnv("apps/shop/staging"), "generate")
	r.expect(t, 1, "", `refusing to render: 3 images are not pinned by a sha256 digest.
  - Deployment shop-staging/web, init container "migrate": image "ghcr.io/acme/migrate:v7": no digest (tag "v7" can be moved in the registry) (from apps/shop/base/deployment.yaml)
  - Deployment shop-staging/web, container "app": image "ghcr.io/acme/web:v1.2": no digest (tag "v1.2" can be moved in the registry) (from apps/shop/base/deployment.yaml)
  - CronJob shop-staging/report, container "report": image "ghcr.io/acme/report": no digest and no tag (pulls whatever :latest points to) (from apps/shop/base/cronjob.yaml)
fix: pin each image by digest in Git, for example with `+"`digestpin promote --image ghcr.io/acme/migrate:v7 --path apps/shop/staging`"+` in CI, or an images: entry with a digest in the kustomization.
`)
}

func TestGenerateWithManifestGeneratePathsNamesRepositoryFiles(t *testing.T) {
	// Argo CD sent only apps/shop (the common root of the app and its
	// manifest-generate-paths), unpacked into a random directory.
	tree := map[string]string{}
	for name, content := range testutil.Shop {
		tree[strings.TrimPrefix(name, "apps/shop/")] = content
	}
	root := testutil.WriteTree(t, tree)
	r := digestpin(t, filepath.Join(root, "staging"), argoEnv("apps/shop/staging"), "generate")
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "(from apps/shop/base/deployment.yaml)") {
		t.Errorf("stderr does not name the file by its repository path:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, root) {
		t.Errorf("stderr shows the temporary directory:\n%s", r.stderr)
	}
}

func TestGenerateAppliesParametersAndJudgesImageOverrides(t *testing.T) {
	root := testutil.WriteTree(t, testutil.Shop)
	params := `[{"name":"images","array":["ghcr.io/acme/web=ghcr.io/acme/web:v1.3"]},{"name":"namePrefix","string":"blue-"}]`
	r := digestpin(t, filepath.Join(root, "apps/shop/prod"), argoEnv("apps/shop/prod", "ARGOCD_APP_PARAMETERS="+params), "generate")
	r.expect(t, 1, "", `refusing to render: 1 image is not pinned by a sha256 digest.
  - Deployment shop/blue-web, container "app": image "ghcr.io/acme/web:v1.3": no digest (tag "v1.3" can be moved in the registry) (from the Application's images parameter ghcr.io/acme/web=ghcr.io/acme/web:v1.3)
fix: pin each image by digest in Git, for example with `+"`digestpin promote --image ghcr.io/acme/web:v1.3 --path apps/shop/prod`"+` in CI, or an images: entry with a digest in the kustomization.
`)
	if got, _ := os.ReadFile(filepath.Join(root, "apps/shop/prod/kustomization.yaml")); string(got) != testutil.Shop["apps/shop/prod/kustomization.yaml"] {
		t.Errorf("generate edited the checkout:\n%s", got)
	}

	params = `[{"name":"images","array":["ghcr.io/acme/web=ghcr.io/acme/web:v1.3@` + digest + `"]},{"name":"namePrefix","string":"blue-"}]`
	r = digestpin(t, filepath.Join(root, "apps/shop/prod"), argoEnv("apps/shop/prod", "ARGOCD_APP_PARAMETERS="+params), "generate")
	want := strings.ReplaceAll(prodYAML, "name: web\n", "name: blue-web\n")
	want = strings.ReplaceAll(want, "name: report\n  namespace", "name: blue-report\n  namespace")
	want = strings.ReplaceAll(want, "web:v1.2@", "web:v1.3@")
	r.expect(t, 0, want, "")
}

func TestGenerateOperatorPolicy(t *testing.T) {
	root := testutil.WriteTree(t, testutil.Shop)
	dir := filepath.Join(root, "apps/shop/prod")

	r := digestpin(t, dir, argoEnv("apps/shop/prod", "DIGESTPIN_ALLOWED_REGISTRIES=ghcr.io/acme/web,ghcr.io/acme/migrate"), "generate")
	r.expect(t, 1, "", `refusing to render: 1 image is from a registry that is not allowed.
  - CronJob shop/report, container "report": image "ghcr.io/acme/report@`+digest+`": repository ghcr.io/acme/report is not in the allowed registries (from apps/shop/base/cronjob.yaml)
fix: pin each image by digest in Git, for example with `+"`digestpin promote --image <image>:<tag> --path apps/shop/prod`"+` in CI, or an images: entry with a digest in the kustomization; images must come from an allowed registry (ghcr.io/acme/web, ghcr.io/acme/migrate).
`)

	staging := filepath.Join(root, "apps/shop/staging")
	r = digestpin(t, staging, argoEnv("apps/shop/staging", "DIGESTPIN_EXEMPT_IMAGES=ghcr.io/acme/*"), "generate")
	if r.code != 0 || !strings.Contains(r.stdout, "image: ghcr.io/acme/web:v1.2\n") {
		t.Errorf("exempt images were refused: exit %d\n%s", r.code, r.stderr)
	}

	r = digestpin(t, dir, argoEnv("apps/shop/prod", "DIGESTPIN_ALLOWED_REGISTRIES=GHCR.io"), "generate")
	r.expect(t, 2, "", `digestpin: sidecar configuration: DIGESTPIN_ALLOWED_REGISTRIES: "GHCR.io" is not a registry or repository pattern (lowercase letters, digits, . _ - / : and * only)`+"\n")

	r = digestpin(t, dir, argoEnv("apps/shop/prod", "DIGESTPIN_IMAGE_FIELDS=spec/image"), "generate")
	r.expect(t, 2, "", `digestpin: sidecar configuration: DIGESTPIN_IMAGE_FIELDS: image field "spec/image" is not of the form Kind:path/to/image`+"\n")
}

func TestGenerateJudgesDeclaredImageFields(t *testing.T) {
	root := testutil.WriteTree(t, map[string]string{
		"app/kustomization.yaml": "resources: [runner.yaml]\nconfigurations: [images.yaml]\n",
		"app/images.yaml":        "images:\n- kind: Runner\n  path: spec/runtime/image\n",
		"app/runner.yaml":        "apiVersion: ci.example.com/v1\nkind: Runner\nmetadata: {name: r}\nspec:\n  runtime: {image: ghcr.io/acme/runtime:v3}\n  sidecar: {image: ghcr.io/acme/sidecar:v1}\n",
	})
	r := digestpin(t, filepath.Join(root, "app"), argoEnv("app", "DIGESTPIN_IMAGE_FIELDS=Runner:spec/sidecar/image"), "generate")
	r.expect(t, 1, "", `refusing to render: 2 images are not pinned by a sha256 digest.
  - Runner r, field spec.sidecar.image: image "ghcr.io/acme/sidecar:v1": no digest (tag "v1" can be moved in the registry) (from app/runner.yaml)
  - Runner r, field spec.runtime.image: image "ghcr.io/acme/runtime:v3": no digest (tag "v3" can be moved in the registry) (from app/runner.yaml)
fix: pin each image by digest in Git, for example with `+"`digestpin promote --image ghcr.io/acme/sidecar:v1 --path app`"+` in CI, or an images: entry with a digest in the kustomization.
`)
}

func TestGenerateUntrustedInput(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	defer srv.Close()

	root := testutil.WriteTree(t, map[string]string{"app/kustomization.yaml": "resources:\n- " + srv.URL + "/deployment.yaml\n"})
	r := digestpin(t, filepath.Join(root, "app"), argoEnv("app"), "generate")
	r.expect(t, 2, "", `digestpin: rendering app: app/kustomization.yaml: resources entry "`+srv.URL+`/deployment.yaml" is remote; digestpin renders only what is in the repository, so vendor it into the repository: not allowed in digestpin`+"\n")
	if requests.Load() != 0 {
		t.Errorf("the loopback server saw %d requests", requests.Load())
	}

	var bomb strings.Builder
	bomb.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for c := 'b'; c <= 'i'; c++ {
		p := "*" + string(c-1)
		bomb.WriteString("  " + string(c) + ": &" + string(c) + " [" + strings.Repeat(p+",", 8) + p + "]\n")
	}
	root = testutil.WriteTree(t, map[string]string{"app/kustomization.yaml": "resources: [bomb.yaml]\n", "app/bomb.yaml": bomb.String()})
	r = digestpin(t, filepath.Join(root, "app"), argoEnv("app"), "generate")
	r.expect(t, 2, "", `digestpin: rendering app: "app/bomb.yaml": YAML aliases expand to more than 100000 nodes: input exceeds the render limits`+"\n")
	if r.maxRSS > 256<<20 {
		t.Errorf("peak memory %d MiB, want at most 256 MiB", r.maxRSS>>20)
	}

	// Written as a stream: a child's peak memory counts the test
	// process's at the fork.
	root = writeStreams(t, map[string]stream{"app/kustomization.yaml": text("resources: [big.yaml]\n"), "app/big.yaml": repeat("a: b\n", 4<<20)})
	r = digestpin(t, filepath.Join(root, "app"), argoEnv("app"), "generate")
	r.expect(t, 2, "", `digestpin: rendering app: "app/big.yaml" is 20971520 bytes, more than the 8388608 allowed: input exceeds the render limits`+"\n")
	if r.maxRSS > 256<<20 {
		t.Errorf("peak memory %d MiB, want at most 256 MiB", r.maxRSS>>20)
	}
}

func TestGenerateUsage(t *testing.T) {
	r := digestpin(t, t.TempDir(), nil, "generate", "extra")
	r.expect(t, 2, "", `generate takes no arguments; it renders the working directory (got "extra")`+"\n")

	dir := t.TempDir()
	r = digestpin(t, dir, argoEnv("."), "generate")
	r.expect(t, 2, "", "digestpin: rendering .: no kustomization in \".\": expected one of kustomization.yaml, kustomization.yml, Kustomization\n")
}
