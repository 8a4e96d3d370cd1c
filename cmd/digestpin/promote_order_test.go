package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sourceRepo is an application's repository with history: commits c[0] to
// c[n-1] on main, one after the other.
func sourceRepo(t *testing.T, n int) (dir string, c []string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "app")
	git(t, ".", "init", "--quiet", "--initial-branch=main", dir)
	for i := range n {
		c = append(c, sourceCommit(t, dir, fmt.Sprintf("change %d", i)))
	}
	return dir, c
}

func sourceCommit(t *testing.T, dir, msg string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("// "+msg+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "--all")
	git(t, dir, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "--quiet", "-m", msg)
	return git(t, dir, "rev-parse", "HEAD")
}

func TestPromoteRefusesToGoBack(t *testing.T) {
	reg := newRegistry(t)
	src, c := sourceRepo(t, 4)
	digests := map[string]string{}
	for _, sha := range c {
		digests[sha] = reg.push(t, "acme/web", sha, sha)
	}
	repo := newConfigRepo(t, webApp(reg.host))
	web := reg.host + "/acme/web"
	build := func(sha string, extra ...string) result {
		return digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, append([]string{"--image", web + ":" + sha, "--path", "apps/web",
			"--source-revision", sha, "--source-repo-dir", src}, extra...)...)...)
	}

	// c[2] first: nothing pinned yet, nothing to compare.
	if r := build(c[2]); r.code != 0 || strings.Contains(r.stdout, "note:") {
		t.Fatalf("promote c2: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	pinnedBy := repo.head(t)

	// An older build, c[1], arrives late: refused, nothing pushed.
	r := build(c[1])
	r.expect(t, 3, "", fmt.Sprintf("superseded: the pin in Git was built from %s, which is newer than %s (%s in apps/web/kustomization.yaml, pinned by commit %s)\n", c[2], c[1], web, pinnedBy))
	if repo.head(t) != pinnedBy {
		t.Fatal("the remote changed")
	}
	repo.clean(t)
	// Also in a dry run, and in JSON.
	r = build(c[0], "--output", "json")
	if r.code != 3 || !strings.Contains(r.stdout, `"superseded":true`) || !strings.HasPrefix(r.stderr, "superseded: the pin in Git was built from "+c[2]) {
		t.Errorf("json: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The same build again, or a newer one, goes through.
	if r := build(c[2]); r.code != 0 {
		t.Errorf("promote c2 again: exit %d: %s", r.code, r.stderr)
	}
	if r := build(c[3]); r.code != 0 || strings.Contains(r.stdout, "note:") {
		t.Fatalf("promote c3: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got := repo.show(t, "main", "apps/web/kustomization.yaml"); !strings.Contains(got, "newTag: "+c[3]) {
		t.Errorf("kustomization after c3:\n%s", got)
	}

	// A build from another branch is neither older nor newer: replaced, and said.
	git(t, src, "checkout", "--quiet", "-b", "hotfix", c[1])
	hotfix := sourceCommit(t, src, "hotfix")
	digests[hotfix] = reg.push(t, "acme/web", hotfix, hotfix)
	r = build(hotfix)
	if want := fmt.Sprintf("note: replacing the pin of %s in apps/web/kustomization.yaml built from %s, which is neither older nor newer than %s (they are on different branches)\npinned %s:%s@%s\n", web, c[3], hotfix, web, hotfix, digests[hotfix]); r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("hotfix: exit %d, stdout\n%s\nwant it to start with\n%s", r.code, r.stdout, want)
	}
}

func TestPromoteOutOfOrderCannotTell(t *testing.T) {
	reg := newRegistry(t)
	src, c := sourceRepo(t, 3)
	for _, sha := range c {
		reg.push(t, "acme/web", sha, sha)
	}
	files := webApp(reg.host)
	// A pin written by hand, before digestpin.
	files["apps/web/kustomization.yaml"] = strings.Replace(files["apps/web/kustomization.yaml"], "newTag: v1   # set by hand once\n", "newTag: v1   # set by hand once\n    digest: sha256:"+strings.Repeat("a", 64)+"\n", 1)
	repo := newConfigRepo(t, files)
	web := reg.host + "/acme/web"
	args := func(sha string, extra ...string) []string {
		return promoteArgs(reg, append([]string{"--image", web + ":" + sha, "--path", "apps/web", "--source-revision", sha}, extra...)...)
	}

	r := digestpin(t, repo.clone, promoteEnv(t), args(c[1], "--source-repo-dir", src, "--dry-run")...)
	if want := fmt.Sprintf("note: replacing the pin of %s in apps/web/kustomization.yaml: no digestpin commit recorded it, so its source revision is unknown\n--- a/apps/web/kustomization.yaml", web); r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("exit %d, stdout\n%s\nwant it to start with\n%s", r.code, r.stdout, want)
	}

	// pin records no source revision.
	repo = newConfigRepo(t, webApp(reg.host))
	reg.push(t, "acme/web", "v1", "")
	reg.push(t, "acme/proxy", "1.0", "")
	if r := digestpin(t, repo.clone, pinEnv(t, reg), "pin", "--insecure-registry", "apps/web"); r.code != 0 {
		t.Fatalf("pin: exit %d: %s", r.code, r.stderr)
	}
	pinnedBy := repo.head(t)
	r = digestpin(t, repo.clone, promoteEnv(t), args(c[1], "--source-repo-dir", src)...)
	if want := fmt.Sprintf("note: replacing the pin of %s in apps/web/kustomization.yaml from commit %s, which records no source revision\npinned ", web, pinnedBy); r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("exit %d, stdout\n%s\nwant it to start with\n%s", r.code, r.stdout, want)
	}
	pinnedBy = repo.head(t)

	// A source clone without the pin's revision cannot judge: exit 1.
	shallow := filepath.Join(t.TempDir(), "shallow")
	git(t, ".", "clone", "--quiet", "--depth=1", "file://"+src, shallow)
	git(t, shallow, "fetch", "--quiet", "--depth=1", "origin", c[0])
	r = digestpin(t, repo.clone, promoteEnv(t), args(c[0], "--source-repo-dir", shallow)...)
	r.expect(t, 1, "", fmt.Sprintf("cannot tell whether the pin of %s in apps/web/kustomization.yaml, built from %s (commit %s), is newer than %s: %s is not in the history of %s; fetch its full history (actions/checkout: fetch-depth: 0)\n", web, c[1], pinnedBy, c[0], c[1], shallow))
	// Nor can it judge a revision it does not hold at all.
	r = digestpin(t, repo.clone, promoteEnv(t), args(strings.Repeat("b", 40), "--source-repo-dir", src)...)
	r.expect(t, 2, "", fmt.Sprintf("--source-revision %s is not a commit of --source-repo-dir %s; fetch its history (actions/checkout: fetch-depth: 0)\n", strings.Repeat("b", 40), src))
	r = digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", web+":"+c[0], "--path", "apps/web", "--source-repo-dir", src)...)
	r.expect(t, 2, "", "--source-repo-dir needs --source-revision: the commit the images were built from\n")
	if repo.head(t) != pinnedBy {
		t.Error("the remote changed")
	}
	repo.clean(t)
}
