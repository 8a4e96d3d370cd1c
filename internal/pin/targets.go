package pin

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"

	"github.com/digestpin/digestpin/internal/git"
	"github.com/digestpin/digestpin/internal/promote"
)

// target is one thing pin renders or reads: a kustomization directory or a
// manifest.
type target struct {
	// path is the directory or the manifest, by repository path.
	path          string
	kustomization bool
	// file is the kustomization file, or the manifest, as committed.
	file git.File
}

// targets finds what the paths name in tree: a directory with a
// kustomization is one target; another directory is walked, each
// kustomization directory below it a target (nothing below that one is
// looked at) and each .yaml, .yml or .json file outside them a manifest; a
// file is a manifest. A path that names nothing to judge is a usage error.
func targets(tree *promote.Tree, paths []string) ([]target, error) {
	var found []target
	seen := map[string]bool{}
	add := func(t target) {
		if !seen[t.path] {
			seen[t.path] = true
			found = append(found, t)
		}
	}
	for _, p := range cleanPaths(paths) {
		f, err := tree.File(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if err == nil {
			switch {
			case f.Mode == git.ModeSymlink:
				return nil, usage("%s is a symbolic link at %s; pin edits files, so name what it points to", p, tree.Head)
			case f.Mode == git.ModeSubmodule:
				return nil, usage("%s is a submodule at %s", p, tree.Head)
			case isKustomizationFile(path.Base(p)):
				return nil, usage("%s is a kustomization file; name its directory, %s", p, path.Dir(p))
			}
			add(target{path: p, file: f})
			continue
		}
		if !tree.IsDir(p) {
			return nil, usage("%s is not a file or directory at %s", p, tree.Head)
		}
		before := len(found)
		if err := walk(tree, p, add); err != nil {
			return nil, err
		}
		if len(found) == before && !slices.ContainsFunc(found, func(t target) bool { return within(p, t.path) }) {
			return nil, usage("%s holds no kustomization and no YAML manifest at %s", p, tree.Head)
		}
	}
	return found, nil
}

func walk(tree *promote.Tree, dir string, add func(target)) error {
	k, ok, err := tree.Kustomization(dir)
	if err != nil {
		return err
	}
	if ok {
		if k.Mode == git.ModeSymlink {
			return usage("%s is a symbolic link at %s; pin edits files, so name the directory it points to", k.Path, tree.Head)
		}
		add(target{path: dir, kustomization: true, file: k})
		return nil
	}
	files := tree.Under(dir)
	// The kustomization directories below dir, outermost only.
	var all []string
	for _, f := range files {
		if isKustomizationFile(path.Base(f.Path)) {
			all = append(all, path.Dir(f.Path))
		}
	}
	var kdirs []string
	for _, d := range all {
		if !slices.ContainsFunc(all, func(k string) bool { return k != d && within(k, d) }) && !slices.Contains(kdirs, d) {
			kdirs = append(kdirs, d)
		}
	}
	for _, f := range files {
		if slices.ContainsFunc(kdirs, func(k string) bool { return within(k, f.Path) }) {
			continue
		}
		if (f.Mode == git.ModeRegular || f.Mode == git.ModeExecutable) && isManifestName(f.Path) {
			file, err := tree.File(f.Path)
			if err != nil {
				return err
			}
			add(target{path: f.Path, file: file})
		}
	}
	for _, d := range kdirs {
		if err := walk(tree, d, add); err != nil {
			return err
		}
	}
	return nil
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

func isKustomizationFile(name string) bool {
	return slices.Contains(konfig.RecognizedKustomizationFileNames(), name)
}

func isManifestName(p string) bool {
	switch path.Ext(p) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}
