// Package render renders a kustomization in-process, exactly as
// `kustomize build` (v5.8.2, kustomize/api v0.21.2) does, over a repository
// that is treated as untrusted: nothing outside the repository root is read,
// nothing remote is fetched, no program is run, and every input is measured
// before kustomize parses it.
package render

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	//lint:ignore SA1019 krusty itself runs these builtins; v0.21.2 has no other way to name them.
	kbuiltins "sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/repofs"
)

// Options say what to render.
type Options struct {
	// Root is the repository root; nothing outside it is read. Required.
	Root string
	// Dir is the kustomization directory, absolute or relative to Root.
	// Default: Root.
	Dir string
	// Overrides are applied to the root kustomization in memory.
	Overrides Overrides
	// TrackOrigins records, for every object, the repository file it came
	// from (Result.Origins), with a second render (see Origins). generate
	// and check do not ask for it: they call Origins on a refusal only.
	TrackOrigins bool
	// Limits bound the input. Zero value: repofs.DefaultLimits().
	Limits repofs.Limits
	// PathPrefix is where Root sits in the repository, when it is only a
	// part of it (Argo CD's manifest-generate-paths). Messages and
	// origins name files by their repository path. Default "": Root is the
	// repository.
	PathPrefix string
	// Tuning changes how the render goes about its work, never what it
	// prints.
	Tuning
}

// Tuning changes how a render goes about its work, never what it prints.
type Tuning struct {
	// ImagesByKustomize leaves the root kustomization's images: to
	// kustomize: the one-pass fast path (package imagetag) is off, for anyone who
	// suspects it, and for tests that compare the two ways.
	ImagesByKustomize bool
	// Debug, when set, receives one line per render saying whether the
	// fast path applied the root's images:, and if not, why.
	Debug io.Writer
}

// Variables TuningFromEnv reads.
const (
	// EnvFastImages=0 turns the images fast path off; 1 (the default)
	// leaves it on.
	EnvFastImages = "DIGESTPIN_FAST_IMAGES"
	// EnvDebug=1 writes debug lines to the writer given to TuningFromEnv;
	// 0 (the default) does not.
	EnvDebug = "DIGESTPIN_DEBUG"
)

// TuningFromEnv reads EnvFastImages and EnvDebug; debug is where debug
// lines go when EnvDebug is 1. A value other than 0 or 1 is an error
// naming the variable.
func TuningFromEnv(lookup func(string) (string, bool), debug io.Writer) (Tuning, error) {
	flag := func(name string, def bool) (bool, error) {
		v, _ := lookup(name)
		switch strings.TrimSpace(v) {
		case "":
			return def, nil
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		return false, fmt.Errorf("%s is %q; use 0 or 1", name, v)
	}
	fast, err := flag(EnvFastImages, true)
	if err != nil {
		return Tuning{}, err
	}
	on, err := flag(EnvDebug, false)
	if err != nil {
		return Tuning{}, err
	}
	t := Tuning{ImagesByKustomize: !fast}
	if on {
		t.Debug = debug
	}
	return t, nil
}

// Result is a rendered kustomization.
type Result struct {
	// Resources are the rendered objects, in kustomize's output order.
	Resources resmap.ResMap
	// ImageFields are the image fieldSpecs the kustomizations declare in
	// their `configurations:` files.
	ImageFields []imageref.FieldSpec
	// Origins holds, when tracked, the repository-relative file each
	// resource came from, by index ("" when kustomize did not record one).
	Origins []string
	// imagesFast says the root's images: were applied by the fast path.
	imagesFast bool
	// originsShown says the root kustomization asks for origin
	// annotations, which its output then holds; relDir is its directory.
	originsShown bool
	relDir       string
	// marked are the origins the objects' marks name ("" where an object
	// has none), or nil (marks.go).
	marked []string
}

// YAML returns the objects exactly as `kustomize build` prints them.
func (r *Result) YAML() ([]byte, error) { return asYAML(r.Resources) }

// Render renders the kustomization opts.Dir under opts.Root.
func Render(opts Options) (*Result, error) {
	result, _, err := render(opts, false)
	if err != nil || !opts.TrackOrigins {
		return result, err
	}
	if origins, err := Origins(opts, result, nil); err == nil {
		result.Origins = origins
	}
	return result, nil
}

// Origins returns, for each object of result, a render of opts without
// TrackOrigins, the repository file it came from ("" when kustomize did
// not record one). objects are the indexes of the objects the caller needs
// (nil: all of them). When the render's own origin marks name a file for
// each of those, Origins returns what the marks say (marks.go), and
// renders nothing. Otherwise it renders opts once more, with kustomize's
// origin annotations, and matches the objects by id. Origin annotations
// are visible to transformers (a patch that copies metadata.annotations
// copies them too), so the output comes from the plain run and only the
// origins from the traced one; and tracing costs kustomize a good deal (it
// records every transformer on every object: about 40% more CPU on 400
// objects), so a render that passes is never traced.
func Origins(opts Options, result *Result, objects []int) ([]string, error) {
	if result.originsShown {
		return origins(result.Resources, result.relDir), nil
	}
	if result.marked != nil {
		known := true
		if objects == nil {
			known = !slices.Contains(result.marked, "")
		}
		for _, i := range objects {
			known = known && i >= 0 && i < len(result.marked) && result.marked[i] != ""
		}
		if known {
			return slices.Clone(result.marked), nil
		}
	}
	traced, _, err := render(opts, true)
	if err != nil {
		return nil, err
	}
	byID := map[resid.ResId]string{}
	for i, res := range traced.Resources.Resources() {
		byID[res.CurId()] = traced.Origins[i]
	}
	files := make([]string, result.Resources.Size())
	for i, res := range result.Resources.Resources() {
		files[i] = byID[res.CurId()]
	}
	return files, nil
}

func render(opts Options, trackOrigins bool) (*Result, *tree, error) {
	if opts.Limits == (repofs.Limits{}) {
		opts.Limits = repofs.DefaultLimits()
	}
	fsys, err := newReadFS(opts.Root, opts.PathPrefix, opts.Limits)
	if err != nil {
		return nil, nil, err
	}
	dir := opts.Dir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(fsys.Root(), dir)
	}
	dir, err = fsys.Resolve(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("kustomization directory %w", err)
	}
	// inspect applies the overrides first, so that it walks what kustomize
	// reads: components that parameters add are vetted like any other, and
	// known to the fast path and to origin marks.
	t, err := inspect(fsys, dir, opts.Overrides)
	if err != nil {
		return nil, nil, err
	}
	t.relDir = fsys.Rel(dir)
	if trackOrigins {
		src, err := fsys.ReadFile(t.rootFile)
		if err != nil {
			return nil, nil, err
		}
		edited, err := Overrides{}.apply(src, trackOrigins)
		if err != nil {
			return nil, nil, fmt.Errorf("applying parameters to %s: %w", fsys.Rel(t.rootFile), err)
		}
		fsys.Replace(t.rootFile, edited)
	}
	root, replaced := fsys.Replacement(t.rootFile)
	parsed := t.root // what the walk read, unless parameters changed it
	if replaced {
		parsed = nil
	} else {
		if root, err = fsys.ReadFile(t.rootFile); err != nil {
			return nil, nil, err
		}
		// kustomize reads it from memory, so the input limits count it
		// once.
		fsys.Replace(t.rootFile, root)
	}
	read := fsys.BytesRead()
	if !trackOrigins && !t.originsRequested {
		fsys.markResources(t)
	}
	// The root's images: are applied in one pass after kustomize when
	// nothing else can tell (images.go, package imagetag).
	m, fast, declined, used, err := renderImages(opts, fsys, t, dir, root, parsed)
	if fsys.marks != nil && (err != nil || used.unusual) {
		// Origin marks could show: in the line numbers of a parse
		// error, or in the hash of a whole object (needsHashSuffix).
		// Render again without them.
		plain := fsys.again(read)
		plain.marks = nil
		plain.Replace(t.rootFile, root)
		m, fast, declined, used, err = renderImages(opts, plain, t, dir, root, parsed)
	}
	if err != nil {
		return nil, nil, err
	}
	if opts.Debug != nil && !trackOrigins {
		if fast {
			fmt.Fprintln(opts.Debug, "digestpin: debug: images fast path: applied the root's images: in one pass")
		} else {
			fmt.Fprintln(opts.Debug, "digestpin: debug: images fast path: declined: "+declined)
		}
	}
	if t.managedByLabel {
		// kustomize takes the label's version from the kustomize CLI
		// module in the build info, which this binary does not have.
		l := kbuiltins.LabelTransformerPlugin{
			Labels:     map[string]string{konfig.ManagedbyLabelKey: "kustomize-" + KustomizeVersion},
			FieldSpecs: []types.FieldSpec{{Path: "metadata/labels", CreateIfNotPresent: true}},
		}
		if err := l.Transform(m); err != nil {
			return nil, nil, err
		}
	}
	result := &Result{Resources: m, ImageFields: t.imageFields, imagesFast: fast, originsShown: t.originsRequested, relDir: t.relDir,
		marked: used.markedOrigins(m)}
	if trackOrigins {
		result.Origins = origins(m, t.relDir)
		if err := m.RemoveOriginAnnotations(); err != nil {
			return nil, nil, err
		}
	}
	return result, t, nil
}

// runKustomize is `kustomize build` of dir over fsys, before what the CLI
// does after the kustomizer's run.
func runKustomize(fsys *readFS, dir string) (resmap.ResMap, error) {
	// MakeDefaultOptions says ReorderOptionNone; `kustomize build` without
	// --reorder leaves it unspecified, which sorts in legacy order unless
	// the kustomization has sortOptions.
	kopts := krusty.MakeDefaultOptions()
	kopts.Reorder = krusty.ReorderOptionUnspecified
	m, err := krusty.MakeKustomizer(kopts).Run(fsys, dir)
	if err != nil {
		if refusal := fsys.Refusal(); refusal != nil {
			return nil, refusal
		}
		return nil, fsys.Scrub(err)
	}
	return m, nil
}

// readFS is the repository as a render reads it: through repofs, noting
// on the way content that rules out the images fast path (images.go).
type readFS struct {
	*repofs.FS
	// unusual is set when a file read rules out the images fast path.
	unusual bool
	// marks, when set, are put into resource files as they are read
	// (marks.go).
	marks *originMarks
}

// again is the filesystem to run kustomize again with, from read bytes on
// (repofs.FS.Again), with the same marks.
func (f *readFS) again(read int64) *readFS {
	return &readFS{FS: f.FS.Again(read), marks: f.marks}
}

func newReadFS(root, prefix string, limits repofs.Limits) (*readFS, error) {
	fsys, err := repofs.New(root, prefix, limits)
	if err != nil {
		return nil, err
	}
	return &readFS{FS: fsys}, nil
}

// ReadFile is repofs's, observing what it returns.
func (f *readFS) ReadFile(path string) ([]byte, error) {
	data, err := f.FS.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f.observe(data)
	return f.mark(path, data), nil
}

// KustomizeVersion is the kustomize release whose output Render matches.
const KustomizeVersion = "v5.8.2"

// origins maps each resource to its file, relative to the repository root.
// kustomize records paths relative to the root kustomization.
func origins(m resmap.ResMap, dir string) []string {
	files := make([]string, m.Size())
	for i, res := range m.Resources() {
		origin, err := res.GetOrigin()
		if err != nil || origin == nil {
			continue
		}
		path := origin.Path
		if path == "" {
			path = origin.ConfiguredIn
		}
		if path != "" && origin.Repo == "" {
			files[i] = filepath.ToSlash(filepath.Join(dir, path))
		}
	}
	return files
}
