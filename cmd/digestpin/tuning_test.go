package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/testutil"
)

// DIGESTPIN_DEBUG=1 says whether the images fast path ran and, if not,
// why; DIGESTPIN_FAST_IMAGES=0 turns it off. Neither changes the output.
func TestGenerateDebugAndFastImagesSwitch(t *testing.T) {
	files := map[string]string{}
	for name, content := range testutil.Shop {
		files[name] = content
	}
	files["apps/shop/replaced/kustomization.yaml"] = strings.Replace(testutil.Shop["apps/shop/prod/kustomization.yaml"], "resources: [../base]\n",
		"resources: [../base]\nreplacements:\n- source: {kind: Deployment, name: web, fieldPath: metadata.name}\n  targets:\n  - select: {kind: Deployment, name: web}\n    fieldPaths: [metadata.labels.app]\n    options: {create: true}\n", 1)
	root := testutil.WriteTree(t, files)
	prod := filepath.Join(root, "apps/shop/prod")
	tests := []struct {
		name, dir string
		env       []string
		stderr    string
	}{
		{"debug", prod, []string{"DIGESTPIN_DEBUG=1"},
			"digestpin: debug: images fast path: applied the root's images: in one pass\n"},
		{"debug, fast path off", prod, []string{"DIGESTPIN_DEBUG=1", "DIGESTPIN_FAST_IMAGES=0"},
			"digestpin: debug: images fast path: declined: turned off\n"},
		{"debug, fast path explicitly on", prod, []string{"DIGESTPIN_DEBUG=1", "DIGESTPIN_FAST_IMAGES=1"},
			"digestpin: debug: images fast path: applied the root's images: in one pass\n"},
		{"fast path off, no debug", prod, []string{"DIGESTPIN_FAST_IMAGES=0"}, ""},
		{"debug off", prod, []string{"DIGESTPIN_DEBUG=0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := digestpin(t, tt.dir, argoEnv("apps/shop/prod", tt.env...), "generate")
			r.expect(t, 0, prodYAML, tt.stderr)
		})
	}

	r := digestpin(t, filepath.Join(root, "apps/shop/replaced"), argoEnv("apps/shop/replaced", "DIGESTPIN_DEBUG=1"), "generate")
	if r.code != 0 || r.stderr != "digestpin: debug: images fast path: declined: the root has replacements\n" {
		t.Errorf("replacements: exit status %d, stderr %q", r.code, r.stderr)
	}

	// A refusal renders once more to find origins; only the render whose
	// output counts speaks.
	r = digestpin(t, filepath.Join(root, "apps/shop/staging"), argoEnv("apps/shop/staging", "DIGESTPIN_DEBUG=1"), "generate")
	plain := digestpin(t, filepath.Join(root, "apps/shop/staging"), argoEnv("apps/shop/staging"), "generate")
	r.expect(t, 1, "", "digestpin: debug: images fast path: declined: fewer than 3 images\n"+plain.stderr)
}

func TestTuningMistakesStopAtStartUp(t *testing.T) {
	root := testutil.WriteTree(t, testutil.Shop)
	prod := filepath.Join(root, "apps/shop/prod")
	r := digestpin(t, prod, argoEnv("apps/shop/prod", "DIGESTPIN_FAST_IMAGES=off"), "generate")
	r.expect(t, 2, "", "digestpin: sidecar configuration: DIGESTPIN_FAST_IMAGES is \"off\"; use 0 or 1\n")
	r = digestpin(t, prod, argoEnv("apps/shop/prod", "DIGESTPIN_DEBUG=yes"), "generate")
	r.expect(t, 2, "", "digestpin: sidecar configuration: DIGESTPIN_DEBUG is \"yes\"; use 0 or 1\n")
	r = digestpin(t, root, []string{"DIGESTPIN_DEBUG=2"}, "check", "apps/shop/prod")
	r.expect(t, 2, "", "configuration: DIGESTPIN_DEBUG is \"2\"; use 0 or 1\n")
	r = digestpin(t, root, []string{"DIGESTPIN_DEBUG=1", "DIGESTPIN_FAST_IMAGES=0"}, "check", "apps/shop/prod")
	r.expect(t, 0, "ok    apps/shop/prod\n", "digestpin: debug: images fast path: declined: turned off\n")
}
