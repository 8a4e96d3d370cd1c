package git

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
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

// File is a file of a tree at some revision, with its content.
type File struct {
	Path string // slash-separated, relative to the top of the repository
	Mode Mode
	Data []byte
}

// Entry is a file of a tree at some revision, without its content: a
// regular or executable file, a symbolic link or a submodule.
type Entry struct {
	Path   string // slash-separated, relative to the top of the repository
	Mode   Mode
	Object string
	// Size is the size of the blob in bytes (for a symbolic link, of its
	// target); 0 for a submodule.
	Size int64
}

// TreeError is an entry in a tree that git itself refuses to check out
// (git fsck reports it as hasDot, hasDotdot, hasDotgit, emptyName,
// badFilemode or duplicateEntries): a repository holds one only when a
// server accepted it without checking. Nothing of the tree is read.
type TreeError struct {
	// Rev is the revision whose tree holds the entry.
	Rev string
	// Path is the entry's path as git lists it.
	Path   string
	Reason string
}

func (e *TreeError) Error() string {
	return fmt.Sprintf("the tree of %s holds %q, which git refuses to check out: %s", e.Rev, e.Path, e.Reason)
}

// entry is one line of "git ls-tree".
type entry struct {
	mode Mode
	typ  string // blob, tree or commit
	obj  string
	size int64 // -1 for trees and submodules
	path string
}

// lsTree lists the entries of tree-ish rev at paths (all when none given),
// with their sizes, and refuses the listing when an entry is one git would
// refuse to check out (checkEntries).
func (r *Repo) lsTree(ctx context.Context, rev string, recursive bool, paths ...string) ([]entry, error) {
	args := []string{"ls-tree", "-z", "--long", "--full-tree"}
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
		if !ok || len(f) != 4 {
			return nil, fmt.Errorf("unexpected git ls-tree output %q", line)
		}
		mode, err := strconv.ParseUint(f[0], 8, 32)
		if err != nil {
			return nil, fmt.Errorf("unexpected git ls-tree output %q", line)
		}
		size := int64(-1)
		if f[3] != "-" {
			if size, err = strconv.ParseInt(f[3], 10, 64); err != nil || size < 0 {
				return nil, fmt.Errorf("unexpected git ls-tree output %q", line)
			}
		}
		entries = append(entries, entry{mode: Mode(mode), typ: f[1], obj: f[2], size: size, path: p})
	}
	if err := checkEntries(rev, entries); err != nil {
		return nil, err
	}
	return entries, nil
}

// checkEntries refuses entries git would refuse to check out: a path
// element that is empty, ".", ".." or a spelling of ".git", a mode git does
// not write, the same path twice, and a file on the way to another path.
// Any of them could make a checkout write outside its directory or into
// the repository itself.
func checkEntries(rev string, entries []entry) error {
	kinds := make(map[string]string, len(entries))
	for _, e := range entries {
		if reason := checkTreePath(e.path); reason != "" {
			return &TreeError{Rev: rev, Path: e.path, Reason: reason}
		}
		switch {
		case e.typ == "tree" && e.mode == 0o40000:
		case e.typ == "commit" && e.mode == ModeSubmodule:
		case e.typ == "blob" && (e.mode == ModeRegular || e.mode == ModeExecutable || e.mode == ModeSymlink):
		default:
			return &TreeError{Rev: rev, Path: e.path, Reason: fmt.Sprintf("a %s of mode %s is not an entry git writes", e.typ, e.mode)}
		}
		if _, dup := kinds[e.path]; dup {
			return &TreeError{Rev: rev, Path: e.path, Reason: "the tree lists it twice"}
		}
		kinds[e.path] = e.typ
	}
	for _, e := range entries {
		for dir := path.Dir(e.path); dir != "."; dir = path.Dir(dir) {
			if typ, ok := kinds[dir]; ok && typ != "tree" {
				return &TreeError{Rev: rev, Path: e.path, Reason: fmt.Sprintf("%q is a file, not a directory", dir)}
			}
		}
	}
	return nil
}

// checkTreePath says why git would refuse a path of a tree, "" when it
// would not.
func checkTreePath(p string) string {
	if p == "" {
		return "the path is empty"
	}
	for el := range strings.SplitSeq(p, "/") {
		switch {
		case el == "":
			return "a path element is empty"
		case el == "." || el == "..":
			return fmt.Sprintf("%q is not a file name", el)
		case isDotGit(el):
			return fmt.Sprintf("%q names the .git directory", el)
		}
	}
	return ""
}

// isDotGit reports whether a path element names the .git directory on some
// filesystem a clone may live on, as git's own checks see it: in any case,
// with HFS+'s ignored code points, NTFS's ignored trailing dots and spaces,
// its alternate streams (".git::$INDEX_ALLOCATION") and its short name
// ("git~1").
func isDotGit(el string) bool {
	el = strings.Map(func(r rune) rune {
		if hfsIgnorable(r) {
			return -1
		}
		return r
	}, el)
	el, _, _ = strings.Cut(el, ":")
	el = strings.TrimRight(el, ". ")
	return strings.EqualFold(el, ".git") || strings.EqualFold(el, "git~1")
}

// hfsIgnorable lists the code points HFS+ ignores in file names (git's
// is_hfs_dotgit).
func hfsIgnorable(r rune) bool {
	return r >= 0x200c && r <= 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x206a && r <= 0x206f || r == 0xfeff
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
		if isDotGit(el) {
			return errors.New("path must not contain a .git element")
		}
	}
	return nil
}

// ReadFile returns the content of the regular or executable file at path in
// revision rev (a commit or tree, typically the head returned by Fetch),
// refusing a file larger than max bytes before reading any of it. When rev
// has no such path the error wraps fs.ErrNotExist; symbolic links,
// submodules and directories are reported as errors that do not.
func (r *Repo) ReadFile(ctx context.Context, rev, path string, max int64) ([]byte, error) {
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
	if entries[i].size > max {
		return fail(&SizeError{Path: path, Size: entries[i].size, Max: max})
	}
	var data []byte
	err = r.Blobs(ctx, []Entry{entries[i].public()}, func(_ Entry, rd io.Reader) error {
		data, err = io.ReadAll(rd)
		return err
	})
	if err != nil {
		return fail(err)
	}
	return data, nil
}

// SizeError is a file larger than a reader takes.
type SizeError struct {
	Path      string
	Size, Max int64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%q is %d bytes, more than the %d read", e.Path, e.Size, e.Max)
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

func (e entry) public() Entry {
	return Entry{Path: e.path, Mode: e.mode, Object: e.obj, Size: max(e.size, 0)}
}

// List returns every file below directory dir in revision rev,
// recursively and sorted by path, without their content: a caller reads
// the blobs it needs with Blobs. dir "" or "." means the whole tree. The
// listing is refused with a *TreeError when any entry is one git would
// refuse to check out. When dir does not exist the error wraps
// fs.ErrNotExist.
func (r *Repo) List(ctx context.Context, rev, dir string) ([]Entry, error) {
	fail := func(err error) ([]Entry, error) { return nil, r.wrap(err, "listing %q at %q", dir, rev) }
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
	if te := (*TreeError)(nil); errors.As(err, &te) {
		te.Rev = rev
		return nil, te // it names the revision and quotes the path
	}
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
	list := make([]Entry, len(entries))
	for i, e := range entries {
		list[i] = e.public()
	}
	slices.SortFunc(list, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return list, nil
}

// Blobs streams the content of each entry's blob to each, in order, through
// one git process: the reader yields exactly the entry's Size bytes and
// holds nothing else in memory. An entry without a blob (a submodule) is an
// error, and so is a blob of another size than listed. each may read any
// part of its reader; an error from it stops the stream.
func (r *Repo) Blobs(ctx context.Context, entries []Entry, each func(Entry, io.Reader) error) error {
	if len(entries) == 0 {
		return nil
	}
	var req strings.Builder
	for _, e := range entries {
		if e.Mode == ModeSubmodule || !isObjectName(e.Object) {
			return fmt.Errorf("%q has no blob to read", e.Path)
		}
		req.WriteString(e.Object + "\n")
	}
	_, err := r.run(ctx, runOpts{stdin: []byte(req.String()), readStdout: func(out io.Reader) error {
		br := bufio.NewReader(out)
		for _, e := range entries {
			header, err := br.ReadString('\n')
			if err != nil {
				return fmt.Errorf("git cat-file ended before %s: %w", e.Object, err)
			}
			f := strings.Fields(header)
			if len(f) != 3 || f[0] != e.Object || f[1] != "blob" || f[2] != strconv.FormatInt(e.Size, 10) {
				return fmt.Errorf("unexpected git cat-file output for %s (%q, want a blob of %d bytes): %q", e.Object, e.Path, e.Size, strings.TrimSpace(header))
			}
			body := io.LimitReader(br, e.Size)
			if err := each(e, body); err != nil {
				return err
			}
			// What each left, and the newline after the blob.
			if _, err := io.Copy(io.Discard, body); err != nil {
				return err
			}
			if b, err := br.ReadByte(); err != nil || b != '\n' {
				return fmt.Errorf("unexpected git cat-file output after %s", e.Object)
			}
		}
		return nil
	}}, "cat-file", "--batch")
	return err
}
