package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Mode is the mode of a tree entry as git records it.
type Mode uint32

// The modes git records for files.
const (
	ModeRegular    Mode = 0o100644
	ModeExecutable Mode = 0o100755
	ModeSymlink    Mode = 0o120000 // Data is the link target
	ModeSubmodule  Mode = 0o160000 // a gitlink; Data is nil
)

// String returns the mode in git's octal notation, such as "100644".
func (m Mode) String() string { return strconv.FormatUint(uint64(m), 8) }

// File is a file of a tree at some revision.
type File struct {
	Path string // slash-separated, relative to the top of the repository
	Mode Mode
	Data []byte
}

// entry is one line of "git ls-tree".
type entry struct {
	mode Mode
	typ  string // blob, tree or commit
	obj  string
	path string
}

// lsTree lists the entries of tree-ish rev at paths (all when none given).
func (r *Repo) lsTree(ctx context.Context, rev string, recursive bool, paths ...string) ([]entry, error) {
	args := []string{"ls-tree", "-z", "--full-tree"}
	if recursive {
		args = append(args, "-r")
	}
	// ls-tree has no "--" separator: after --end-of-options, a "--" would
	// be taken for a path.
	args = append(args, "--end-of-options", rev)
	out, err := r.run(ctx, runOpts{}, append(args, paths...)...)
	if err != nil {
		return nil, err
	}
	var entries []entry
	for line := range strings.SplitSeq(string(out), "\x00") {
		if line == "" {
			continue
		}
		meta, p, ok := strings.Cut(line, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 3 {
			return nil, fmt.Errorf("unexpected git ls-tree output %q", line)
		}
		mode, err := strconv.ParseUint(f[0], 8, 32)
		if err != nil {
			return nil, fmt.Errorf("unexpected git ls-tree output %q", line)
		}
		entries = append(entries, entry{mode: Mode(mode), typ: f[1], obj: f[2], path: p})
	}
	return entries, nil
}

// checkPath rejects paths that do not name a file inside the repository in
// the form git stores it: relative, slash-separated and clean.
func checkPath(p string) error {
	switch {
	case p == "" || p == ".":
		return errors.New("empty path")
	case p == "..":
		return errors.New("path must not leave the repository")
	case strings.HasPrefix(p, "/"):
		return errors.New("path must be relative to the top of the repository")
	case path.Clean(p) != p || strings.Contains(p, "\\") || strings.HasPrefix(p, "../"):
		return errors.New("path must be clean and slash-separated, without . or .. elements")
	case strings.ContainsRune(p, 0):
		return errors.New("path contains a NUL byte")
	}
	for el := range strings.SplitSeq(p, "/") {
		if strings.EqualFold(el, ".git") {
			return errors.New("path must not contain a .git element")
		}
	}
	return nil
}

// ReadFile returns the content of the regular or executable file at path in
// revision rev (a commit or tree, typically the head returned by Fetch).
// When rev has no such path the error wraps fs.ErrNotExist; symbolic links,
// submodules and directories are reported as errors that do not.
func (r *Repo) ReadFile(ctx context.Context, rev, path string) ([]byte, error) {
	fail := func(err error) ([]byte, error) { return nil, r.wrap(err, "reading %q at %q", path, rev) }
	if err := checkPath(path); err != nil {
		return fail(err)
	}
	tree, err := r.resolve(ctx, rev, "tree")
	if err != nil {
		return fail(err)
	}
	entries, err := r.lsTree(ctx, tree, false, path)
	if err != nil {
		return fail(err)
	}
	i := slices.IndexFunc(entries, func(e entry) bool { return e.path == path })
	if i < 0 {
		return fail(fs.ErrNotExist)
	}
	if err := regular(entries[i]); err != nil {
		return fail(err)
	}
	data, err := r.run(ctx, runOpts{}, "cat-file", "blob", entries[i].obj)
	if err != nil {
		return fail(err)
	}
	return data, nil
}

// regular returns an error unless e is a regular or executable file.
func regular(e entry) error {
	switch {
	case e.typ == "tree":
		return errors.New("is a directory")
	case e.mode == ModeSymlink:
		return errors.New("is a symbolic link")
	case e.mode == ModeSubmodule:
		return errors.New("is a submodule")
	case e.mode != ModeRegular && e.mode != ModeExecutable:
		return fmt.Errorf("has unsupported mode %s", e.mode)
	}
	return nil
}

// Files returns every file below directory dir in revision rev, recursively
// and sorted by path, so that a caller can reproduce the directory (for
// example to render a kustomization) from the fetched head without a
// checkout. dir "" or "." means the whole tree. When dir does not exist the
// error wraps fs.ErrNotExist.
func (r *Repo) Files(ctx context.Context, rev, dir string) ([]File, error) {
	fail := func(err error) ([]File, error) { return nil, r.wrap(err, "listing %q at %q", dir, rev) }
	var paths []string
	if dir = strings.TrimSuffix(dir, "/"); dir != "" && dir != "." {
		if err := checkPath(dir); err != nil {
			return fail(err)
		}
		paths = []string{dir}
	}
	tree, err := r.resolve(ctx, rev, "tree")
	if err != nil {
		return fail(err)
	}
	entries, err := r.lsTree(ctx, tree, true, paths...)
	if err != nil {
		return fail(err)
	}
	if len(paths) > 0 {
		if len(entries) == 0 {
			return fail(fs.ErrNotExist)
		}
		if len(entries) == 1 && entries[0].path == dir {
			return fail(errors.New("not a directory"))
		}
	}

	// One cat-file process reads all blobs; objects are requested by name,
	// so the answers come back in request order.
	var req bytes.Buffer
	for _, e := range entries {
		if e.typ == "blob" {
			req.WriteString(e.obj + "\n")
		}
	}
	var out []byte
	if req.Len() > 0 {
		out, err = r.run(ctx, runOpts{stdin: req.Bytes()}, "cat-file", "--batch")
		if err != nil {
			return fail(err)
		}
	}
	files := make([]File, 0, len(entries))
	for _, e := range entries {
		f := File{Path: e.path, Mode: e.mode}
		if e.typ == "blob" {
			if f.Data, out, err = nextBatchObject(out, e.obj); err != nil {
				return fail(err)
			}
		}
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// nextBatchObject splits the next "<obj> <type> <size>\n<data>\n" record
// off the output of "git cat-file --batch".
func nextBatchObject(out []byte, obj string) (data, rest []byte, err error) {
	header, body, ok := bytes.Cut(out, []byte("\n"))
	f := strings.Fields(string(header))
	if !ok || len(f) != 3 || f[0] != obj {
		return nil, nil, fmt.Errorf("unexpected git cat-file output for %s: %q", obj, header)
	}
	size, err := strconv.Atoi(f[2])
	if err != nil || size < 0 || size+1 > len(body) {
		return nil, nil, fmt.Errorf("unexpected git cat-file output for %s: %q", obj, header)
	}
	return body[:size:size], body[size+1:], nil
}
