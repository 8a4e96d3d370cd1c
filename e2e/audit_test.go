package e2e

import (
	"path/filepath"
	"testing"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
)

const auditAnnotation = "digestpin.dev/unpinned-images"

// stagingAudit is an Application asking for audit mode through its plugin
// env.
func stagingAudit() application {
	return application{
		name:      "shop-staging",
		namespace: "shop-staging",
		source: pluginSource("apps/shop/staging", v1alpha1.ApplicationSourcePlugin{
			Name: pluginName,
			Env:  v1alpha1.Env{{Name: "MODE", Value: "audit"}},
		}),
	}
}

// TestAuditModeReachesArgoCD: where the operator lets Applications choose
// audit, an unpinned app renders (the command exits 0), and every object
// that runs an image without a digest reaches Argo CD carrying the
// annotation that names each; the rest is what kustomize build prints.
func TestAuditModeReachesArgoCD(t *testing.T) {
	t.Setenv("DIGESTPIN_ALLOW_APP_AUDIT", "true") // the sidecar's environment
	repo := checkoutTestdata(t, "shop")
	resp, err := generate(t, repo, stagingAudit())
	if err != nil {
		t.Fatalf("Argo CD reports: %v", err)
	}
	got := manifests(t, resp)
	want := map[string]string{
		"Service":    "",
		"Deployment": "init container \"migrate\": ghcr.io/acme/migrate:v7\ncontainer \"app\": ghcr.io/acme/web:v1.2",
		"CronJob":    "container \"report\": ghcr.io/acme/report",
	}
	for _, obj := range got {
		kind, _ := obj["kind"].(string)
		annotation, _ := field(obj, "metadata", "annotations", auditAnnotation).(string)
		if annotation != want[kind] {
			t.Errorf("%s: annotation %q, want %q", kind, annotation, want[kind])
		}
		// Without it, each object is kustomize build's.
		if annotations, ok := field(obj, "metadata", "annotations").(map[string]any); ok {
			delete(annotations, auditAnnotation)
			if len(annotations) == 0 {
				delete(obj["metadata"].(map[string]any), "annotations")
			}
		}
	}
	sameObjects(t, got, parseYAML(t, kustomizeBuild(t, filepath.Join(repo.root, "apps/shop/staging"))))
}

// TestAuditModeRefusedWhenNotAllowed: an Application cannot turn the
// policy off by itself; Argo CD shows why.
func TestAuditModeRefusedWhenNotAllowed(t *testing.T) {
	repo := checkoutTestdata(t, "shop")
	resp, err := generate(t, repo, stagingAudit())
	if err == nil {
		t.Fatalf("Argo CD received %d manifests", len(resp.Manifests))
	}
	sameMessage(t, err.Error(), generateFailure(2)+"digestpin: the Application asks for audit mode (plugin env MODE=audit), and the operator has not allowed Applications to choose it: images without a digest are refused here. The operator allows it with DIGESTPIN_ALLOW_APP_AUDIT=true on the digestpin sidecar; or remove MODE from the Application's plugin env")
}
