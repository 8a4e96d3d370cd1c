package git

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snapshot records everything Commit must not change in a clone.
type snapshot struct {
	status, head, refs string
	index, workFile    []byte
}

func takeSnapshot(t *testing.T, dir string) snapshot {
	t.Helper()
	index, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
	if err != nil {
		t.Fatal(err)
	}
	work, err := os.ReadFile(filepath.Join(dir, "apps", "web", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return snapshot{
		status:   gitT(t, dir, "status", "--porcelain", "--untracked-files=all"),
		head:     gitT(t, dir, "rev-parse", "HEAD"),
		refs:     gitT(t, dir, "for-each-ref", "--format=%(refname) %(objectname)"),
		index:    index,
		workFile: work,
	}
}

func TestCommitLeavesCloneUntouched(t *testing.T) {
	t.Parallel()
	bare, seedWork := newRemote(t)
	dir := cloneT(t, bare)
	ctx := t.Context()
	// The remote moves on, so the local main and origin/main are stale.
	newer := advance(t, seedWork, map[string]string{"README.md": "newer\n"})

	r := openT(t, dir)
	head, err := r.Fetch(ctx, "origin", "main")
	if err != nil {
		t.Fatal(err)
	}
	if head != newer {
		t.Fatalf("Fetch() = %s, want %s", head, newer)
	}
	before := takeSnapshot(t, dir)
	if before.status != "" {
		t.Fatalf("clone not clean before Commit: %q", before.status)
	}

	changes := map[string][]byte{
		"apps/web/deployment.yaml": []byte("image: web@sha256:2222\n"),
		"apps/web/hooks/run.sh":    []byte("#!/bin/sh\necho run twice\n"),
		"apps/api/deployment.yaml": []byte("image: api@sha256:3333\n"),
	}
	sha, err := r.Commit(ctx, head, changes, "promote web")
	if err != nil {
		t.Fatal(err)
	}

	if after := takeSnapshot(t, dir); after.status != before.status || after.head != before.head ||
		after.refs != before.refs || !bytes.Equal(after.index, before.index) || !bytes.Equal(after.workFile, before.workFile) {
		t.Errorf("Commit changed the clone:\nbefore %+v\nafter  %+v", before, after)
	}

	if got := gitT(t, dir, "rev-list", "--parents", "-n", "1", sha); got != sha+" "+head {
		t.Errorf("commit parents = %q, want %q", got, sha+" "+head)
	}
	for p, want := range changes {
		if got := gitT(t, dir, "show", sha+":"+p); got+"\n" != string(want) {
			t.Errorf("%s in commit = %q, want %q", p, got, want)
		}
	}
	if got := gitT(t, dir, "show", sha+":README.md"); got != "newer" {
		t.Errorf("README.md in commit = %q, want the fetched head's", got)
	}
	modes := gitT(t, dir, "ls-tree", "-r", "--format=%(objectmode) %(path)", sha, "--", "apps/web", "apps/api")
	wantModes := "100644 apps/api/deployment.yaml\n" +
		"120000 apps/web/current\n" +
		"100644 apps/web/deployment.yaml\n" +
		"100755 apps/web/hooks/run.sh\n" +
		"100644 apps/web/kustomization.yaml"
	if modes != wantModes {
		t.Errorf("modes in commit:\n%s\nwant\n%s", modes, wantModes)
	}
	if got := gitT(t, dir, "log", "-1", "--format=%B", sha); got != "promote web\n" {
		t.Errorf("message = %q, want %q", got, "promote web\n")
	}
}

func TestCommitTrailers(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	dir := cloneT(t, bare)
	r := openT(t, dir)
	ctx := t.Context()
	head := gitT(t, dir, "rev-parse", "origin/main")

	msg := "promote web to sha256:2222\n\nPinned by digestpin.\n\n" +
		"Digestpin-Image: registry.example.com/web@sha256:2222\n" +
		"Digestpin-Previous: sha256:1111\n"
	sha, err := r.Commit(ctx, head, map[string][]byte{"apps/web/deployment.yaml": []byte("x\n")}, msg)
	if err != nil {
		t.Fatal(err)
	}
	if got := gitT(t, dir, "cat-file", "commit", sha); !strings.HasSuffix(got, "\n\n"+strings.TrimSuffix(msg, "\n")) {
		t.Errorf("commit object does not end with the message verbatim:\n%s", got)
	}
	if got := gitT(t, dir, "log", "-1", "--format=%(trailers:key=Digestpin-Image,valueonly)", sha); got != "registry.example.com/web@sha256:2222\n" {
		t.Errorf("Digestpin-Image trailer = %q", got)
	}
	cmdOut := gitT(t, dir, "-c", "core.pager=cat", "log", "-1", "--format=%(trailers:only,unfold)", sha)
	if want := "Digestpin-Image: registry.example.com/web@sha256:2222\nDigestpin-Previous: sha256:1111\n"; cmdOut != want {
		t.Errorf("trailers = %q, want %q", cmdOut, want)
	}
}

func TestCommitNoChanges(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	dir := cloneT(t, bare)
	r := openT(t, dir)
	head := gitT(t, dir, "rev-parse", "origin/main")

	same := map[string][]byte{"apps/web/deployment.yaml": []byte(seed["apps/web/deployment.yaml"])}
	sha, err := r.Commit(t.Context(), head, same, "promote")
	if !errors.Is(err, ErrNoChanges) || sha != "" {
		t.Errorf("Commit(same content) = %q, %v; want ErrNoChanges", sha, err)
	}
	if _, err := r.Commit(t.Context(), head, nil, "promote"); !errors.Is(err, ErrNoChanges) {
		t.Errorf("Commit(no changes) error = %v, want ErrNoChanges", err)
	}
}

func TestCommitRefusals(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	dir := cloneT(t, bare)
	r := openT(t, dir)
	ctx := t.Context()
	head := gitT(t, dir, "rev-parse", "origin/main")
	x := []byte("x\n")

	for _, tc := range []struct {
		parent  string
		changes map[string][]byte
		msg     string
		want    string
	}{
		{head, map[string][]byte{"apps/web/current": x}, "m", `committing onto "` + head + `": "apps/web/current" is a symbolic link in the parent commit`},
		{head, map[string][]byte{"apps/web": x}, "m", `"apps/web" is a directory in the parent commit`},
		{head, map[string][]byte{"README.md/x": x}, "m", "README.md/x"},
		{head, map[string][]byte{"a/../b": x}, "m", `"a/../b": path must be clean`},
		{head, map[string][]byte{".git/hooks/pre-push": x}, "m", ".git element"},
		{head, map[string][]byte{"README.md": x}, " \n", "empty commit message"},
		{"no-such-branch", map[string][]byte{"README.md": x}, "m", `committing onto "no-such-branch": unknown revision "no-such-branch"`},
		{head + "^{tree}", map[string][]byte{"README.md": x}, "m", "no commit of that name"},
	} {
		sha, err := r.Commit(ctx, tc.parent, tc.changes, tc.msg)
		if err == nil || sha != "" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Commit(%q, %v) = %q, %v; want an error containing %q", tc.parent, tc.changes, sha, err, tc.want)
		}
	}
	if got := gitT(t, dir, "status", "--porcelain"); got != "" {
		t.Errorf("refused commits left the clone dirty: %q", got)
	}
}

func TestIdentity(t *testing.T) {
	bare, _ := newRemote(t)
	dir := cloneT(t, bare)
	ctx := t.Context()
	head := gitT(t, dir, "rev-parse", "origin/main")
	// The environment of the process does not decide the identity; the
	// clone's configuration does.
	t.Setenv("GIT_AUTHOR_NAME", "Ambient Author")
	t.Setenv("GIT_COMMITTER_EMAIL", "ambient@example.com")

	check := func(r *Repo, want Identity) {
		t.Helper()
		id, err := r.Identity(ctx)
		if err != nil || id != want {
			t.Fatalf("Identity() = %+v, %v; want %+v", id, err, want)
		}
		sha, err := r.Commit(ctx, head, map[string][]byte{"README.md": []byte(want.Name + "\n")}, "identity")
		if err != nil {
			t.Fatal(err)
		}
		got := gitT(t, dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>", sha)
		if w := want.String() + "|" + want.String(); got != w {
			t.Errorf("commit identity = %q, want %q", got, w)
		}
	}

	check(openT(t, dir), Identity{Name: DefaultName, Email: DefaultEmail, Default: true})
	if got := (Identity{Name: DefaultName, Email: DefaultEmail}).String(); got != "digestpin <digestpin@users.noreply.github.com>" {
		t.Errorf("default identity = %q", got)
	}

	gitT(t, dir, "config", "user.name", "CI Bot")
	check(openT(t, dir), Identity{Name: "CI Bot", Email: DefaultEmail, Default: true})

	gitT(t, dir, "config", "user.email", "ci-bot@example.com")
	check(openT(t, dir), Identity{Name: "CI Bot", Email: "ci-bot@example.com"})
}

// CI checkouts may be sparse (actions/checkout's sparse-checkout uses cone
// mode); the temporary index must still hold the whole tree.
func TestCommitSparseCheckout(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	dir := cloneT(t, bare)
	gitT(t, dir, "sparse-checkout", "set", "--cone", "--sparse-index", "apps/webapp")
	r := openT(t, dir)

	head, sha, err := promote(t, r, "origin", "main", "sparse\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := gitT(t, bare, "diff-tree", "-r", "--name-status", head, sha); got != "M\tapps/web/deployment.yaml" {
		t.Errorf("pushed commit changes %q, want only apps/web/deployment.yaml", got)
	}
	if got := gitT(t, dir, "status", "--porcelain"); got != "" {
		t.Errorf("clone dirty after promote: %q", got)
	}
}
