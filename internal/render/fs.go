package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// ErrOutsideRoot is matched by every *OutsideError.
var ErrOutsideRoot = errors.New("outside the repository")

// OutsideError is a path that is, or resolves through a symlink to, a place
// outside the root.
type OutsideError struct {
	// Path is the path as written, as a repository path (see
	// Options.PathPrefix).
	Path string
	// Symlink is true when Path lies inside but a symlink leads out.
	Symlink bool
	// Escapes is true when the place is outside the repository itself, not
	// only outside the part of it that was given.
	Escapes bool
}

func (e *OutsideError) Error() string {
	where := "the files digestpin was given"
	if e.Escapes {
		where = "the repository"
	}
	if e.Symlink {
		return fmt.Sprintf("%q is a symlink to a place outside %s", e.Path, where)
	}
	return fmt.Sprintf("%q is outside %s", e.Path, where)
}

func (e *OutsideError) Is(target error) bool { return target == ErrOutsideRoot }

var errReadOnly = errors.New("the repository is read-only while rendering")

// repoFS is the only filesystem kustomize sees while rendering: the
// repository root on disk, read-only, confined to the root through ".."
// and symlinks, with every file checked against the input limits before
// kustomize parses it, and with in-memory replacements for files that
// parameters change.
type repoFS struct {
	disk    filesys.FileSystem
	root    string // absolute, symlinks resolved
	prefix  string // the root's path in the repository, for messages
	overlay map[string][]byte
	limits  *budget
	// refusal is the first read this filesystem refused. kustomize
	// flattens the errors it gets into strings; Render returns this one
	// instead, whole.
	refusal error
	// unusual is set when a file read rules out the images fast path
	// (images.go).
	unusual bool
	// realDirs holds directories' real paths by absolute path
	// (evalCached).
	realDirs sync.Map
}

func (f *repoFS) refuse(err error) error {
	if f.refusal == nil {
		f.refusal = err
	}
	return err
}

func newRepoFS(root, prefix string, limits Limits) (*repoFS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	return &repoFS{
		disk:    filesys.MakeFsOnDisk(),
		root:    real,
		prefix:  path.Clean("/" + filepath.ToSlash(prefix))[1:],
		overlay: map[string][]byte{},
		limits:  newBudget(limits),
	}, nil
}

// rel writes a path as the repository sees it, so that messages never show
// the sidecar's temporary directories.
func (f *repoFS) rel(p string) string {
	r, err := filepath.Rel(f.root, p)
	if err != nil {
		return filepath.Base(p)
	}
	return path.Join(f.prefix, filepath.ToSlash(r))
}

// resolve returns the real path of path, which must stay inside the root.
// A path that does not exist yet is resolved through its deepest existing
// ancestor, so a dangling symlink cannot point outside either.
func (f *repoFS) resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	real, err := f.evalCached(abs)
	if err != nil {
		return "", err
	}
	if !f.inside(real) {
		target := f.rel(real)
		return "", &OutsideError{
			Path:    f.rel(abs),
			Symlink: f.inside(filepath.Clean(abs)),
			Escapes: target == ".." || strings.HasPrefix(target, "../"),
		}
	}
	return real, nil
}

func (f *repoFS) inside(p string) bool {
	return p == f.root || strings.HasPrefix(p, f.root+string(filepath.Separator))
}

// evalCached is evalExisting(abs), remembering the real paths of
// directories. kustomize asks about the same directories hundreds of times
// in a render, and resolving a path from scratch costs a system call per
// component; from a remembered directory it costs one, for the last
// component, which is resolved from scratch when it is a symlink. A
// directory's real path does not change while it is rendered: the tree is
// the checkout Argo CD unpacked for this one request, and the render only
// reads it.
func (f *repoFS) evalCached(abs string) (string, error) {
	dir, base := filepath.Dir(abs), filepath.Base(abs)
	if dir == abs {
		return evalExisting(abs)
	}
	realDir, ok := f.realDirs.Load(dir)
	if !ok {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return evalExisting(abs)
		}
		if info, err := os.Stat(real); err != nil || !info.IsDir() {
			return evalExisting(abs)
		}
		realDir, _ = f.realDirs.LoadOrStore(dir, real)
	}
	joined := filepath.Join(realDir.(string), base)
	info, err := os.Lstat(joined)
	if (err == nil && info.Mode()&fs.ModeSymlink == 0) || errors.Is(err, fs.ErrNotExist) {
		return joined, nil
	}
	return evalExisting(abs)
}

func evalExisting(abs string) (string, error) {
	real, err := filepath.EvalSymlinks(abs)
	if err == nil {
		return real, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	parent := filepath.Dir(abs)
	if parent == abs {
		return abs, nil
	}
	realParent, err := evalExisting(parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(realParent, filepath.Base(abs)), nil
}

func (f *repoFS) ReadFile(path string) ([]byte, error) {
	real, err := f.resolve(path)
	if err != nil {
		return nil, f.refuse(err)
	}
	if data, ok := f.overlay[real]; ok {
		f.observe(data)
		return data, nil
	}
	info, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", f.rel(real), unwrapPathError(err))
	}
	if err := f.limits.admitSize(f.rel(real), info.Size()); err != nil {
		return nil, f.refuse(err)
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", f.rel(real), unwrapPathError(err))
	}
	if err := f.limits.admitYAML(f.rel(real), data); err != nil {
		return nil, f.refuse(err)
	}
	f.observe(data)
	return data, nil
}

// unwrapPathError drops the absolute path *fs.PathError would print.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (f *repoFS) Exists(path string) bool {
	real, err := f.resolve(path)
	if err != nil {
		return false
	}
	if _, ok := f.overlay[real]; ok {
		return true
	}
	return f.disk.Exists(real)
}

func (f *repoFS) IsDir(path string) bool {
	real, err := f.resolve(path)
	return err == nil && f.disk.IsDir(real)
}

func (f *repoFS) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	if _, err := f.resolve(path); err != nil {
		return "", "", f.refuse(err)
	}
	dir, file, err := f.disk.CleanedAbs(path)
	if err != nil {
		return "", "", errors.New(strings.ReplaceAll(err.Error(), f.root+string(filepath.Separator), ""))
	}
	return dir, file, nil
}

func (f *repoFS) ReadDir(path string) ([]string, error) {
	real, err := f.resolve(path)
	if err != nil {
		return nil, err
	}
	return f.disk.ReadDir(real)
}

func (f *repoFS) Glob(pattern string) ([]string, error) {
	matches, err := f.disk.Glob(pattern)
	if err != nil {
		return nil, err
	}
	inside := matches[:0]
	for _, m := range matches {
		if _, err := f.resolve(m); err == nil {
			inside = append(inside, m)
		}
	}
	return inside, nil
}

func (f *repoFS) Walk(path string, walkFn filepath.WalkFunc) error {
	if _, err := f.resolve(path); err != nil {
		return err
	}
	return f.disk.Walk(path, walkFn)
}

func (f *repoFS) Open(p string) (filesys.File, error) {
	if _, err := f.resolve(p); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("opening %q: %w", f.rel(p), errReadOnly)
}

func (f *repoFS) Create(path string) (filesys.File, error) { return nil, errReadOnly }
func (f *repoFS) Mkdir(path string) error                  { return errReadOnly }
func (f *repoFS) MkdirAll(path string) error               { return errReadOnly }
func (f *repoFS) RemoveAll(path string) error              { return errReadOnly }
func (f *repoFS) WriteFile(path string, data []byte) error { return errReadOnly }
