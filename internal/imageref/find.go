package imageref

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Slot says what kind of field holds an image.
type Slot string

const (
	Container          Slot = "container"
	InitContainer      Slot = "init container"
	EphemeralContainer Slot = "ephemeral container"
	// Volume is an image volume (the Kubernetes ImageVolume source,
	// volumes[].image.reference): the kubelet pulls it like a container's
	// image.
	Volume Slot = "volume"
	// Field is an image field declared by a FieldSpec rather than found in
	// a containers list.
	Field Slot = "field"
)

// containerLists maps the pod-spec list keys to the slot they hold. They are
// matched at any depth, so CronJobs, Argo Rollouts, Knative Services and any
// CRD that embeds a pod spec are covered without knowing their schema.
var containerLists = map[string]Slot{
	"containers":          Container,
	"initContainers":      InitContainer,
	"ephemeralContainers": EphemeralContainer,
}

// FieldSpec declares an image field outside the containers lists, in
// kustomize's fieldSpec form: "spec/runtime/image", "spec/images[]".
type FieldSpec struct {
	// Group restricts the spec to one API group; "" matches any group.
	Group string
	// Kind restricts the spec to one kind; "" matches any kind.
	Kind string
	// Path is a slash-separated path; a segment ending in "[]" walks every
	// item of a list.
	Path string
}

// ParseFieldSpec parses the "Kind:path" form operators write in
// DIGESTPIN_IMAGE_FIELDS, for example "Workflow:spec/templates[]/container/image".
func ParseFieldSpec(s string) (FieldSpec, error) {
	kind, path, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || kind == "" || path == "" || strings.ContainsAny(kind, " /") {
		return FieldSpec{}, fmt.Errorf("image field %q is not of the form Kind:path/to/image", s)
	}
	for _, seg := range strings.Split(path, "/") {
		if strings.TrimSuffix(seg, "[]") == "" {
			return FieldSpec{}, fmt.Errorf("image field %q has an empty path segment", s)
		}
	}
	return FieldSpec{Kind: kind, Path: path}, nil
}

func (f FieldSpec) String() string {
	if f.Kind == "" {
		return f.Path
	}
	return f.Kind + ":" + f.Path
}

// Use is one image reference found in an object.
type Use struct {
	Image string
	Slot  Slot
	// Container is the container's name, or the volume's for a Volume
	// slot; "" for Field slots.
	Container string
	// Path locates the field, e.g. "spec.template.spec.initContainers[0].image".
	Path string
	// Line is the field's line in the parsed text, 0 when unknown.
	Line int
	// Node holds the image value; for a value written as an alias, the
	// anchored node it refers to. Editors change the image through it.
	Node *yaml.Node
}

// Find returns every image in obj: the image of each item of a containers,
// initContainers or ephemeralContainers list and the image.reference of each
// item of a volumes list, at any depth, then every field named by specs
// that match obj's kind. A field that is present but empty is returned too,
// so policy can refuse it; so is an image volume without a reference.
func Find(obj *yaml.Node, specs []FieldSpec) []Use {
	if obj.Kind == yaml.DocumentNode && len(obj.Content) > 0 {
		obj = obj.Content[0]
	}
	var uses []Use
	walkContainers(obj, "", &uses)
	group, kind := groupKind(obj)
	for _, spec := range specs {
		if (spec.Kind != "" && spec.Kind != kind) || (spec.Group != "" && spec.Group != group) {
			continue
		}
		walkFieldSpec(obj, strings.Split(spec.Path, "/"), "", &uses)
	}
	return uses
}

// deref follows an alias to the node it names, as a YAML reader would.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func walkContainers(n *yaml.Node, path string, uses *[]Use) {
	n = deref(n)
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i].Value, deref(n.Content[i+1])
			if value == nil {
				continue
			}
			childPath := join(path, key)
			if slot, ok := containerLists[key]; ok && value.Kind == yaml.SequenceNode {
				for j, item := range value.Content {
					if image := deref(mapValue(deref(item), "image")); image != nil {
						*uses = append(*uses, Use{
							Image:     imageValue(image),
							Slot:      slot,
							Container: scalar(mapValue(item, "name")),
							Path:      fmt.Sprintf("%s[%d].image", childPath, j),
							Line:      image.Line,
							Node:      image,
						})
					}
				}
			}
			if key == "volumes" && value.Kind == yaml.SequenceNode {
				for j, item := range value.Content {
					source := deref(mapValue(deref(item), "image"))
					if source == nil || source.Kind != yaml.MappingNode {
						continue // not an image volume
					}
					use := Use{
						Slot:      Volume,
						Container: scalar(deref(mapValue(deref(item), "name"))),
						Path:      fmt.Sprintf("%s[%d].image.reference", childPath, j),
						Line:      source.Line,
					}
					if ref := deref(mapValue(source, "reference")); ref != nil {
						use.Image, use.Line, use.Node = imageValue(ref), ref.Line, ref
					}
					*uses = append(*uses, use)
				}
			}
			walkContainers(value, childPath, uses)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			walkContainers(item, fmt.Sprintf("%s[%d]", path, i), uses)
		}
	}
}

func walkFieldSpec(n *yaml.Node, segments []string, path string, uses *[]Use) {
	n = deref(n)
	if n == nil {
		return
	}
	if len(segments) == 0 {
		switch n.Kind {
		case yaml.ScalarNode:
			*uses = append(*uses, Use{Image: imageValue(n), Slot: Field, Path: path, Line: n.Line, Node: n})
		case yaml.SequenceNode:
			// kustomize also accepts a path that ends at a list of
			// scalars or of objects carrying an image.
			for i, item := range n.Content {
				if item = deref(item); item.Kind == yaml.MappingNode {
					if image := deref(mapValue(item, "image")); image != nil {
						*uses = append(*uses, Use{Image: imageValue(image), Slot: Field, Path: fmt.Sprintf("%s[%d].image", path, i), Line: image.Line, Node: image})
					}
				} else {
					walkFieldSpec(item, nil, fmt.Sprintf("%s[%d]", path, i), uses)
				}
			}
		}
		return
	}
	seg, isList := strings.CutSuffix(segments[0], "[]")
	child := mapValue(n, seg)
	if child == nil {
		return
	}
	childPath := join(path, seg)
	if !isList {
		walkFieldSpec(child, segments[1:], childPath, uses)
		return
	}
	if child.Kind != yaml.SequenceNode {
		return
	}
	for i, item := range child.Content {
		walkFieldSpec(item, segments[1:], fmt.Sprintf("%s[%d]", childPath, i), uses)
	}
}

// imageValue reads `image: null` and `image:` as empty, which policy refuses.
func imageValue(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

func groupKind(obj *yaml.Node) (group, kind string) {
	apiVersion := scalar(mapValue(obj, "apiVersion"))
	if g, _, ok := strings.Cut(apiVersion, "/"); ok {
		group = g
	}
	return group, scalar(mapValue(obj, "kind"))
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
