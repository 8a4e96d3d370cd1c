package main

import (
	"maps"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/render"
	"github.com/digestpin/digestpin/internal/testutil"
)

// auditShop is the shop with a canary overlay that pins the CronJob's image
// and leaves the Deployment's on tags.
func auditShop() map[string]string {
	files := maps.Clone(testutil.Shop)
	files["apps/shop/canary/kustomization.yaml"] = `namespace: shop-canary
resources: [../base]
images:
- name: ghcr.io/acme/report
  digest: ` + digest + `
`
	return files
}

const canaryAudit = `digestpin: audit mode: 2 images are not pinned by a sha256 digest; rendered anyway, each object that runs one annotated digestpin.dev/unpinned-images.
  - Deployment shop-canary/web, init container "migrate": image "ghcr.io/acme/migrate:v7": no digest (tag "v7" can be moved in the registry) (from apps/shop/base/deployment.yaml)
  - Deployment shop-canary/web, container "app": image "ghcr.io/acme/web:v1.2": no digest (tag "v1.2" can be moved in the registry) (from apps/shop/base/deployment.yaml)
to pin them all: ` + "`digestpin pin apps/shop/canary`" + ` in the config repository.
`

func TestGenerateAuditModeAnnotatesWhatLacksADigest(t *testing.T) {
	root := testutil.WriteTree(t, auditShop())
	canary := filepath.Join(root, "apps/shop/canary")
	r := digestpin(t, canary, argoEnv("apps/shop/canary", "DIGESTPIN_MODE=audit"), "generate")
	r.expect(t, 0, `apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    digestpin.dev/unpinned-images: |-
      init container "migrate": ghcr.io/acme/migrate:v7
      container "app": ghcr.io/acme/web:v1.2
  name: web
  namespace: shop-canary
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
      - image: ghcr.io/acme/web:v1.2
        name: app
      initContainers:
      - image: ghcr.io/acme/migrate:v7
        name: migrate
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  namespace: shop-canary
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - image: ghcr.io/acme/report@`+digest+`
            name: report
          restartPolicy: OnFailure
  schedule: 0 3 * * *
`, canaryAudit)

	// Every object without the annotation is what kustomize build prints.
	kustomize := testutil.Kustomize(t, render.KustomizeVersion)
	out, err := exec.Command(kustomize, "build", canary).Output()
	if err != nil {
		t.Fatal(err)
	}
	cronJob := func(s string) string { return s[strings.Index(s, "---\n"):] }
	if cronJob(string(out)) != cronJob(r.stdout) {
		t.Errorf("the pinned CronJob differs from kustomize build's:\n%s", cronJob(string(out)))
	}

	// A pinned app is the same in both modes.
	prod := filepath.Join(root, "apps/shop/prod")
	digestpin(t, prod, argoEnv("apps/shop/prod", "DIGESTPIN_MODE=audit"), "generate").expect(t, 0, prodYAML, "")
	digestpin(t, prod, argoEnv("apps/shop/prod", "DIGESTPIN_MODE=enforce"), "generate").expect(t, 0, prodYAML, "")
}

func TestGenerateAuditModeStillRefusesOtherViolations(t *testing.T) {
	root := testutil.WriteTree(t, auditShop())
	r := digestpin(t, filepath.Join(root, "apps/shop/canary"), argoEnv("apps/shop/canary", "DIGESTPIN_MODE=audit", "DIGESTPIN_ALLOWED_REGISTRIES=ghcr.io/acme/web,ghcr.io/acme/report"), "generate")
	r.expect(t, 1, "", `refusing to render: 1 image is from a registry that is not allowed.
  - Deployment shop-canary/web, init container "migrate": image "ghcr.io/acme/migrate:v7": repository ghcr.io/acme/migrate is not in the allowed registries (from apps/shop/base/deployment.yaml)
fix: pin each image by digest in Git, for example with `+"`digestpin promote --image <image>:<tag> --path apps/shop/canary`"+` in CI, or an images: entry with a digest in the kustomization; images must come from an allowed registry (ghcr.io/acme/web, ghcr.io/acme/report).
`)
}

func TestGenerateModeSettings(t *testing.T) {
	root := testutil.WriteTree(t, auditShop())
	canary := filepath.Join(root, "apps/shop/canary")
	staging := refusal(t, root)
	tests := []struct {
		name   string
		env    []string
		code   int
		stdout bool
		stderr string
	}{
		{"bad mode", []string{"DIGESTPIN_MODE=warn"}, 2, false, `digestpin: sidecar configuration: DIGESTPIN_MODE="warn": want enforce or audit` + "\n"},
		{"bad allow", []string{"DIGESTPIN_ALLOW_APP_AUDIT=yes"}, 2, false, `digestpin: sidecar configuration: DIGESTPIN_ALLOW_APP_AUDIT="yes": want true or false` + "\n"},
		{"app asks, not allowed", []string{"ARGOCD_ENV_MODE=audit"}, 2, false, "digestpin: the Application asks for audit mode (plugin env MODE=audit), and the operator has not allowed Applications to choose it: images without a digest are refused here. The operator allows it with DIGESTPIN_ALLOW_APP_AUDIT=true on the digestpin sidecar; or remove MODE from the Application's plugin env\n"},
		{"app asks, explicitly not allowed", []string{"ARGOCD_ENV_MODE=audit", "DIGESTPIN_ALLOW_APP_AUDIT=false"}, 2, false, "digestpin: the Application asks for audit mode"},
		{"app asks, allowed", []string{"ARGOCD_ENV_MODE=audit", "DIGESTPIN_ALLOW_APP_AUDIT=true"}, 0, true, canaryAudit},
		{"app asks, operator audits", []string{"ARGOCD_ENV_MODE=audit", "DIGESTPIN_MODE=audit"}, 0, true, canaryAudit},
		{"app enforces under audit", []string{"ARGOCD_ENV_MODE=enforce", "DIGESTPIN_MODE=audit"}, 1, false, staging},
		{"app mode unknown", []string{"ARGOCD_ENV_MODE=Audit", "DIGESTPIN_ALLOW_APP_AUDIT=true"}, 2, false, `digestpin: the Application's plugin env MODE="Audit" is not a mode: use audit or enforce` + "\n"},
		{"default enforces", nil, 1, false, staging},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := digestpin(t, canary, argoEnv("apps/shop/canary", tt.env...), "generate")
			if r.code != tt.code || (r.stdout != "") != tt.stdout || !strings.HasPrefix(r.stderr, tt.stderr) {
				t.Errorf("exit %d, stdout %d bytes, stderr\n%s\nwant exit %d, stdout %t, stderr starting\n%s", r.code, len(r.stdout), r.stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

// refusal is what enforce mode says of the canary overlay.
func refusal(t *testing.T, root string) string {
	r := digestpin(t, filepath.Join(root, "apps/shop/canary"), argoEnv("apps/shop/canary"), "generate")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "refusing to render: 2 images are not pinned") {
		t.Fatalf("enforce: exit %d: %s", r.code, r.stderr)
	}
	return r.stderr
}
