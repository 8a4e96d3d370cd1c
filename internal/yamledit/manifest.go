package yamledit

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/digestpin/digestpin/internal/imageref"
)

// PinManifestImages rewrites every container image of repository repo in a
// YAML stream (several documents separated by ---) to the given pinned
// reference, returning how many image fields it changed (and how many
// already matched).
//
// A container image is the image field of an item of a containers,
// initContainers or ephemeralContainers list at any depth. It belongs to
// repo when it names the same repository once tag and digest are dropped;
// Docker Hub spellings ("nginx", "docker.io/library/nginx", ...) are one
// repository. pinned is written exactly as given, quoted the way the old
// value was. When nothing changes, src itself is returned.
func PinManifestImages(src []byte, repo string, pinned string) (out []byte, changed int, matched int, err error) {
	if err := checkText("pinned image", pinned); err != nil {
		return nil, 0, 0, fmt.Errorf("manifest: %w", err)
	}
	want, ok := repository(repo)
	if !ok {
		return nil, 0, 0, fmt.Errorf("manifest: %q is not a valid image repository", repo)
	}
	e, err := newEditor(src)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("manifest: parse: %w", err)
	}
	edited := map[*yaml.Node]bool{}
	for _, image := range containerImages(e.docs) {
		if image.Kind != yaml.ScalarNode {
			continue
		}
		if r, ok := repository(image.Value); !ok || r != want {
			continue
		}
		if image.Value == pinned && image.ShortTag() == "!!str" {
			matched++
			continue
		}
		changed++
		if edited[image] {
			continue
		}
		edited[image] = true
		if err := e.setScalar(image, pinned); err != nil {
			return nil, 0, 0, fmt.Errorf("manifest: image %s: %w", image.Value, err)
		}
	}
	if len(e.edits) == 0 {
		return src, 0, matched, nil
	}
	if out, err = e.result(); err != nil {
		return nil, 0, 0, fmt.Errorf("manifest: %w", err)
	}
	return out, changed, matched, nil
}

// containerImages returns the image value of every container and image
// volume in docs, in document order. An image written as an alias is its anchored node:
// editing that once updates every alias.
func containerImages(docs []*yaml.Node) []*yaml.Node {
	var images []*yaml.Node
	for _, d := range docs {
		for _, use := range imageref.Find(d, nil) {
			if use.Node != nil { // an image volume without a reference
				images = append(images, use.Node)
			}
		}
	}
	return images
}

// repository returns the fully qualified repository of an image reference,
// without tag or digest, with Docker Hub's spellings made one.
func repository(ref string) (string, bool) {
	// A colon is a tag separator only after the last slash; before it, it
	// introduces a registry port.
	base, _, _ := imageref.SplitDocker(ref)
	r, err := name.NewRepository(base, name.WeakValidation)
	if err != nil {
		return "", false
	}
	return r.Name(), true
}

// PinImages rewrites image fields of a YAML stream by their exact value:
// a field whose value is a key of pins becomes pins[value], quoted the way
// it was. Image fields are those imageref.Find reports: the image of every
// item of a containers, initContainers or ephemeralContainers list, and
// the fields named by fields. Other fields, and image fields holding any
// other value (another tag of the same repository, a reference already
// pinned), are left alone. It returns how many fields changed; when none
// did, src itself.
func PinImages(src []byte, fields []imageref.FieldSpec, pins map[string]string) (out []byte, changed int, err error) {
	for old, pinned := range pins {
		if err := checkText("pinned image", pinned); err != nil {
			return nil, 0, fmt.Errorf("manifest: image %s: %w", old, err)
		}
	}
	e, err := newEditor(src)
	if err != nil {
		return nil, 0, fmt.Errorf("manifest: parse: %w", err)
	}
	edited := map[*yaml.Node]bool{}
	for _, d := range e.docs {
		for _, use := range imageref.Find(d, fields) {
			image := use.Node
			if image == nil || image.Kind != yaml.ScalarNode || edited[image] {
				continue
			}
			pinned, ok := pins[image.Value]
			if !ok {
				continue
			}
			edited[image] = true
			changed++
			if err := e.setScalar(image, pinned); err != nil {
				return nil, 0, fmt.Errorf("manifest: image %s: %w", image.Value, err)
			}
		}
	}
	if len(e.edits) == 0 {
		return src, 0, nil
	}
	if out, err = e.result(); err != nil {
		return nil, 0, fmt.Errorf("manifest: %w", err)
	}
	return out, changed, nil
}
