package e2e

import (
	"testing"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"sigs.k8s.io/yaml"
)

const (
	web13Digest   = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	migrateDigest = "sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
	reportDigest  = "sha256:fd61a03af4f77d870fc21e05e7e80678095c92d808cfb3b5c279ee04c74aca13"
)

// TestPluginEnvAndParametersReachTheRender: spec.source.plugin.env (which
// Argo CD expands) and spec.source.plugin.parameters (which it passes as
// JSON) change the render of apps/shop/prod exactly like the same options
// of Argo CD's native kustomize source.
func TestPluginEnvAndParametersReachTheRender(t *testing.T) {
	for _, tc := range []struct {
		name string
		// plugin is spec.source.plugin as written in the Application.
		plugin string
		// native is the same intent as spec.source.kustomize.
		native string
		want   string
	}{{
		name: "env",
		plugin: `
name: digestpin-v1
env:
- name: NAME_PREFIX
  value: $ARGOCD_APP_NAME-
- name: NAMESPACE
  value: $ARGOCD_APP_NAMESPACE
- name: COMMON_LABELS
  value: team=shop,app.kubernetes.io/instance=$ARGOCD_APP_NAME
- name: IMAGES
  value: ghcr.io/acme/web=ghcr.io/acme/web:v1.3@` + web13Digest + `
`,
		native: `
namePrefix: shop-eu-
namespace: shop-eu
commonLabels: {team: shop, app.kubernetes.io/instance: shop-eu}
images: [ghcr.io/acme/web=ghcr.io/acme/web:v1.3@` + web13Digest + `]
`,
		want: `Service shop-eu/shop-eu-web labels: app.kubernetes.io/instance=shop-eu,app.kubernetes.io/part-of=shop,team=shop selector: app.kubernetes.io/instance=shop-eu,app=web,team=shop
Deployment shop-eu/shop-eu-web labels: app.kubernetes.io/instance=shop-eu,app.kubernetes.io/part-of=shop,team=shop selector: app.kubernetes.io/instance=shop-eu,app=web,team=shop pod labels: app.kubernetes.io/instance=shop-eu,app=web,team=shop images: init migrate=ghcr.io/acme/migrate:v7@` + migrateDigest + ` app=ghcr.io/acme/web:v1.3@` + web13Digest + `
CronJob shop-eu/shop-eu-report labels: app.kubernetes.io/instance=shop-eu,app.kubernetes.io/part-of=shop,team=shop pod labels: app.kubernetes.io/instance=shop-eu,team=shop images: report=ghcr.io/acme/report@` + reportDigest + `
`,
	}, {
		// The namePrefix parameter wins over the NAME_PREFIX env.
		name: "parameters",
		plugin: `
name: digestpin-v1
env:
- name: NAME_PREFIX
  value: $ARGOCD_APP_NAME-
parameters:
- name: images
  array: [ghcr.io/acme/web=ghcr.io/acme/web:v1.3@` + web13Digest + `]
- name: namePrefix
  string: blue-
- name: namespace
  string: shop-blue
- name: commonLabels
  map: {team: shop, color: blue}
`,
		native: `
namePrefix: blue-
namespace: shop-blue
commonLabels: {team: shop, color: blue}
images: [ghcr.io/acme/web=ghcr.io/acme/web:v1.3@` + web13Digest + `]
`,
		want: `Service shop-blue/blue-web labels: app.kubernetes.io/part-of=shop,color=blue,team=shop selector: app=web,color=blue,team=shop
Deployment shop-blue/blue-web labels: app.kubernetes.io/part-of=shop,color=blue,team=shop selector: app=web,color=blue,team=shop pod labels: app=web,color=blue,team=shop images: init migrate=ghcr.io/acme/migrate:v7@` + migrateDigest + ` app=ghcr.io/acme/web:v1.3@` + web13Digest + `
CronJob shop-blue/blue-report labels: app.kubernetes.io/part-of=shop,color=blue,team=shop pod labels: color=blue,team=shop images: report=ghcr.io/acme/report@` + reportDigest + `
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			app := application{
				name:      "shop-eu",
				namespace: "shop-eu",
				source:    pluginSource("apps/shop/prod", pluginBlock(t, tc.plugin)),
			}
			resp, err := generate(t, checkoutTestdata(t, "shop"), app)
			if err != nil {
				t.Fatalf("Argo CD reports: %v", err)
			}
			got := manifests(t, resp)
			if d := describe(got); d != tc.want {
				t.Errorf("rendered:\n%s\nwant:\n%s", d, tc.want)
			}

			// The same Application with Argo CD's own kustomize source: it
			// runs `kustomize edit` on the checkout, then `kustomize build`.
			kustomizeCLI(t)
			var native v1alpha1.ApplicationSourceKustomize
			if err := yaml.UnmarshalStrict([]byte(tc.native), &native); err != nil {
				t.Fatal(err)
			}
			app.source = v1alpha1.ApplicationSource{Path: "apps/shop/prod", Kustomize: &native}
			resp, err = generate(t, checkoutTestdata(t, "shop"), app)
			if err != nil {
				t.Fatalf("native kustomize source: %v", err)
			}
			sameObjects(t, got, manifests(t, resp))
		})
	}
}

// TestPluginParametersAreJudged: an image set by a parameter is judged
// like any other, and a parameter of the wrong type is an error, each with
// the exact message the Application shows.
func TestPluginParametersAreJudged(t *testing.T) {
	for _, tc := range []struct {
		name, plugin, want string
	}{{
		name: "image without a digest",
		plugin: `
name: digestpin-v1
parameters:
- name: images
  array: [ghcr.io/acme/web=ghcr.io/acme/web:v1.3]
- name: namePrefix
  string: blue-
- name: namespace
  string: shop-blue
`,
		want: generateFailure(1) + `refusing to render: 1 image is not pinned by a sha256 digest.
  - Deployment shop-blue/blue-web, container "app": image "ghcr.io/acme/web:v1.3": no digest (tag "v1.3" can be moved in the registry) (from the Application's images parameter ghcr.io/acme/web=ghcr.io/acme/web:v1.3)
fix: pin each image by digest in Git, for example with ` + "`digestpin promote --image ghcr.io/acme/web:v1.3 --path apps/shop/prod`" + ` in CI, or an images: entry with a digest in the kustomization.`,
	}, {
		name: "string parameter given as an array",
		plugin: `
name: digestpin-v1
parameters:
- name: namePrefix
  array: [blue-]
`,
		want: generateFailure(2) + `digestpin: parameter "namePrefix" must be a string`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			repo := checkoutTestdata(t, "shop")
			resp, err := generate(t, repo, application{
				name:      "shop-blue",
				namespace: "shop-blue",
				source:    pluginSource("apps/shop/prod", pluginBlock(t, tc.plugin)),
			})
			if err == nil {
				t.Fatalf("rendered %d manifests", len(resp.Manifests))
			}
			sameMessage(t, err.Error(), tc.want)
			noTemporaryPaths(t, err.Error(), repo)
		})
	}
}

// pluginBlock parses spec.source.plugin as written in an Application.
func pluginBlock(t *testing.T, text string) v1alpha1.ApplicationSourcePlugin {
	t.Helper()
	var p v1alpha1.ApplicationSourcePlugin
	if err := yaml.UnmarshalStrict([]byte(text), &p); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return p
}
