package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/testutil"
)

// The pattern forms operators write, through the sidecar's environment.
func TestGeneratePatternForms(t *testing.T) {
	root := testutil.WriteTree(t, testutil.Shop)
	prod := filepath.Join(root, "apps/shop/prod")
	staging := filepath.Join(root, "apps/shop/staging")

	for _, allowed := range []string{"*", "*/*", "ghcr.io", "ghcr.io/*", "ghcr.io/acme", "*.io/acme/*"} {
		r := digestpin(t, prod, argoEnv("apps/shop/prod", "DIGESTPIN_ALLOWED_REGISTRIES="+allowed), "generate")
		r.expect(t, 0, prodYAML, "")
	}
	for _, exempt := range []string{"*", "*/*", "ghcr.io/acme/*", "*.io"} {
		r := digestpin(t, staging, argoEnv("apps/shop/staging", "DIGESTPIN_EXEMPT_IMAGES="+exempt), "generate")
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "image: ghcr.io/acme/web:v1.2\n") {
			t.Errorf("DIGESTPIN_EXEMPT_IMAGES=%s: exit %d, stderr %q", exempt, r.code, r.stderr)
		}
	}
	// "*" in the host stays in the host: a repository named like an allowed
	// host on another registry is refused.
	evil := testutil.WriteTree(t, map[string]string{
		"app/kustomization.yaml": "resources: [pod.yaml]\n",
		"app/pod.yaml":           "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: evil.io/x.example.com/app@" + digest + "\n",
	})
	r := digestpin(t, filepath.Join(evil, "app"), argoEnv("app", "DIGESTPIN_ALLOWED_REGISTRIES=*.example.com/*"), "generate")
	r.expect(t, 1, "", `refusing to render: 1 image is from a registry that is not allowed.
  - Pod p, container "c": image "evil.io/x.example.com/app@`+digest+`": repository evil.io/x.example.com/app is not in the allowed registries (from app/pod.yaml)
fix: pin each image by digest in Git, for example with `+"`digestpin promote --image <image>:<tag> --path app`"+` in CI, or an images: entry with a digest in the kustomization; images must come from an allowed registry (*.example.com/*).
`)
}

// A pattern mistake stops generate and check at start-up, naming the
// variable, before anything is read.
func TestPatternMistakesStopAtStartUp(t *testing.T) {
	root := testutil.WriteTree(t, testutil.Shop)
	prod := filepath.Join(root, "apps/shop/prod")
	tests := []struct{ env, want string }{
		{"DIGESTPIN_ALLOWED_REGISTRIES=ghcr.io/acme/*,ng*", `DIGESTPIN_ALLOWED_REGISTRIES: "ng*" is ambiguous: a glob without "/" is "*" (every image) or names registries ("*.example.com"); for Docker Hub write "docker.io/library/ng*"`},
		{"DIGESTPIN_EXEMPT_IMAGES=nginx:1.*", `DIGESTPIN_EXEMPT_IMAGES: "nginx:1.*": a tag cannot be a glob; list each tag, or exempt the repository`},
		{"DIGESTPIN_ALLOWED_REGISTRIES=ghcr.io//acme", `DIGESTPIN_ALLOWED_REGISTRIES: "ghcr.io//acme" has an empty path segment, so it could never match`},
	}
	for _, tt := range tests {
		r := digestpin(t, prod, argoEnv("apps/shop/prod", tt.env), "generate")
		r.expect(t, 2, "", "digestpin: sidecar configuration: "+tt.want+"\n")
		r = digestpin(t, root, []string{tt.env}, "check", "--root", root, "apps")
		r.expect(t, 2, "", "configuration: "+tt.want+"\n")
	}
}
