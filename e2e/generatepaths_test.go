package e2e

import (
	"testing"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
)

// TestManifestGeneratePathsSendOnlyTheCommonRoot: with
// --plugin-use-manifest-generate-paths, argocd-repo-server sends the
// plugin only the common root of the app path and the paths of its
// argocd.argoproj.io/manifest-generate-paths annotation. digestpin still
// renders, and still names files by their path in the repository.
func TestManifestGeneratePathsSendOnlyTheCommonRoot(t *testing.T) {
	server := repoServer{useManifestGeneratePaths: true}
	app := func(path, annotation string) application {
		return application{
			name:                  "shop",
			namespace:             "shop",
			source:                pluginSource(path, v1alpha1.ApplicationSourcePlugin{Name: pluginName}),
			manifestGeneratePaths: annotation,
		}
	}

	// ".;../base" from apps/shop/prod: Argo CD sends apps/shop.
	t.Run("pinned app renders as from the whole repository", func(t *testing.T) {
		repo := checkoutTestdata(t, "shop")
		resp, err := server.generate(t, repo, app("apps/shop/prod", ".;../base"))
		if err != nil {
			t.Fatalf("Argo CD reports: %v", err)
		}
		whole, err := generate(t, repo, app("apps/shop/prod", ""))
		if err != nil {
			t.Fatalf("Argo CD reports, for the whole repository: %v", err)
		}
		sameObjects(t, manifests(t, resp), manifests(t, whole))
	})

	t.Run("refusal names repository paths", func(t *testing.T) {
		repo := checkoutTestdata(t, "shop")
		_, err := server.generate(t, repo, app("apps/shop/staging", ".;../base"))
		if err == nil {
			t.Fatal("an unpinned app rendered")
		}
		sameMessage(t, err.Error(), generateFailure(1)+stagingRefusal)
		noTemporaryPaths(t, err.Error(), repo)
	})

	// "." alone: Argo CD sends apps/shop/prod only, without the base it
	// needs. The error names repository paths only and says which path
	// the annotation is missing.
	t.Run("a base Argo CD did not send", func(t *testing.T) {
		repo := checkoutTestdata(t, "shop")
		_, err := server.generate(t, repo, app("apps/shop/prod", "."))
		if err == nil {
			t.Fatal("rendered without the base")
		}
		sameMessage(t, err.Error(), generateFailure(2)+`digestpin: rendering apps/shop/prod: apps/shop/prod/kustomization.yaml: resources entry "../base": "apps/shop/base" is outside the files digestpin was given: Argo CD sent only apps/shop/prod, because the Application's argocd.argoproj.io/manifest-generate-paths annotation does not list ../base`)
		noTemporaryPaths(t, err.Error(), repo)
	})
}
