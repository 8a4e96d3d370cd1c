package e2e

import (
	"testing"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
)

const discoveryDigest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// Two ways an Application leaves the choice of plugin to discovery.
var discoveryWays = []struct {
	name   string
	plugin *v1alpha1.ApplicationSourcePlugin
}{
	// spec.source.plugin: {}: a plugin, whichever matches.
	{"plugin without a name", &v1alpha1.ApplicationSourcePlugin{}},
	// No source type at all: Argo CD asks every plugin first, then falls
	// back to its own types (kustomize, helm, directory).
	{"no source type", nil},
}

// TestDiscoveryMatchesEveryKustomizationFileName: plugin.yaml's discovery
// glob, evaluated by the CMP server, claims an app for each of the file
// names kustomize accepts.
func TestDiscoveryMatchesEveryKustomizationFileName(t *testing.T) {
	repo := checkoutTestdata(t, "discovery")
	for _, tc := range []struct{ file, path string }{
		{"kustomization.yaml", "apps/yaml"},
		{"kustomization.yml", "apps/yml"},
		{"Kustomization", "apps/capital"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			for _, way := range discoveryWays {
				t.Run(way.name, func(t *testing.T) {
					resp, err := generate(t, repo, application{
						name:      "discovered",
						namespace: "default",
						source:    v1alpha1.ApplicationSource{Path: tc.path, Plugin: way.plugin},
					})
					if err != nil {
						t.Fatalf("Argo CD reports: %v", err)
					}
					if resp.SourceType != string(v1alpha1.ApplicationSourceTypePlugin) {
						t.Errorf("source type %q, want Plugin", resp.SourceType)
					}
					name := tc.path[len("apps/"):]
					want := "Deployment " + name + " selector: app=" + name + " pod labels: app=" + name +
						" images: app=ghcr.io/acme/" + name + "@" + discoveryDigest + "\n"
					if d := describe(manifests(t, resp)); d != want {
						t.Errorf("rendered:\n%s\nwant:\n%s", d, want)
					}
				})
			}
		})
	}
}

// TestDiscoveryIgnoresAppsWithoutKustomization: an app directory of plain
// YAML is not claimed by digestpin, and each way of asking shows what the
// user gets.
func TestDiscoveryIgnoresAppsWithoutKustomization(t *testing.T) {
	repo := checkoutTestdata(t, "discovery")
	app := func(plugin *v1alpha1.ApplicationSourcePlugin) application {
		return application{
			name:      "plain",
			namespace: "default",
			source:    v1alpha1.ApplicationSource{Path: "apps/plain", Plugin: plugin},
		}
	}

	t.Run("plugin without a name", func(t *testing.T) {
		resp, err := generate(t, repo, app(&v1alpha1.ApplicationSourcePlugin{}))
		if err == nil {
			t.Fatalf("rendered %d manifests as %s", len(resp.Manifests), resp.SourceType)
		}
		sameMessage(t, err.Error(), "plugin sidecar failed. could not find plugin supporting the given repository")
	})

	// Naming the plugin does not skip its discovery rule: Argo CD asks
	// the plugin anyway and takes its "no" for an answer, so digestpin
	// never runs and its own "no kustomization" message is never shown.
	t.Run("plugin named "+pluginName, func(t *testing.T) {
		resp, err := generate(t, repo, app(&v1alpha1.ApplicationSourcePlugin{Name: pluginName}))
		if err == nil {
			t.Fatalf("rendered %d manifests as %s", len(resp.Manifests), resp.SourceType)
		}
		sameMessage(t, err.Error(), `plugin sidecar failed. couldn't find cmp-server plugin with name "`+pluginName+`" supporting the given repository`)
	})

	// Without a source type Argo CD falls back to its directory source and
	// applies the plain YAML as it is: digestpin is not asked to judge it.
	t.Run("no source type", func(t *testing.T) {
		resp, err := generate(t, repo, app(nil))
		if err != nil {
			t.Fatalf("Argo CD reports: %v", err)
		}
		if resp.SourceType != string(v1alpha1.ApplicationSourceTypeDirectory) {
			t.Errorf("source type %q, want Directory", resp.SourceType)
		}
		want := "Deployment plain selector: app=plain pod labels: app=plain images: app=ghcr.io/acme/plain@" + discoveryDigest + "\n"
		if d := describe(manifests(t, resp)); d != want {
			t.Errorf("rendered:\n%s\nwant:\n%s", d, want)
		}
	})
}
