package yamledit

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// containerLists are the pod-spec keys whose items carry an image. They are
// matched at any depth, which covers Deployments, CronJobs, Argo Rollouts,
// Knative Services and any CRD embedding a pod spec without knowing them.
var containerLists = map[string]bool{"containers": true, "initContainers": true, "ephemeralContainers": true}

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
		if image.Kind == yaml.AliasNode {
			// The anchored value is what the field says; editing it
			// once updates every alias.
			image = image.Alias
		}
		if image == nil || image.Kind != yaml.ScalarNode {
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

// containerImages returns the image value of every container in docs, in
// document order.
func containerImages(docs []*yaml.Node) []*yaml.Node {
	var images []*yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, value := n.Content[i], n.Content[i+1]
				if key.Kind != yaml.ScalarNode || !containerLists[key.Value] || value.Kind != yaml.SequenceNode {
					continue
				}
				for _, item := range value.Content {
					if item.Kind == yaml.MappingNode {
						if j := lookup(item, "image"); j >= 0 {
							images = append(images, item.Content[2*j+1])
						}
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, d := range docs {
		walk(d)
	}
	return images
}

// repository returns the fully qualified repository of an image reference,
// without tag or digest, with Docker Hub's spellings made one.
func repository(ref string) (string, bool) {
	base, _, _ := strings.Cut(ref, "@")
	// A colon is a tag separator only after the last slash; before it, it
	// introduces a registry port.
	if i := strings.LastIndexByte(base, ':'); i > strings.LastIndexByte(base, '/') {
		base = base[:i]
	}
	r, err := name.NewRepository(base, name.WeakValidation)
	if err != nil {
		return "", false
	}
	return r.Name(), true
}
