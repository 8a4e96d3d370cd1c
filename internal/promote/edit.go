package promote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/digestpin/digestpin/internal/git"
	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/render"
	"github.com/digestpin/digestpin/internal/yamledit"
)

// change is one edited file.
type change struct {
	path          string
	before, after []byte
}

func (c *change) diff() string {
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        lines(c.before),
		B:        lines(c.after),
		FromFile: "a/" + c.path,
		ToFile:   "b/" + c.path,
		Context:  3,
	})
	if err != nil {
		return fmt.Sprintf("(no diff: %v)\n", err)
	}
	return d
}

// lines splits text after each newline; difflib.SplitLines would add an
// empty last line that is not in the file.
func lines(text []byte) []string {
	return slices.Collect(strings.Lines(string(text)))
}

// edit computes the change that pins images at target in the tree of head,
// or nil when everything is pinned already.
func edit(ctx context.Context, repo *git.Repo, head, target string, images []Image) (*change, error) {
	target = path.Clean(target)
	tree, err := Checkout(ctx, repo, head)
	if err != nil {
		return nil, err
	}
	defer tree.Close()
	if tree.IsDir(target) {
		return editKustomization(tree, target, images)
	}
	f, err := tree.File(target)
	if errors.Is(err, fs.ErrNotExist) || err == nil && (f.Mode == git.ModeSymlink || f.Mode == git.ModeSubmodule) {
		return nil, usageError("%s %q is not a file or directory at %s", OptPath, target, head)
	}
	if err != nil {
		return nil, err
	}
	return editManifest(f, images)
}

func editManifest(f git.File, images []Image) (*change, error) {
	out := f.Data
	changed := 0
	for _, img := range images {
		var n, alreadyPinned int
		var err error
		out, n, alreadyPinned, err = yamledit.PinManifestImages(out, img.Repository, img.Pinned())
		if err != nil {
			return nil, fmt.Errorf("editing %s: %w", f.Path, err)
		}
		if n+alreadyPinned == 0 {
			return nil, usageError("%s holds no container image of %s; check %s for a typo", f.Path, img.Repository, OptImages)
		}
		changed += n
	}
	if changed == 0 {
		return nil, nil
	}
	return &change{path: f.Path, before: f.Data, after: out}, nil
}

func editKustomization(tree *Tree, dir string, images []Image) (*change, error) {
	head := tree.Head
	file, ok, err := tree.Kustomization(dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, usageError("%s %q is a directory without a kustomization at %s", OptPath, dir, head)
	}
	if file.Mode == git.ModeSymlink {
		return nil, usageError("%s is a symbolic link; promote edits files, so name the directory it points to", file.Path)
	}
	rendered, err := renderedImages(tree.Dir, dir, head)
	if err != nil {
		return nil, err
	}
	for _, img := range images {
		want, err := imageref.NormalizeRepository(img.Repository)
		if err != nil {
			return nil, usageError("%w", err)
		}
		if !slices.ContainsFunc(rendered, func(r imageref.Ref) bool { return r.Repository == want }) {
			return nil, usageError("%s renders no image %s; check %s for a typo (it renders %s)", dir, img.Repository, OptImages, repositories(rendered))
		}
	}
	pins := make([]yamledit.ImagePin, len(images))
	for i, img := range images {
		pins[i] = yamledit.ImagePin{Name: img.Repository, Tag: img.Tag, Digest: img.Digest}
	}
	out, changed, err := yamledit.SetKustomizationImages(file.Data, pins...)
	if err != nil {
		return nil, fmt.Errorf("editing %s: %w", file.Path, err)
	}
	if !changed {
		return nil, nil
	}
	// The edit must show in the render: an images: entry that some other
	// transformation overrides would pin nothing.
	if err := tree.Write(file.Path, out); err != nil {
		return nil, err
	}
	after, err := renderedImages(tree.Dir, dir, head)
	if err != nil {
		return nil, fmt.Errorf("rendering %s after the edit: %w", dir, err)
	}
	for _, img := range images {
		if !slices.ContainsFunc(after, func(r imageref.Ref) bool { return r.Digest == img.Digest }) {
			return nil, usageError("after setting %s in %s, the render still shows no image with digest %s; is the image renamed or set later in another kustomization?", img.Repository, file.Path, img.Digest)
		}
	}
	return &change{path: file.Path, before: file.Data, after: out}, nil
}

// renderedImages renders dir in tree, as generate would, and returns every
// image reference that parses.
func renderedImages(tree, dir, head string) ([]imageref.Ref, error) {
	result, err := render.Render(render.Options{Root: tree, Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("rendering %s at %s: %w", dir, head, err)
	}
	var refs []imageref.Ref
	for _, res := range result.Resources.Resources() {
		for _, use := range imageref.Find(res.YNode(), result.ImageFields) {
			if ref, err := imageref.Parse(use.Image); err == nil {
				refs = append(refs, ref)
			}
		}
	}
	return refs, nil
}

func repositories(refs []imageref.Ref) string {
	var names []string
	for _, r := range refs {
		if !slices.Contains(names, r.Repository) {
			names = append(names, r.Repository)
		}
	}
	if len(names) == 0 {
		return "no images"
	}
	return strings.Join(names, ", ")
}
