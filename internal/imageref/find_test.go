package imageref

import (
	"reflect"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func parseNode(t *testing.T, src string) *yaml.Node {
	t.Helper()
	n, err := yaml.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return n.YNode()
}

func TestFindContainersAtAnyDepth(t *testing.T) {
	cronJob := parseNode(t, `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - name: migrate
            image: ghcr.io/acme/migrate:v1
          containers:
          - name: job
            image: ghcr.io/acme/job@sha256:`+hex64+`
          - name: empty
            image: ""
          - name: null-image
            image:
          - name: no-image-field
          ephemeralContainers:
          - name: debug
            image: busybox
`)
	want := []Use{
		{Image: "ghcr.io/acme/migrate:v1", Slot: InitContainer, Container: "migrate", Path: "spec.jobTemplate.spec.template.spec.initContainers[0].image", Line: 12},
		{Image: "ghcr.io/acme/job@sha256:" + hex64, Slot: Container, Container: "job", Path: "spec.jobTemplate.spec.template.spec.containers[0].image", Line: 15},
		{Image: "", Slot: Container, Container: "empty", Path: "spec.jobTemplate.spec.template.spec.containers[1].image", Line: 17},
		{Image: "", Slot: Container, Container: "null-image", Path: "spec.jobTemplate.spec.template.spec.containers[2].image", Line: 19},
		{Image: "busybox", Slot: EphemeralContainer, Container: "debug", Path: "spec.jobTemplate.spec.template.spec.ephemeralContainers[0].image", Line: 23},
	}
	if got := withoutNodes(t, Find(cronJob, nil)); !reflect.DeepEqual(got, want) {
		t.Errorf("Find() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestFindFieldSpecs(t *testing.T) {
	obj := parseNode(t, `
apiVersion: example.com/v1
kind: Runner
metadata: {name: r}
spec:
  runtime:
    image: ghcr.io/acme/runtime:v3
  sidecars:
  - image: ghcr.io/acme/sidecar:v1
  - image: ghcr.io/acme/sidecar:v2
  mirrors: [ghcr.io/acme/m1, ghcr.io/acme/m2]
`)
	specs := []FieldSpec{
		{Kind: "Runner", Path: "spec/runtime/image"},
		{Kind: "Runner", Path: "spec/sidecars[]/image"},
		{Group: "example.com", Path: "spec/mirrors"},
		{Kind: "Other", Path: "spec/runtime/image"},
		{Group: "other.io", Path: "spec/runtime/image"},
		{Kind: "Runner", Path: "spec/missing/image"},
	}
	want := []Use{
		{Image: "ghcr.io/acme/runtime:v3", Slot: Field, Path: "spec.runtime.image", Line: 7},
		{Image: "ghcr.io/acme/sidecar:v1", Slot: Field, Path: "spec.sidecars[0].image", Line: 9},
		{Image: "ghcr.io/acme/sidecar:v2", Slot: Field, Path: "spec.sidecars[1].image", Line: 10},
		{Image: "ghcr.io/acme/m1", Slot: Field, Path: "spec.mirrors[0]", Line: 11},
		{Image: "ghcr.io/acme/m2", Slot: Field, Path: "spec.mirrors[1]", Line: 11},
	}
	if got := withoutNodes(t, Find(obj, specs)); !reflect.DeepEqual(got, want) {
		t.Errorf("Find() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseFieldSpec(t *testing.T) {
	got, err := ParseFieldSpec(" Workflow:spec/templates[]/container/image ")
	if want := (FieldSpec{Kind: "Workflow", Path: "spec/templates[]/container/image"}); err != nil || got != want {
		t.Errorf("ParseFieldSpec = %+v, %v; want %+v", got, err, want)
	}
	for in, want := range map[string]string{
		"spec/image":        `image field "spec/image" is not of the form Kind:path/to/image`,
		"Workflow:":         `image field "Workflow:" is not of the form Kind:path/to/image`,
		"Workflow:spec//im": `image field "Workflow:spec//im" has an empty path segment`,
	} {
		if _, err := ParseFieldSpec(in); err == nil || err.Error() != want {
			t.Errorf("ParseFieldSpec(%q) error = %v, want %q", in, err, want)
		}
	}
}

// withoutNodes checks that each use's node holds its image, then drops the
// pointers so uses compare by value.
func withoutNodes(t *testing.T, uses []Use) []Use {
	t.Helper()
	for i := range uses {
		if uses[i].Node == nil || imageValue(uses[i].Node) != uses[i].Image {
			t.Errorf("use %d: node does not hold image %q", i, uses[i].Image)
		}
		uses[i].Node = nil
	}
	return uses
}

func TestFindFollowsAliases(t *testing.T) {
	obj := parseNode(t, `
apiVersion: v1
kind: List
items:
- kind: Pod
  metadata: {name: a}
  spec:
    containers: &shared
    - name: app
      image: &img ghcr.io/acme/app:v1
- kind: Pod
  metadata: {name: b}
  spec:
    containers: *shared
    initContainers:
    - name: init
      image: *img
`)
	uses := Find(obj, nil)
	want := []Use{
		{Image: "ghcr.io/acme/app:v1", Slot: Container, Container: "app", Path: "items[0].spec.containers[0].image", Line: 10},
		{Image: "ghcr.io/acme/app:v1", Slot: Container, Container: "app", Path: "items[1].spec.containers[0].image", Line: 10},
		{Image: "ghcr.io/acme/app:v1", Slot: InitContainer, Container: "init", Path: "items[1].spec.initContainers[0].image", Line: 10},
	}
	if uses[0].Node != uses[2].Node {
		t.Error("an aliased image does not resolve to its anchored node")
	}
	if got := withoutNodes(t, uses); !reflect.DeepEqual(got, want) {
		t.Errorf("Find() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestFindImageVolumesAtAnyDepth(t *testing.T) {
	obj := parseNode(t, `
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  template:
    spec:
      containers:
      - name: app
        image: ghcr.io/acme/app:v1
      volumes:
      - name: config
        configMap: {name: c}
      - name: models
        image:
          reference: ghcr.io/acme/models:v3
          pullPolicy: IfNotPresent
      - name: aliased
        image: {reference: &m ghcr.io/acme/more@sha256:`+hex64+`}
      - name: no-reference
        image: {pullPolicy: Always}
      - name: scalar-image-is-not-an-image-volume
        image: ghcr.io/acme/other:v1
  workloads:
  - volumes:
    - name: deep
      image: {reference: *m}
`)
	got := Find(obj, nil)
	want := []Use{
		{Image: "ghcr.io/acme/app:v1", Slot: Container, Container: "app", Path: "spec.template.spec.containers[0].image", Line: 10},
		{Image: "ghcr.io/acme/models:v3", Slot: Volume, Container: "models", Path: "spec.template.spec.volumes[1].image.reference", Line: 16},
		{Image: "ghcr.io/acme/more@sha256:" + hex64, Slot: Volume, Container: "aliased", Path: "spec.template.spec.volumes[2].image.reference", Line: 19},
		{Image: "", Slot: Volume, Container: "no-reference", Path: "spec.template.spec.volumes[3].image.reference", Line: 21},
		{Image: "ghcr.io/acme/more@sha256:" + hex64, Slot: Volume, Container: "deep", Path: "spec.workloads[0].volumes[0].image.reference", Line: 19},
	}
	if got[3].Node != nil {
		t.Errorf("a volume without a reference has node %v", got[3].Node)
	}
	if got[2].Node != got[4].Node {
		t.Error("the alias does not lead to the anchored node")
	}
	for i := range got {
		got[i].Node = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Find() =\n%+v\nwant\n%+v", got, want)
	}
}
