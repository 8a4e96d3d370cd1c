package check

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"

	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/render"
	"github.com/digestpin/digestpin/internal/repofs"
)

// Target is one thing check judged: a kustomization directory (rendered)
// or a plain YAML file.
type Target struct {
	// Path is relative to the root.
	Path          string
	Kustomization bool
	Violations    []policy.Violation
	// Err is a render or read failure; the target was not judged.
	Err error
}

// Paths judges every target under the given paths. A directory holding a
// kustomization is rendered as one target; any other directory is walked,
// its .yaml, .yml and .json files judged as plain manifests. Paths are
// relative to the working directory and must lie under root, which bounds
// what is read. tuning is how the renders go about their work.
//
// Symlinks inside the root are followed, as Argo CD's render follows them:
// a path, a directory below it or a file that is a symlink to a
// kustomization or to a manifest is judged as what it leads to, under the
// name it was reached by. Each real directory and file is judged once, so
// that links to a directory already walked (a loop, or a second name)
// judge nothing twice. A symlink that leads out of the root is an error
// target naming it: Argo CD refuses a repository that holds one. A path
// under which nothing was judged is an error target too, never a pass.
func Paths(root string, paths []string, pol policy.Policy, tuning render.Tuning) ([]Target, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	fsys, err := repofs.New(root, "", repofs.DefaultLimits())
	if err != nil {
		return nil, err
	}
	w := &walker{root: root, fsys: fsys, pol: pol, tuning: tuning, seen: map[string]bool{}}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("%q is outside the root %q; pass --root", p, root)
		}
		if _, err := os.Lstat(abs); err != nil {
			return nil, fmt.Errorf("checking %q: %w", p, unwrapPathError(err))
		}
		before := len(w.targets)
		w.entry(filepath.ToSlash(rel), abs, true)
		if len(w.targets) == before {
			w.targets = append(w.targets, Target{Path: filepath.ToSlash(rel), Err: fmt.Errorf("%w: no kustomization and no .yaml, .yml or .json file under %q", ErrNothingJudged, p)})
		}
	}
	return w.targets, nil
}

// ErrNothingJudged is the error of a path under which check found nothing
// to judge.
var ErrNothingJudged = errors.New("nothing to judge")

type walker struct {
	root    string
	fsys    *repofs.FS
	pol     policy.Policy
	tuning  render.Tuning
	targets []Target
	// seen holds the real paths of the directories and files judged or
	// walked.
	seen map[string]bool
}

func (w *walker) fail(rel string, err error) {
	w.targets = append(w.targets, Target{Path: rel, Err: err})
}

// entry judges what the path abs, named rel, is or leads to. named says
// the user named it: a file they name is judged whatever its extension.
func (w *walker) entry(rel, abs string, named bool) {
	real, err := w.fsys.Resolve(abs)
	if err != nil {
		// A link out of the repository, or into a loop.
		if named || isManifest(abs) || errors.Is(err, repofs.ErrOutsideRoot) {
			w.fail(rel, err)
		}
		return
	}
	info, err := os.Stat(real)
	switch {
	case err != nil:
		// A symlink to nothing: judged only when it names a manifest.
		if named || isManifest(abs) {
			w.fail(rel, fmt.Errorf("%q is a symlink to a file that does not exist", rel))
		}
	case info.IsDir():
		if !named && encloses(real, filepath.Dir(abs)) {
			// A link to a directory that holds it: a loop.
			return
		}
		w.dir(rel, real)
	case named || isManifest(abs):
		if w.seen[real] {
			return
		}
		w.seen[real] = true
		w.targets = append(w.targets, manifestTarget(w.root, rel, real, w.pol))
	}
}

// dir judges the directory real, named rel: rendered when it holds a
// kustomization, walked otherwise.
func (w *walker) dir(rel, real string) {
	if w.seen[real] {
		return
	}
	w.seen[real] = true
	if hasKustomization(real) {
		w.targets = append(w.targets, kustomizationTarget(w.root, rel, w.pol, w.tuning))
		return
	}
	entries, err := os.ReadDir(real)
	if err != nil {
		w.fail(rel, fmt.Errorf("reading %q: %w", rel, unwrapPathError(err)))
		return
	}
	for _, e := range entries {
		if e.Name() == ".git" {
			continue
		}
		w.entry(path.Join(rel, e.Name()), filepath.Join(real, e.Name()), false)
	}
}

// encloses says whether the directory dir is p or holds it. p is the
// real path of a directory being walked: w.dir passes real paths down.
func encloses(dir, p string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

func isManifest(p string) bool {
	ext := filepath.Ext(p)
	return ext == ".yaml" || ext == ".yml" || ext == ".json"
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// hasKustomization says whether dir holds an entry with a kustomization
// file's name that is not a directory: a kustomization file that cannot be
// read (a symlink leading out, into a loop or to nothing) is rendered, so
// that the render says why.
func hasKustomization(dir string) bool {
	return slices.ContainsFunc(konfig.RecognizedKustomizationFileNames(), func(name string) bool {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); err != nil {
			return false
		}
		info, err := os.Stat(p)
		return err != nil || !info.IsDir()
	})
}

func kustomizationTarget(root, rel string, pol policy.Policy, tuning render.Tuning) Target {
	t := Target{Path: rel, Kustomization: true}
	_, err := Kustomization(render.Options{Root: root, Dir: filepath.FromSlash(rel), Tuning: tuning}, pol)
	if refusal, ok := err.(*policy.Refusal); ok {
		t.Violations = refusal.Violations
	} else {
		t.Err = err
	}
	return t
}

// manifestTarget judges the plain manifest at the real path real, named
// rel. It is read like a render reads: a regular file inside the root,
// without blocking, within the limits.
func manifestTarget(root, rel, real string, pol policy.Policy) Target {
	t := Target{Path: rel}
	fsys, err := repofs.New(root, "", repofs.DefaultLimits())
	if err != nil {
		t.Err = err
		return t
	}
	data, err := fsys.ReadFile(real)
	if err != nil {
		t.Err = err
		return t
	}
	if m, err := fsys.Measure(real); err != nil {
		t.Err = err
		return t
	} else if l := fsys.Limits(); m.Objects > l.MaxObjects {
		t.Err = fmt.Errorf("%q holds more than %d objects: %w", rel, l.MaxObjects, repofs.ErrInputTooLarge)
		return t
	}
	t.Violations, t.Err = judgeManifests(rel, data, pol)
	return t
}

// FindRoot returns the enclosing git work tree of dir, or dir itself.
func FindRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return abs, nil
		}
	}
}
