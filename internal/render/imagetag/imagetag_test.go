package imagetag

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// TestFewImages checks that kustomize applies fewer than three entries
// itself by default.
func TestFewImages(t *testing.T) {
	two := "images:\n- name: a\n  newTag: \"1\"\n- name: b\n  newTag: \"1\"\n"
	if plan, reason := NewPlan(Input{Root: []byte(two)}); plan != nil || reason != "fewer than 3 images" {
		t.Errorf("two entries: plan %v, reason %q", plan != nil, reason)
	}
	if plan, reason := NewPlan(Input{Root: []byte(two + "- name: c\n  newTag: \"1\"\n")}); plan == nil {
		t.Errorf("three entries: no plan: %s", reason)
	}
}

// TestNewPlanFallbacks checks the conditions that keep the fast path
// off, without rendering.
func TestNewPlanFallbacks(t *testing.T) {
	images := "images:\n- name: nginx\n  newTag: \"1\"\n"
	tests := []struct {
		name   string
		root   string
		in     Input
		reason string
	}{
		{"no images", "resources: [a.yaml]\n", Input{}, "fewer than"},
		{"replacements", images + "replacements:\n- path: r.yaml\n", Input{}, "replacements"},
		{"transformers", images + "transformers: [t.yaml]\n", Input{}, "transformers"},
		{"validators", images + "validators: [v.yaml]\n", Input{}, "validators"},
		{"transformer annotations", images + "buildMetadata: [transformerAnnotations]\n", Input{}, "transformerAnnotations"},
		{"vars", images, Input{HasVars: true}, "vars"},
		{"crds", images, Input{HasCRDs: true}, "crds"},
		{"plugin configuration", images, Input{Configurations: []ConfigFile{{Data: []byte("images: []\n"), AsPlugin: true}}}, "plugin"},
		{"metadata path", images, Input{Configurations: []ConfigFile{{Data: []byte("images:\n- path: metadata/name\n")}}}, "starts at metadata"},
		{"data path", images, Input{Configurations: []ConfigFile{{Data: []byte("images:\n- path: data/image\n  kind: ConfigMap\n")}}}, "starts at data"},
		{"same path, other kind", images, Input{Configurations: []ConfigFile{{Data: []byte("images:\n- path: spec/containers[]/image\n  kind: Pod\n  create: true\n")}}}, "select different kinds"},
		{"image field named like a name reference", images, Input{Configurations: []ConfigFile{{Data: []byte("images:\n- path: spec/secretName\n")}}}, "name reference"},
		{"name reference named image", images, Input{Configurations: []ConfigFile{{Data: []byte("nameReference:\n- kind: ConfigMap\n  fieldSpecs:\n  - path: spec/image\n")}}}, "name reference"},
		{"merge key", "base: &b\n  " + strings.ReplaceAll(images, "\n", "\n  ") + "\n<<: *b\n", Input{}, "root"},
	}
	for _, tt := range tests {
		tt.in.Root, tt.in.MinImages = []byte(tt.root), 1
		plan, reason := NewPlan(tt.in)
		if plan != nil || !strings.Contains(reason, tt.reason) {
			t.Errorf("%s: plan %v, reason %q; want none, because of %q", tt.name, plan != nil, reason, tt.reason)
		}
	}
	plan, reason := NewPlan(Input{
		Configurations: []ConfigFile{{Data: []byte("images:\n- kind: Thing\n  path: spec/image\n")}},
		Root:           []byte("# comment\nresources: [a.yaml]\nimages:\n- name: nginx\n  newTag: \"1\"\nimageTags:\n- name: b\n  digest: " + digestA + "\n"),
		MinImages:      1,
	})
	if plan == nil {
		t.Fatalf("no plan: %s", reason)
	}
	if want := []types.Image{{Name: "nginx", NewTag: "1"}, {Name: "b", Digest: digestA}}; !slices.Equal(plan.images, want) {
		t.Errorf("images %+v, want %+v", plan.images, want)
	}
	if len(plan.fieldSpecs) != len(defaultImageFieldSpecs)+1 {
		t.Errorf("field specs %v", plan.fieldSpecs)
	}
	if want := "# comment\nresources: [a.yaml]\nimages:\n- name: )\n"; string(plan.ProbeRoot()) != want {
		t.Errorf("edited root:\n%s\nwant\n%s", plan.ProbeRoot(), want)
	}
}

// TestApplySharedField checks that a matched field two objects share (so
// that kustomize could see it through an object the render later drops)
// makes the pass fall back, and leaves the objects untouched.
func TestApplySharedField(t *testing.T) {
	rf := resmap.NewFactory(provider.NewDefaultDepProvider().GetResourceFactory())
	m, err := rf.NewResMapFromBytes([]byte(`apiVersion: v1
kind: Pod
metadata:
  name: a
spec:
  containers:
  - image: nginx:1
---
apiVersion: v1
kind: Pod
metadata:
  name: b
spec:
  containers:
  - image: redis:1
`))
	if err != nil {
		t.Fatal(err)
	}
	plan := &Plan{images: []types.Image{{Name: "nginx", NewTag: "2"}}, fieldSpecs: defaultImageFieldSpecs}
	before, _ := m.AsYaml()
	a, b := m.Resources()[0], m.Resources()[1]
	image, err := a.Pipe(yaml.Lookup("spec", "containers", "0", "image"))
	if err != nil || image == nil {
		t.Fatal(image, err)
	}
	container, err := b.Pipe(yaml.Lookup("spec", "containers", "0"))
	if err != nil || container == nil {
		t.Fatal(container, err)
	}
	container.YNode().Content[1] = image.YNode() // image: is its only field

	shared, _ := m.AsYaml()
	if bytes.Equal(before, shared) {
		t.Fatal("the field is not shared")
	}
	if err := plan.Apply(m); !errors.As(err, new(*DeclinedError)) {
		t.Fatalf("Apply = %v, want a *DeclinedError", err)
	}
	if after, _ := m.AsYaml(); !bytes.Equal(after, shared) {
		t.Errorf("Apply changed the objects:\n%s", after)
	}
	if err := plan.Apply(m.DeepCopy()); err != nil {
		t.Errorf("a copy shares nothing, yet Apply = %v", err)
	}
}

// TestConfiguredImages checks that skipping the round trip for printable
// ASCII changes nothing: every printable ASCII string survives it.
func TestConfiguredImages(t *testing.T) {
	var images []types.Image
	for c := byte(0x20); c <= 0x7e; c++ {
		s := string([]byte{c})
		for _, v := range []string{s, s + s, " " + s, s + " ", "a" + s + "b", s + "1", "1" + s, "- " + s, s + ": x", "#" + s, "0x" + s} {
			images = append(images, types.Image{Name: v, NewName: v, NewTag: v, Digest: v, TagSuffix: v})
		}
	}
	for _, v := range []string{"", "~", "null", "Null", "true", "yes", "no", "on", "off", "y", "n", "1", "1.0", "1e3", "0o7", "0x1f", ".inf", "-.Inf", ".nan",
		"2001-12-14", "12:30:45", "<<", "=", "!", "&a", "*a", "|", ">", "%x", "@x", "`x", "'", "\"", "[]", "{}", "a: b", "a #b", " ", "  x  ",
		strings.Repeat("word ", 40), strings.Repeat("a  b ", 30) + " ", strings.Repeat("x", 300), strings.Repeat("'\" ", 50)} {
		images = append(images, types.Image{Name: v, NewName: v, NewTag: v, Digest: v, TagSuffix: v})
	}
	y, err := sigsyaml.Marshal(struct{ ImageTag []types.Image }{images})
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		ImageTag []types.Image `json:"imageTag"`
	}
	if err := sigsyaml.Unmarshal(y, &p); err != nil {
		t.Fatal(err)
	}
	for i := range images {
		if p.ImageTag[i] != images[i] {
			t.Errorf("%+v became %+v", images[i], p.ImageTag[i])
		}
	}
	odd := []types.Image{{Name: "a\xffb", NewTag: "é"}, {Name: "plain"}, {Name: "tab\there"}}
	got, err := configuredImages(odd)
	if err != nil {
		t.Fatal(err)
	}
	if want := (types.Image{Name: "a\uFFFDb", NewTag: "é"}); got[0] != want || got[1] != odd[1] || got[2] != odd[2] {
		t.Errorf("configuredImages(%q) = %q", odd, got)
	}
}
