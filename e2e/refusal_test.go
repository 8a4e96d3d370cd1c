package e2e

import (
	"strings"
	"testing"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
)

// stagingRefusal is digestpin's stderr for apps/shop/staging, which leaves
// every image of the base on a tag: the text the README shows.
const stagingRefusal = `refusing to render: 3 images are not pinned by a sha256 digest.
  - Deployment shop-staging/web, init container "migrate": image "ghcr.io/acme/migrate:v7": no digest (tag "v7" can be moved in the registry) (from apps/shop/base/deployment.yaml)
  - Deployment shop-staging/web, container "app": image "ghcr.io/acme/web:v1.2": no digest (tag "v1.2" can be moved in the registry) (from apps/shop/base/deployment.yaml)
  - CronJob shop-staging/report, container "report": image "ghcr.io/acme/report": no digest and no tag (pulls whatever :latest points to) (from apps/shop/base/cronjob.yaml)
fix: pin each image by digest in Git, for example with ` + "`digestpin promote --image ghcr.io/acme/migrate:v7 --path apps/shop/staging`" + ` in CI, or an images: entry with a digest in the kustomization.`

// TestUnpinnedAppIsRefusedWithEveryOffender: Argo CD gets no manifests at
// all, and the error it keeps for the Application carries digestpin's
// report unchanged, every offender on its own line.
func TestUnpinnedAppIsRefusedWithEveryOffender(t *testing.T) {
	repo := checkoutTestdata(t, "shop")
	resp, err := generate(t, repo, application{
		name:      "shop-staging",
		namespace: "shop-staging",
		source:    pluginSource("apps/shop/staging", v1alpha1.ApplicationSourcePlugin{Name: pluginName}),
	})
	if err == nil {
		t.Fatalf("Argo CD received %d manifests for an unpinned app", len(resp.Manifests))
	}
	if resp != nil {
		t.Errorf("Argo CD received a response along with the error: %v", resp.Manifests)
	}
	// The controller shows this on the Application as
	// "Failed to load target state: failed to generate manifest for source
	// 1 of 1: rpc error: code = Unknown desc = " + the text below.
	sameMessage(t, err.Error(), generateFailure(1)+stagingRefusal)
	noTemporaryPaths(t, err.Error(), repo)
}

// sameMessage compares an error text with the expected one; on a mismatch
// it also names the lines of the expected text that did not survive.
func sameMessage(t *testing.T, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	t.Errorf("Argo CD reports:\n%s\n\nwant:\n%s", got, want)
	for _, line := range strings.Split(want, "\n") {
		if !strings.Contains(got, line) {
			t.Errorf("line lost: %s", line)
		}
	}
}
