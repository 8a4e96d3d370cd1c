// Package repofs is the filesystem a render reads a repository through:
// the repository root on disk, read-only, confined to the root through
// ".." and symlinks, with every file measured against the input limits
// (size, total size, documents, YAML alias expansion and nesting) before
// the reader gets its bytes, and with in-memory replacements for files
// that a render changes. It guarantees that nothing outside the root is
// read, nothing but regular files is read (a named pipe would block, a
// device never end), no read goes past the limits whatever size a file
// reports, nothing is written, and no message shows where the repository
// was unpacked.
package repofs

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/digestpin/digestpin/internal/redact"
)

// ErrOutsideRoot is matched by every *OutsideError.
var ErrOutsideRoot = errors.New("outside the repository")

// OutsideError is a path that is, or resolves through a symlink to, a place
// outside the root.
type OutsideError struct {
	// Path is the path as written, as a repository path (see New's
	// prefix).
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

// FS is the only filesystem kustomize sees while rendering: the
// repository root on disk, read-only, confined to the root through ".."
// and symlinks, with every file checked against the input limits before
// kustomize parses it, and with in-memory replacements for files that
// parameters change. It implements kyaml's filesys.FileSystem.
type FS struct {
	disk    filesys.FileSystem
	root    string // absolute, symlinks resolved
	prefix  string // the root's path in the repository, for messages
	overlay map[string][]byte
	limits  *budget
	// refusal is the first read this filesystem refused. kustomize
	// flattens the errors it gets into strings; Refusal returns this one,
	// whole.
	refusal error
	// realDirs holds directories' real paths by absolute path
	// (evalCached).
	realDirs sync.Map
	// symlinked is set once a path resolved through a symlink; Again's
	// filesystem shares it.
	symlinked *atomic.Bool
	// measures holds, by real path, what files held when they were
	// measured (measure).
	mu       sync.Mutex
	measures map[string]measured
}

func (f *FS) refuse(err error) error {
	if f.refusal == nil {
		f.refusal = err
	}
	return err
}

// Refusal returns the first read this filesystem refused (an
// *OutsideError, or an error wrapping ErrInputTooLarge), or nil. Readers
// like kustomize flatten the errors they get into strings; this one is
// whole.
func (f *FS) Refusal() error { return f.refusal }

// New returns the filesystem of the repository at root, whose path in the
// repository is prefix ("" when root is the repository itself), reading
// within limits.
func New(root, prefix string, limits Limits) (*FS, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("repository root: %w", err)
	}
	return &FS{
		symlinked: new(atomic.Bool),
		disk:      filesys.MakeFsOnDisk(),
		root:      real,
		prefix:    path.Clean("/" + filepath.ToSlash(prefix))[1:],
		overlay:   map[string][]byte{},
		limits:    newBudget(limits),
		measures:  map[string]measured{},
	}, nil
}

// Symlinked reports whether any path resolved so far, by this filesystem
// or the one it was made Again from, went through a symlink.
func (f *FS) Symlinked() bool { return f.symlinked.Load() }

// Root is the repository root's absolute, real path.
func (f *FS) Root() string { return f.root }

// Replace makes reads of the file at the real path real return data: a
// file the render changes in memory. A replaced file is measured against
// the limits as it is read, like any other.
func (f *FS) Replace(real string, data []byte) { f.overlay[real] = data }

// Replacement returns what Replace put at real, if anything.
func (f *FS) Replacement(real string) ([]byte, bool) {
	data, ok := f.overlay[real]
	return data, ok
}

// BytesRead is how many bytes the reads so far counted against
// MaxTotalBytes.
func (f *FS) BytesRead() int64 {
	f.limits.mu.Lock()
	defer f.limits.mu.Unlock()
	return f.limits.read
}

// Again returns a filesystem over the same root with the same
// replacements, whose reads count against the limits from read bytes on
// (what BytesRead said before a run that is done again), and that has
// refused nothing yet.
func (f *FS) Again(read int64) *FS {
	g := &FS{
		disk:     f.disk,
		root:     f.root,
		prefix:   f.prefix,
		overlay:  maps.Clone(f.overlay),
		limits:   newBudget(f.limits.limits),
		measures: map[string]measured{},
	}
	f.mu.Lock()
	maps.Copy(g.measures, f.measures)
	f.mu.Unlock()
	g.limits.read = read
	g.symlinked = f.symlinked
	return g
}

// Rel writes a path as the repository sees it, so that messages never show
// the sidecar's temporary directories.
func (f *FS) Rel(p string) string {
	r, err := filepath.Rel(f.root, p)
	if err != nil {
		return filepath.Base(p)
	}
	return path.Join(f.prefix, filepath.ToSlash(r))
}

// ErrSymlinkLoop is wrapped by the error of a path whose symlinks lead
// back to themselves.
var ErrSymlinkLoop = errors.New("its symlinks form a loop")

// Limits are the limits reads count against.
func (f *FS) Limits() Limits { return f.limits.limits }

// Resolve returns the real path of path, which must stay inside the root.
// A path that does not exist yet is resolved through its deepest existing
// ancestor, so a dangling symlink cannot point outside either.
func (f *FS) Resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	real, err := f.evalCached(abs)
	if err != nil {
		if _, serr := os.Stat(abs); errors.Is(serr, syscall.ELOOP) {
			return "", fmt.Errorf("%q: %w", f.Rel(abs), ErrSymlinkLoop)
		}
		return "", fmt.Errorf("resolving %q: %w", f.Rel(abs), unwrapPathError(err))
	}
	if real != abs {
		f.symlinked.Store(true)
	}
	if !f.inside(real) {
		target := f.Rel(real)
		return "", &OutsideError{
			Path:    f.Rel(abs),
			Symlink: f.inside(filepath.Clean(abs)),
			Escapes: target == ".." || strings.HasPrefix(target, "../"),
		}
	}
	return real, nil
}

func (f *FS) inside(p string) bool {
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
func (f *FS) evalCached(abs string) (string, error) {
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

// ReadFile reads the regular file at path, confined to the root, without
// blocking, and no more of it than the limits allow; its bytes count
// against the render's total and are measured as YAML before the reader
// gets them.
func (f *FS) ReadFile(path string) ([]byte, error) {
	real, err := f.Resolve(path)
	if err != nil {
		return nil, f.refuse(err)
	}
	if data, ok := f.overlay[real]; ok {
		return data, nil
	}
	name := f.Rel(real)
	data, err := readRegular(real, name, f.limits.limits.MaxFileBytes)
	if err != nil {
		return nil, f.refuseLimit(err)
	}
	if err := f.limits.admitSize(name, int64(len(data))); err != nil {
		return nil, f.refuse(err)
	}
	if _, err := f.measure(real, name, data); err != nil {
		return nil, f.refuse(err)
	}
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

func (f *FS) Exists(path string) bool {
	real, err := f.Resolve(path)
	if err != nil {
		return false
	}
	if _, ok := f.overlay[real]; ok {
		return true
	}
	return f.disk.Exists(real)
}

// Present says whether path names an entry of a directory inside the
// root, whatever it is or leads to: a symlink to nothing is present, and
// does not exist.
func (f *FS) Present(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	real, err := f.evalCached(filepath.Dir(abs))
	if err != nil || !f.inside(real) {
		return false
	}
	p := filepath.Join(real, filepath.Base(abs))
	if _, ok := f.overlay[p]; ok {
		return true
	}
	_, err = os.Lstat(p)
	return err == nil
}

func (f *FS) IsDir(path string) bool {
	real, err := f.Resolve(path)
	return err == nil && f.disk.IsDir(real)
}

func (f *FS) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	if _, err := f.Resolve(path); err != nil {
		return "", "", f.refuse(err)
	}
	dir, file, err := f.disk.CleanedAbs(path)
	if err != nil {
		return "", "", errors.New(strings.ReplaceAll(err.Error(), f.root+string(filepath.Separator), ""))
	}
	return dir, file, nil
}

func (f *FS) ReadDir(path string) ([]string, error) {
	real, err := f.Resolve(path)
	if err != nil {
		return nil, err
	}
	return f.disk.ReadDir(real)
}

func (f *FS) Glob(pattern string) ([]string, error) {
	matches, err := f.disk.Glob(pattern)
	if err != nil {
		return nil, err
	}
	inside := matches[:0]
	for _, m := range matches {
		if _, err := f.Resolve(m); err == nil {
			inside = append(inside, m)
		}
	}
	return inside, nil
}

func (f *FS) Walk(path string, walkFn filepath.WalkFunc) error {
	if _, err := f.Resolve(path); err != nil {
		return err
	}
	return f.disk.Walk(path, walkFn)
}

func (f *FS) Open(p string) (filesys.File, error) {
	if _, err := f.Resolve(p); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("opening %q: %w", f.Rel(p), errReadOnly)
}

func (f *FS) Create(path string) (filesys.File, error) { return nil, errReadOnly }
func (f *FS) Mkdir(path string) error                  { return errReadOnly }
func (f *FS) MkdirAll(path string) error               { return errReadOnly }
func (f *FS) RemoveAll(path string) error              { return errReadOnly }
func (f *FS) WriteFile(path string, data []byte) error { return errReadOnly }

// Scrub rewrites absolute paths under the root in err's message as
// repository paths, so that no message shows where the sidecar unpacked
// the repository. The result wraps err.
func (f *FS) Scrub(err error) error {
	msg := err.Error()
	prefix, root := "", "."
	if f.prefix != "" {
		prefix, root = f.prefix+"/", f.prefix
	}
	scrubbed := strings.ReplaceAll(msg, f.root+string(filepath.Separator), prefix)
	scrubbed = strings.ReplaceAll(scrubbed, f.root, root)
	if scrubbed == msg {
		return err
	}
	return redact.Reword(err, scrubbed)
}
