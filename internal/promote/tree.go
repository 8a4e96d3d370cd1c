package promote

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"

	"github.com/digestpin/digestpin/internal/git"
)

// Tree is the tree of a fetched head written to a temporary directory, so
// that kustomizations render from it exactly as Argo CD renders that
// commit. Edits are written into it too, so that the render after them is
// checked before anything is committed. promote and pin share it.
type Tree struct {
	// Dir is the temporary directory; Head the commit it holds.
	Dir, Head string
	files     map[string]git.File
	paths     []string // sorted
}

// Checkout writes the tree of head to a new temporary directory. A path
// git lists that is not a clean path inside the repository is refused, and
// symbolic links are created after every file, so that none can redirect
// a write outside the directory. Close removes it.
func Checkout(ctx context.Context, repo *git.Repo, head string) (*Tree, error) {
	files, err := repo.Files(ctx, head, "")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "digestpin-tree-")
	if err != nil {
		return nil, err
	}
	t := &Tree{Dir: dir, Head: head, files: map[string]git.File{}}
	if err := t.write(files); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Close removes the directory.
func (t *Tree) Close() error { return os.RemoveAll(t.Dir) }

func (t *Tree) write(files []git.File) error {
	for _, f := range files {
		if !localPath(f.Path) {
			return fmt.Errorf("commit %s holds a path no checkout would write, %q: refusing to read it", t.Head, f.Path)
		}
		t.files[f.Path] = f
		t.paths = append(t.paths, f.Path)
	}
	slices.Sort(t.paths)
	var links []git.File
	for _, p := range t.paths {
		f := t.files[p]
		switch f.Mode {
		case git.ModeSymlink:
			links = append(links, f)
		case git.ModeSubmodule:
		default:
			if err := t.writeFile(f.Path, f.Data); err != nil {
				return err
			}
		}
	}
	for _, f := range links {
		full := filepath.Join(t.Dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(string(f.Data), full); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tree) writeFile(p string, data []byte) error {
	full := filepath.Join(t.Dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return os.WriteFile(full, data, 0o644)
}

// localPath reports whether p is a path a checkout would write inside the
// work tree: relative, clean, slash-separated, without a .git element.
func localPath(p string) bool {
	if p == "" || path.Clean(p) != p || !filepath.IsLocal(p) || strings.ContainsAny(p, "\\\x00") {
		return false
	}
	for el := range strings.SplitSeq(p, "/") {
		if strings.EqualFold(el, ".git") {
			return false
		}
	}
	return true
}

// File returns the file at p, as committed.
func (t *Tree) File(p string) (git.File, bool) {
	f, ok := t.files[p]
	return f, ok
}

// IsDir reports whether the tree has files below p ("." is the root).
func (t *Tree) IsDir(p string) bool {
	if p == "." {
		return len(t.paths) > 0
	}
	i, _ := slices.BinarySearch(t.paths, p+"/")
	return i < len(t.paths) && strings.HasPrefix(t.paths[i], p+"/")
}

// Under returns the files below directory dir ("." for all), in path order.
func (t *Tree) Under(dir string) []git.File {
	var files []git.File
	for _, p := range t.paths {
		if dir == "." || strings.HasPrefix(p, dir+"/") {
			files = append(files, t.files[p])
		}
	}
	return files
}

// Write replaces the content of the regular file at p in the directory;
// what File returns stays as committed.
func (t *Tree) Write(p string, data []byte) error {
	f, ok := t.files[p]
	if !ok || f.Mode == git.ModeSymlink || f.Mode == git.ModeSubmodule {
		return &fs.PathError{Op: "write", Path: p, Err: fs.ErrInvalid}
	}
	return t.writeFile(p, data)
}

// Kustomization returns the kustomization file of directory dir, by the
// names kustomize recognizes, in its order.
func (t *Tree) Kustomization(dir string) (git.File, bool) {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if f, ok := t.files[path.Join(dir, name)]; ok && f.Mode != git.ModeSubmodule {
			return f, true
		}
	}
	return git.File{}, false
}
