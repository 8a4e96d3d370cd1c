package policy

import (
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func TestRefusalMessage(t *testing.T) {
	p := mustPolicy(t, map[string]string{EnvAllowedRegistries: "ghcr.io/acme"})
	obj, err := yaml.Parse(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      initContainers: [{name: migrate, image: ghcr.io/acme/migrate}]
      containers:
      - {name: app, image: "ghcr.io/acme/web:v1.2"}
      - {name: proxy, image: "quay.io/other/proxy` + digest + `"}
      - {name: ok, image: "ghcr.io/acme/ok` + digest + `"}
`)
	if err != nil {
		t.Fatal(err)
	}
	violations := p.Check(obj.YNode(), nil)
	for i := range violations {
		violations[i].Source = "apps/shop/deployment.yaml"
	}
	refusal := &Refusal{Violations: violations, AppPath: "apps/shop", Allowed: p.AllowedRegistries}
	want := `refusing to render: 3 images are not pinned by a sha256 digest or from a registry that is not allowed.
  - Deployment shop/web, init container "migrate": image "ghcr.io/acme/migrate": no digest and no tag (pulls whatever :latest points to) (from apps/shop/deployment.yaml)
  - Deployment shop/web, container "app": image "ghcr.io/acme/web:v1.2": no digest (tag "v1.2" can be moved in the registry) (from apps/shop/deployment.yaml)
  - Deployment shop/web, container "proxy": image "quay.io/other/proxy` + digest + `": repository quay.io/other/proxy is not in the allowed registries (from apps/shop/deployment.yaml)
fix: pin each image by digest in Git, for example with ` + "`digestpin promote --image ghcr.io/acme/web:v1.2 --path apps/shop`" + ` in CI, or an images: entry with a digest in the kustomization; images must come from an allowed registry (ghcr.io/acme).`
	if got := refusal.Error(); got != want {
		t.Errorf("refusal =\n%s\nwant\n%s", got, want)
	}
}

func TestRefusalIsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("kind: Pod\nmetadata: {name: many}\nspec:\n  containers:\n")
	for i := 0; i < 25; i++ {
		fmt.Fprintf(&b, "  - {name: c%d, image: app%d}\n", i, i)
	}
	obj, err := yaml.Parse(b.String())
	if err != nil {
		t.Fatal(err)
	}
	msg := (&Refusal{Violations: Policy{}.Check(obj.YNode(), nil)}).Error()
	lines := strings.Split(msg, "\n")
	if len(lines) != 1+MaxReportLines+1+1 {
		t.Fatalf("refusal has %d lines, want %d:\n%s", len(lines), MaxReportLines+3, msg)
	}
	if lines[0] != "refusing to render: 25 images are not pinned by a sha256 digest." {
		t.Errorf("summary = %q", lines[0])
	}
	if lines[20] != `  - Pod many, container "c19": image "app19": no digest and no tag (pulls whatever :latest points to)` {
		t.Errorf("last listed = %q", lines[20])
	}
	if lines[21] != "  ... and 5 more" {
		t.Errorf("cap line = %q", lines[21])
	}
	if !strings.HasPrefix(lines[22], "fix: pin each image by digest in Git") || !strings.Contains(lines[22], "--path <app path>") {
		t.Errorf("fix line = %q", lines[22])
	}
}
