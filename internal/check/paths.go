package check

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"

	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/render"
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
// what kustomizations may read. tuning is how the renders go about their
// work.
func Paths(root string, paths []string, pol policy.Policy, tuning render.Tuning) ([]Target, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	var targets []Target
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("%q is outside the root %q; pass --root", p, root)
		}
		info, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("checking %q: %w", p, err)
		}
		if !info.IsDir() {
			targets = append(targets, manifestTarget(root, rel, pol))
			continue
		}
		err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if d.IsDir() {
				if d.Name() == ".git" {
					return filepath.SkipDir
				}
				if hasKustomization(path) {
					targets = append(targets, kustomizationTarget(root, rel, pol, tuning))
					return filepath.SkipDir
				}
				return nil
			}
			if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" || ext == ".json" {
				targets = append(targets, manifestTarget(root, rel, pol))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("checking %q: %w", p, err)
		}
	}
	return targets, nil
}

func hasKustomization(dir string) bool {
	return slices.ContainsFunc(konfig.RecognizedKustomizationFileNames(), func(name string) bool {
		info, err := os.Stat(filepath.Join(dir, name))
		return err == nil && !info.IsDir()
	})
}

func kustomizationTarget(root, rel string, pol policy.Policy, tuning render.Tuning) Target {
	t := Target{Path: filepath.ToSlash(rel), Kustomization: true}
	_, err := Kustomization(render.Options{Root: root, Dir: rel, Tuning: tuning}, pol)
	if refusal, ok := err.(*policy.Refusal); ok {
		t.Violations = refusal.Violations
	} else {
		t.Err = err
	}
	return t
}

func manifestTarget(root, rel string, pol policy.Policy) Target {
	t := Target{Path: filepath.ToSlash(rel)}
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err == nil {
		t.Violations, err = Manifests(t.Path, data, pol)
	}
	t.Err = err
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
