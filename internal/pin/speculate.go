package pin

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/kio"

	"github.com/digestpin/digestpin/internal/git"
	"github.com/digestpin/digestpin/internal/imageref"
)

// maxSpeculated bounds the files speculate reads for one target.
const maxSpeculated = 10000

// speculate starts resolving, while kustomize renders target t, the images
// the render will most likely show without a digest: those the files of
// t's kustomization tree name, unless an images: entry anywhere in the tree
// names them, which would change them. A render takes seconds on a large
// tree, as do hundreds of registry requests; done one after the other,
// they add up.
//
// It only starts work: what pin records still comes from the render, and
// an image the render shows that speculate did not guess is resolved
// then. A guess the render does not confirm costs one registry request.
func (r *run) speculate(ctx context.Context, t target) {
	s := speculation{tree: r.tree, seen: map[string]bool{}, renamed: map[string]bool{}}
	s.walk(t.path)
	for _, f := range s.files {
		nodes, err := kio.FromBytes(f.Data)
		if err != nil {
			continue
		}
		for _, n := range nodes {
			for _, u := range imageref.Find(n.YNode(), r.opts.Policy.ImageFields) {
				if v, _ := judge(r.opts.Policy, u.Image); v != unpinned {
					continue
				}
				name, tag, _ := imageref.Split(u.Image)
				if !s.renamed[name] {
					r.res.get(ctx, name, tag)
				}
			}
		}
	}
}

type speculation struct {
	tree    treeReader
	seen    map[string]bool
	files   []git.File
	renamed map[string]bool
}

// treeReader is what speculate reads of the fetched head.
type treeReader interface {
	File(p string) (git.File, error)
	Kustomization(dir string) (git.File, bool, error)
	IsDir(p string) bool
}

// walk follows a kustomization's resources and components through the
// tree, the way kustomize reaches them, without fetching anything remote.
func (s *speculation) walk(dir string) {
	if s.seen[dir] || len(s.seen) > maxSpeculated {
		return
	}
	s.seen[dir] = true
	kf, ok, err := s.tree.Kustomization(dir)
	if err != nil || !ok || kf.Mode == git.ModeSymlink {
		return
	}
	var k types.Kustomization
	if err := k.Unmarshal(kf.Data); err != nil {
		return
	}
	k.FixKustomization()
	for _, img := range k.Images {
		s.renamed[img.Name] = true
		if img.NewName != "" {
			s.renamed[img.NewName] = true
		}
	}
	for _, entry := range append(append([]string(nil), k.Resources...), k.Components...) {
		if strings.Contains(entry, "://") || strings.ContainsAny(entry, "\n") {
			continue
		}
		p := path.Clean(path.Join(dir, entry))
		if p == ".." || strings.HasPrefix(p, "../") {
			continue
		}
		f, err := s.tree.File(p)
		if err == nil {
			if f.Mode == git.ModeRegular || f.Mode == git.ModeExecutable {
				if !s.seen[p] && len(s.files) < maxSpeculated {
					s.seen[p] = true
					s.files = append(s.files, f)
				}
			}
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			continue // too large to read: the render will say so
		}
		if s.tree.IsDir(p) {
			s.walk(p)
		}
	}
}
