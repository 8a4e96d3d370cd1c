package promote

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"

	"github.com/digestpin/digestpin/internal/git"
	"github.com/digestpin/digestpin/internal/repofs"
)

// Tree is the tree of a fetched head written to a temporary directory, so
// that kustomizations render from it exactly as Argo CD renders that
// commit. Edits are written into it too, so that the render after them is
// checked before anything is committed. promote and pin share it.
//
// What it writes is bounded and confined: git's listing is refused when an
// entry is one git itself would not check out (git.TreeError); every write
// goes through an os.Root on the directory, so no path and no symbolic
// link can place a file outside it; blobs stream from git to disk, one at
// a time; a file larger than MaxFileBytes is written as a sparse file of
// its size, which a render refuses as it would the file and File refuses
// to read; and all files together may hold at most MaxTreeBytes.
type Tree struct {
	// Dir is the temporary directory; Head the commit it holds.
	Dir, Head string
	root      *os.Root
	entries   map[string]git.Entry
	paths     []string // sorted
	// before holds, for a file Write changed, its committed content.
	before map[string][]byte
}

// MaxFileBytes is the largest file a Tree holds: what a render reads of
// one file.
var MaxFileBytes = repofs.DefaultLimits().MaxFileBytes

// MaxTreeBytes bounds what a Tree writes to disk in all.
const MaxTreeBytes int64 = 512 << 20

// Checkout writes the tree of head to a new temporary directory. Close
// removes it.
func Checkout(ctx context.Context, repo *git.Repo, head string) (*Tree, error) {
	entries, err := repo.List(ctx, head, "")
	if err != nil {
		return nil, err
	}
	var total int64
	var blobs, links []git.Entry
	for _, e := range entries {
		switch {
		case e.Mode == git.ModeSubmodule:
		case e.Mode == git.ModeSymlink:
			if e.Size > 4096 {
				return nil, &git.TreeError{Rev: head, Path: e.Path, Reason: fmt.Sprintf("a symbolic link of %d bytes is longer than any path", e.Size)}
			}
			links = append(links, e)
		case e.Size <= MaxFileBytes:
			blobs = append(blobs, e)
			total += e.Size
		}
	}
	if total > MaxTreeBytes {
		return nil, fmt.Errorf("the tree of %s holds %d bytes of files of at most %d bytes each, more than the %d promote writes out to render it", head, total, MaxFileBytes, MaxTreeBytes)
	}
	dir, err := os.MkdirTemp("", "digestpin-tree-")
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	t := &Tree{Dir: dir, Head: head, root: root, entries: map[string]git.Entry{}, before: map[string][]byte{}}
	if err := t.write(ctx, repo, entries, blobs, links); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Close removes the directory.
func (t *Tree) Close() error {
	t.root.Close()
	return os.RemoveAll(t.Dir)
}

func (t *Tree) write(ctx context.Context, repo *git.Repo, entries, blobs, links []git.Entry) error {
	for _, e := range entries {
		t.entries[e.Path] = e
		t.paths = append(t.paths, e.Path)
		if dir := path.Dir(e.Path); dir != "." {
			if err := t.root.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		if e.Mode != git.ModeSubmodule && e.Mode != git.ModeSymlink && e.Size > MaxFileBytes {
			// Sparse: its size without its bytes.
			if err := t.create(e.Path, func(f *os.File) error { return f.Truncate(e.Size) }); err != nil {
				return err
			}
		}
	}
	slices.Sort(t.paths)
	err := repo.Blobs(ctx, blobs, func(e git.Entry, r io.Reader) error {
		return t.create(e.Path, func(f *os.File) error {
			_, err := io.Copy(f, r)
			return err
		})
	})
	if err != nil {
		return err
	}
	// Links last, so that no file is written through one (and os.Root
	// would refuse one that leads out anyway).
	return repo.Blobs(ctx, links, func(e git.Entry, r io.Reader) error {
		target, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		return t.root.Symlink(string(target), e.Path)
	})
}

// create makes a new file at p and fills it.
func (t *Tree) create(p string, fill func(*os.File) error) error {
	f, err := t.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// File returns the file at p, as committed: for a symbolic link its
// target, for a submodule no data. A file larger than MaxFileBytes is an
// error; a missing one wraps fs.ErrNotExist.
func (t *Tree) File(p string) (git.File, error) {
	e, ok := t.entries[p]
	if !ok {
		return git.File{}, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	f := git.File{Path: p, Mode: e.Mode}
	switch {
	case e.Mode == git.ModeSubmodule:
		return f, nil
	case e.Mode == git.ModeSymlink:
		target, err := t.root.Readlink(p)
		f.Data = []byte(target)
		return f, err
	case e.Size > MaxFileBytes:
		return git.File{}, fmt.Errorf("%s is %d bytes at %s, more than the %d promote reads", p, e.Size, t.Head, MaxFileBytes)
	}
	if data, ok := t.before[p]; ok {
		f.Data = data
		return f, nil
	}
	var err error
	f.Data, err = t.root.ReadFile(p)
	return f, err
}

// IsDir reports whether the tree has files below p ("." is the root).
func (t *Tree) IsDir(p string) bool {
	if p == "." {
		return len(t.paths) > 0
	}
	i, _ := slices.BinarySearch(t.paths, p+"/")
	return i < len(t.paths) && strings.HasPrefix(t.paths[i], p+"/")
}

// Under returns the files below directory dir ("." for all), in path
// order, without their content: File reads it.
func (t *Tree) Under(dir string) []git.Entry {
	var entries []git.Entry
	for _, p := range t.paths {
		if dir == "." || strings.HasPrefix(p, dir+"/") {
			entries = append(entries, t.entries[p])
		}
	}
	return entries
}

// Write replaces the content of the regular file at p in the directory;
// what File returns stays as committed.
func (t *Tree) Write(p string, data []byte) error {
	e, ok := t.entries[p]
	if !ok || e.Mode == git.ModeSymlink || e.Mode == git.ModeSubmodule {
		return &fs.PathError{Op: "write", Path: p, Err: fs.ErrInvalid}
	}
	if _, ok := t.before[p]; !ok {
		before, err := t.File(p)
		if err != nil {
			return err
		}
		t.before[p] = before.Data
	}
	return t.root.WriteFile(p, data, 0o644)
}

// Kustomization returns the kustomization file of directory dir, by the
// names kustomize recognizes, in its order; ok is false when it has none.
func (t *Tree) Kustomization(dir string) (f git.File, ok bool, err error) {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, name)
		if e, ok := t.entries[p]; ok && e.Mode != git.ModeSubmodule {
			f, err := t.File(p)
			return f, true, err
		}
	}
	return git.File{}, false, nil
}
