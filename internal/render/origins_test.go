package render

import (
	"os"
	"path/filepath"
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
			origins, err := Origins(Options{Root: root}, result, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"base/deployment.yaml"}; !slices.Equal(tracked.Origins, want) || !slices.Equal(origins, want) {
				t.Errorf("origins: TrackOrigins %q, Origins %q, want %q", tracked.Origins, origins, want)
			}
		})
	}
}

func TestMarkDocuments(t *testing.T) {
	const m = "# n 1\n"
	tests := []struct{ in, want string }{
		{"apiVersion: v1\nkind: A\n", m + "apiVersion: v1\nkind: A\n"},
		{"a: 1\n---\nb: 2\n---\n", m + "a: 1\n---\n" + m + "b: 2\n---\n"},
		{"---\nkind: A\n--- \r\n\"kind\": B\n", "---\n" + m + "kind: A\n--- \r\n" + m + "\"kind\": B\n"},
		{"# theirs\nkind: A\n---\n\nkind: B\n", "# theirs\nkind: A\n---\n\nkind: B\n"},
		{`{"kind": "A"}`, `{"kind": "A"}`},
		{"- a\n- b\n", "- a\n- b\n"},
		{"kind: A\n---", m + "kind: A\n---"},
		{"kind: A\n--- |\n  x\n", m + "kind: A\n--- |\n  x\n"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(markDocuments([]byte(tt.in), m)); got != tt.want {
			t.Errorf("markDocuments(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A render's origin marks name each object's file without a second
// render, where they can; where they cannot, Origins renders again.
func TestOriginMarks(t *testing.T) {
	replicas := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n"
	service := "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
	tests := []struct {
		name  string
		files map[string]string
		// marked are the origins the marks name, nil when none are used.
		marked []string
	}{
		{"a base and an overlay", map[string]string{
			"kustomization.yaml": "resources: [base, service.yaml]\nnamePrefix: p-\npatches:\n- path: replicas.yaml\n",
			"service.yaml":       service, "replicas.yaml": replicas,
		}, []string{"service.yaml", "base/deployment.yaml"}},
		{"a generated ConfigMap has no mark", map[string]string{
			"kustomization.yaml": "resources: [base]\nconfigMapGenerator:\n- name: c\n  literals: [a=b]\n",
		}, []string{"", "base/deployment.yaml"}},
		{"a JSON patch rebuilds the object", map[string]string{
			"kustomization.yaml": "resources: [base, service.yaml]\npatches:\n- target: {kind: Deployment}\n  patch: |-\n    - op: add\n      path: /spec/replicas\n      value: 2\n",
			"service.yaml":       service,
		}, []string{"service.yaml", ""}},
		{"a file that is also a patch is not marked", map[string]string{
			"kustomization.yaml": "resources: [base, service.yaml]\npatches:\n- path: service.yaml\n",
			"service.yaml":       service,
		}, []string{"", "base/deployment.yaml"}},
		{"needsHashSuffix anywhere: no marks", map[string]string{
			"kustomization.yaml": "resources: [base, service.yaml]\n",
			"service.yaml":       "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  annotations:\n    internal.config.kubernetes.io/needsHashSuffix: enabled\n",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"base/kustomization.yaml": "resources: [deployment.yaml]\n", "base/deployment.yaml": deployment}
			for k, v := range tt.files {
				files[k] = v
			}
			root := testutil.WriteTree(t, files)
			result, err := Render(Options{Root: root})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(result.marked, tt.marked) || (result.marked == nil) != (tt.marked == nil) {
				t.Errorf("marked origins %q, want %q", result.marked, tt.marked)
			}
			traced, err := Render(Options{Root: root, TrackOrigins: true})
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.marked {
				if want != "" && traced.Origins[i] != want {
					t.Errorf("object %d: marked %q, kustomize's trace %q", i, want, traced.Origins[i])
				}
			}
			plain, _ := result.YAML()
			if want := kustomizeBuild(t, testutil.Kustomize(t, KustomizeVersion), root, ".").yaml; string(plain) != string(want) {
				t.Errorf("output =\n%s\nwant kustomize build's\n%s", plain, want)
			}
		})
	}
	// Through a symlink, marks would name the real file, kustomize the path
	// as written: they are not used.
	root := testutil.WriteTree(t, map[string]string{"real/kustomization.yaml": "resources: [deployment.yaml]\n", "real/deployment.yaml": deployment,
		"kustomization.yaml": "resources: [base]\n"})
	if err := os.Symlink("real", filepath.Join(root, "base")); err != nil {
		t.Fatal(err)
	}
	result, err := Render(Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if result.marked != nil {
		t.Errorf("marks used through a symlink: %q", result.marked)
	}
}
