package render

import (
	"slices"
	"testing"

	"github.com/digestpin/digestpin/internal/testutil"
)

// Tracing origins never changes the output, even where the trace would
// show (a patch copying annotations): the output comes from a plain run
// and only the origins from a traced one.
func TestTrackingOriginsLeavesTheOutputAlone(t *testing.T) {
	base := map[string]string{"base/kustomization.yaml": "resources: [deployment.yaml]\n", "base/deployment.yaml": deployment}
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"no patches", map[string]string{"kustomization.yaml": "resources: [base]\nnamePrefix: p-\n"}},
		{"a replicas patch", map[string]string{"kustomization.yaml": "resources: [base]\npatches:\n- path: replicas.yaml\n",
			"replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n"}},
		{"a JSON patch copying the annotations", map[string]string{"kustomization.yaml": "resources: [base]\npatches:\n- target: {kind: Deployment}\n  patch: |-\n    - op: copy\n      from: /metadata/annotations\n      path: /spec/template/metadata/annotations\n"}},
		{"a JSON patch file adding an annotation", map[string]string{"kustomization.yaml": "resources: [base]\npatchesJson6902:\n- target: {group: apps, version: v1, kind: Deployment, name: web}\n  path: p.yaml\n",
			"p.yaml": "- op: add\n  path: /metadata/Annotations\n  value: {x: y}\n"}},
		{"a target selected by annotation", map[string]string{"kustomization.yaml": "resources: [base]\npatches:\n- target: {annotationSelector: a=b}\n  path: replicas.yaml\n",
			"replicas.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n"}},
		{"replacements in a base", map[string]string{"kustomization.yaml": "resources: [base2]\n",
			"base2/kustomization.yaml": "resources: [../base]\nreplacements:\n- source: {kind: Deployment, fieldPath: metadata.name}\n  targets:\n  - select: {kind: Deployment}\n    fieldPaths: [metadata.labels.x]\n    options: {create: true}\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range base {
				files[k] = v
			}
			for k, v := range tt.files {
				files[k] = v
			}
			root := testutil.WriteTree(t, files)
			plain := renderYAML(t, Options{Root: root})
			tracked, err := Render(Options{Root: root, TrackOrigins: true})
			if err != nil {
				t.Fatal(err)
			}
			out, err := tracked.YAML()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != plain {
				t.Errorf("TrackOrigins output =\n%s\nwant the plain render's\n%s", out, plain)
			}
			result, err := Render(Options{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			origins, err := Origins(Options{Root: root}, result)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"base/deployment.yaml"}; !slices.Equal(tracked.Origins, want) || !slices.Equal(origins, want) {
				t.Errorf("origins: TrackOrigins %q, Origins %q, want %q", tracked.Origins, origins, want)
			}
		})
	}
}
