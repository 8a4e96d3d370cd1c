package git

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The identity commits are made with when the clone's configuration (as git
// sees it from the work tree: repository, global, system and GIT_CONFIG_*
// settings) sets no user.name or no user.email.
const (
	DefaultName  = "digestpin"
	DefaultEmail = "digestpin@users.noreply.github.com"
)

// Identity is the author and committer of the commits Commit makes.
type Identity struct {
	Name  string
	Email string
	// Default reports that Name or Email (or both) is DefaultName or
	// DefaultEmail because the configuration does not set it.
	Default bool
}

// String formats the identity as git does: "Name <email>".
func (id Identity) String() string { return id.Name + " <" + id.Email + ">" }

// Identity returns the identity Commit uses: user.name and user.email from
// the clone's configuration, each replaced by DefaultName or DefaultEmail when
// unset or empty. Author and committer are the same; GIT_AUTHOR_* and
// GIT_COMMITTER_* variables in the environment are ignored, so that what this
// reports is what the commit records.
func (r *Repo) Identity(ctx context.Context) (Identity, error) {
	out, err := r.run(ctx, runOpts{okExit: []int{1}}, "config", "-z", "--get-regexp", `^user\.(name|email)$`)
	if err != nil {
		return Identity{}, r.wrap(err, "resolving the commit identity")
	}
	var id Identity
	for entry := range strings.SplitSeq(string(out), "\x00") {
		key, value, _ := strings.Cut(entry, "\n")
		switch key {
		case "user.name":
			id.Name = strings.TrimSpace(value)
		case "user.email":
			id.Email = strings.TrimSpace(value)
		}
	}
	if id.Name == "" {
		id.Name, id.Default = DefaultName, true
	}
	if id.Email == "" {
		id.Email, id.Default = DefaultEmail, true
	}
	return id, nil
}

// Commit creates a commit whose parent is parent (typically the head
// returned by Fetch) and whose tree is parent's tree with the files in
// changes (path relative to the top of the repository → content) written,
// and returns its object name. The content is stored as given, without
// .gitattributes filters or end-of-line conversion. A file that exists keeps
// its mode (regular or executable); new files are regular. Replacing a
// directory, symbolic link or submodule is refused.
//
// The commit is built in the object database and a temporary index only:
// the working tree, the index, HEAD and all branches are left as they are,
// so nothing is visible until Push. message is recorded as given (a final
// newline is added when missing), trailers included. When the resulting
// tree equals parent's tree, Commit returns an error wrapping ErrNoChanges.
func (r *Repo) Commit(ctx context.Context, parent string, changes map[string][]byte, message string) (string, error) {
	fail := func(err error) (string, error) { return "", r.wrap(err, "committing onto %q", parent) }
	if strings.TrimSpace(message) == "" {
		return fail(errors.New("empty commit message"))
	}
	if !strings.HasSuffix(message, "\n") {
		message += "\n"
	}
	if len(changes) == 0 {
		return fail(ErrNoChanges)
	}
	paths := slices.Sorted(maps.Keys(changes))
	for _, p := range paths {
		if err := checkPath(p); err != nil {
			return fail(fmt.Errorf("%q: %w", p, err))
		}
	}
	commit, err := r.resolve(ctx, parent, "commit")
	if err != nil {
		return fail(err)
	}
	parentTree, err := r.resolve(ctx, commit, "tree")
	if err != nil {
		return fail(err)
	}
	existing, err := r.lsTree(ctx, commit, false, paths...)
	if err != nil {
		return fail(err)
	}
	modes := make(map[string]Mode, len(paths))
	for _, e := range existing {
		if _, ok := changes[e.path]; !ok {
			continue // a directory on the way to a changed path
		}
		if err := regular(e); err != nil {
			return fail(fmt.Errorf("%q %w in the parent commit", e.path, err))
		}
		modes[e.path] = e.mode
	}
	id, err := r.Identity(ctx)
	if err != nil {
		return fail(err)
	}

	tmp, err := os.MkdirTemp("", "digestpin-git-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)
	indexEnv := append(slices.Clip(r.env), "GIT_INDEX_FILE="+filepath.Join(tmp, "index"))

	if _, err := r.run(ctx, runOpts{env: indexEnv}, "read-tree", commit); err != nil {
		return fail(err)
	}
	update := []string{"update-index", "--add"}
	for _, p := range paths {
		out, err := r.run(ctx, runOpts{stdin: changes[p]}, "hash-object", "-w", "--stdin")
		if err != nil {
			return fail(fmt.Errorf("%q: %w", p, err))
		}
		mode := cmp.Or(modes[p], ModeRegular)
		update = append(update, "--cacheinfo", mode.String()+","+strings.TrimSpace(string(out))+","+p)
	}
	if _, err := r.run(ctx, runOpts{env: indexEnv}, update...); err != nil {
		return fail(err)
	}
	out, err := r.run(ctx, runOpts{env: indexEnv}, "write-tree")
	if err != nil {
		return fail(err)
	}
	tree := strings.TrimSpace(string(out))
	if tree == parentTree {
		return fail(ErrNoChanges)
	}

	commitEnv := append(slices.Clip(r.env),
		"GIT_AUTHOR_NAME="+id.Name, "GIT_AUTHOR_EMAIL="+id.Email,
		"GIT_COMMITTER_NAME="+id.Name, "GIT_COMMITTER_EMAIL="+id.Email)
	out, err = r.run(ctx, runOpts{env: commitEnv, stdin: []byte(message)}, "commit-tree", tree, "-p", commit, "-F", "-")
	if err != nil {
		return fail(err)
	}
	return strings.TrimSpace(string(out)), nil
}
