package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"

	"github.com/digestpin/digestpin/internal/render"
)

// kustomizeVersion is the kustomize digestpin renders like.
const kustomizeVersion = render.KustomizeVersion

// TestPinnedAppRendersWhatKustomizeBuilds: a pinned overlay rendered by
// digestpin through Argo CD reaches the controller as exactly the objects
// `kustomize build` prints.
func TestPinnedAppRendersWhatKustomizeBuilds(t *testing.T) {
	repo := checkoutTestdata(t, "shop")
	resp, err := generate(t, repo, application{
		name:      "shop-prod",
		namespace: "shop",
		source:    pluginSource("apps/shop/prod", v1alpha1.ApplicationSourcePlugin{Name: pluginName}),
	})
	if err != nil {
		t.Fatalf("Argo CD reports: %v", err)
	}
	if resp.SourceType != string(v1alpha1.ApplicationSourceTypePlugin) {
		t.Errorf("source type %q, want Plugin", resp.SourceType)
	}
	got := manifests(t, resp)
	// What a user checks first, independent of kustomize: every image
	// pinned, in the right namespace.
	if d := describe(got); d != `Service shop/web labels: app.kubernetes.io/part-of=shop selector: app=web
Deployment shop/web labels: app.kubernetes.io/part-of=shop selector: app=web pod labels: app=web images: init migrate=ghcr.io/acme/migrate:v7@sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752 app=ghcr.io/acme/web:v1.2@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
CronJob shop/report labels: app.kubernetes.io/part-of=shop images: report=ghcr.io/acme/report@sha256:fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13
` {
		t.Errorf("rendered:\n%s", d)
	}

	want := kustomizeBuild(t, filepath.Join(repo.root, "apps/shop/prod"))
	sameObjects(t, got, parseYAML(t, want))
}

// kustomizeCLI returns the kustomize CLI that `make test` installs, after
// checking its version; without one it skips, or fails on CI.
func kustomizeCLI(t *testing.T) string {
	t.Helper()
	kustomize := os.Getenv("KUSTOMIZE")
	if kustomize == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("KUSTOMIZE is not set; `make test` installs kustomize " + kustomizeVersion + " and sets it")
		}
		t.Skip("KUSTOMIZE is not set, so there is nothing to compare with; `make test` installs kustomize " + kustomizeVersion + " and sets it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), generateTimeout)
	defer cancel()
	version, err := exec.CommandContext(ctx, kustomize, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", kustomize, err)
	}
	if v := strings.TrimSpace(string(version)); v != kustomizeVersion {
		t.Fatalf("KUSTOMIZE=%s is %s, want %s", kustomize, v, kustomizeVersion)
	}
	return kustomize
}

// kustomizeBuild runs `kustomize build dir`.
func kustomizeBuild(t *testing.T, dir string) string {
	t.Helper()
	kustomize := kustomizeCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), generateTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, kustomize, "build", dir).Output()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return string(out)
}
