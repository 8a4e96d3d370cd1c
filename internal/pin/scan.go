package pin

import (
	"errors"
	"fmt"
	"path/filepath"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/render"
	"github.com/digestpin/digestpin/internal/repofs"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// use is one image field of what a target renders.
type use struct {
	// key names the object and the field, so that the same field is found
	// in the render after the edit.
	key string
	// where says it for people: `Deployment web, container "app"`.
	where string
	image string
}

// scan renders a kustomization target as generate would, or reads a
// manifest as check does, and returns every image field, in order.
func (r *run) scan(t target) ([]use, error) {
	if t.kustomization {
		return r.scanKustomization(t)
	}
	return r.scanManifest(t)
}

func (r *run) scanKustomization(t target) ([]use, error) {
	result, err := render.Render(render.Options{Root: r.tree.Dir, Dir: filepath.FromSlash(t.path)})
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", t.path, err)
	}
	fields := append(append([]imageref.FieldSpec(nil), r.opts.Policy.ImageFields...), result.ImageFields...)
	var uses []use
	for _, res := range result.Resources.Resources() {
		uses = appendUses(uses, res.CurId().String(), res.YNode(), fields)
	}
	return uses, nil
}

func (r *run) scanManifest(t target) ([]use, error) {
	data := t.file.Data
	if edited, ok := r.edited[t.path]; ok {
		data = edited
	}
	if err := repofs.DefaultLimits().Check(t.path, data); err != nil {
		return nil, err
	}
	nodes, err := kio.FromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.path, err)
	}
	var uses []use
	for i, n := range nodes {
		uses = appendUses(uses, fmt.Sprintf("document %d", i+1), n.YNode(), r.opts.Policy.ImageFields)
	}
	return uses, nil
}

func appendUses(uses []use, id string, obj *yaml.Node, fields []imageref.FieldSpec) []use {
	rn := yaml.NewRNode(obj)
	name := rn.GetName()
	if ns := rn.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	for _, u := range imageref.Find(obj, fields) {
		where := fmt.Sprintf("%s %s, %s %q", rn.GetKind(), name, u.Slot, u.Container)
		if u.Slot == imageref.Field {
			where = fmt.Sprintf("%s %s, field %s", rn.GetKind(), name, u.Path)
		}
		uses = append(uses, use{key: id + "\x00" + u.Path, where: untrusted.Text(where), image: u.Image})
	}
	return uses
}

// verdict is what the policy says of an image.
type verdict int

const (
	passes   verdict = iota // pinned, or exempt
	unpinned                // refused for lacking a digest: pin it
	refused                 // refused for another reason: pin cannot help
)

func judge(pol policy.Policy, image string) (verdict, error) {
	if _, err := imageref.Parse(image); err != nil {
		return refused, err
	}
	err := pol.Judge(image)
	var registryErr *policy.RegistryError
	switch {
	case err == nil:
		return passes, nil
	case errors.As(err, &registryErr):
		return refused, fmt.Errorf("%w; pin cannot change where an image comes from", err)
	}
	return unpinned, nil
}
