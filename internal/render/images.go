package render

import (
	"errors"

	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/digestpin/digestpin/internal/render/imagetag"
)

// The root images fast path: the render lets package imagetag apply the
// root's images: entries in one pass when it can tell it gives kustomize's
// bytes, and kustomize otherwise (see imagetag's package doc).

// minFastImages is the fewest images: entries the fast path takes on
// (imagetag.DefaultMinImages; tests lower it).
var minFastImages = imagetag.DefaultMinImages

// observe notes content that rules the fast path out.
func (f *readFS) observe(data []byte) {
	if !f.unusual && imagetag.Unusual(data) {
		f.unusual = true
	}
}

// renderImages renders dir, applying the root's images: itself when it
// can (fast is then true), otherwise leaving them to kustomize and saying
// why (declined). root is the root kustomization kustomize reads (fsys
// holds it as a replacement), and parsed what it holds, if known. used is
// the filesystem of the run whose objects m are.
func renderImages(opts Options, fsys *readFS, t *tree, dir string, root []byte, parsed *types.Kustomization) (m resmap.ResMap, fast bool, declined string, used *readFS, err error) {
	var plan *imagetag.Plan
	declined = "turned off"
	if !opts.ImagesByKustomize {
		plan, declined = imagetag.NewPlan(planInput(t, root, parsed))
	}
	if plan == nil {
		m, err = runKustomize(fsys, dir)
		return m, false, declined, fsys, err
	}
	read := fsys.BytesRead()
	fsys.Replace(t.rootFile, plan.ProbeRoot())
	m, err = runKustomize(fsys, dir)
	switch {
	case err != nil:
		declined = "kustomize failed with the probe; kustomize alone says why"
	case fsys.unusual:
		declined = "a file holds needsHashSuffix, allowKindChange or an escape that could spell them"
	default:
		applyErr := plan.Apply(m)
		if applyErr == nil {
			return m, true, "", fsys, nil
		}
		declined = applyErr.Error()
		var d *imagetag.DeclinedError
		if errors.As(applyErr, &d) {
			declined = d.Reason
		}
	}
	// kustomize alone, from where it started.
	again := fsys.again(read)
	again.Replace(t.rootFile, root)
	m, err = runKustomize(again, dir)
	return m, false, declined, again, err
}

// planInput is what the fast path needs to know of the render: the root
// kustomization kustomize reads (parsed, if known) and what the walk
// learned of the tree.
func planInput(t *tree, root []byte, parsed *types.Kustomization) imagetag.Input {
	in := imagetag.Input{Root: root, Parsed: parsed, HasVars: t.hasVars, HasCRDs: t.hasCRDs, MinImages: minFastImages}
	for _, c := range t.configurations {
		in.Configurations = append(in.Configurations, imagetag.ConfigFile{Data: c.data, AsPlugin: c.asPlugin})
	}
	return in
}
