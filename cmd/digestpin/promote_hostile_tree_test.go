package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rawEntry is one entry of a tree object, written exactly as given.
type rawEntry struct{ mode, name, object string }

// gitIn runs git in dir with stdin and returns its trimmed output.
func gitIn(t *testing.T, dir string, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// rawTree writes a tree object with hash-object --literally, which checks
// nothing: the way a server without fsckObjects stores what it is sent.
func rawTree(t *testing.T, bare string, entries ...rawEntry) string {
	t.Helper()
	// git's order: a tree sorts as if its name ended in "/".
	key := func(e rawEntry) string {
		if e.mode == "40000" {
			return e.name + "/"
		}
		return e.name
	}
	slices.SortStableFunc(entries, func(a, b rawEntry) int { return strings.Compare(key(a), key(b)) })
	var b bytes.Buffer
	for _, e := range entries {
		sha, err := hex.DecodeString(e.object)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s\x00", e.mode, e.name)
		b.Write(sha)
	}
	return gitIn(t, bare, b.Bytes(), "hash-object", "-t", "tree", "-w", "--literally", "--stdin")
}

func blob(t *testing.T, bare string, content []byte) string {
	return gitIn(t, bare, content, "hash-object", "-w", "--stdin")
}

// rootEntries are the entries of the root tree of rev.
func rootEntries(t *testing.T, bare, rev string) []rawEntry {
	var entries []rawEntry
	for _, line := range strings.Split(git(t, bare, "ls-tree", rev), "\n") {
		meta, name, _ := strings.Cut(line, "\t")
		f := strings.Fields(meta)
		mode := strings.TrimPrefix(f[0], "0")
		entries = append(entries, rawEntry{mode, name, f[2]})
	}
	return entries
}

// setMain makes main of bare a commit of tree on top of main.
func setMain(t *testing.T, bare, tree string) string {
	commit := gitIn(t, bare, []byte("hostile\n"), "-c", "user.name=M", "-c", "user.email=m@example.com", "commit-tree", tree, "-p", "main")
	git(t, bare, "update-ref", "refs/heads/main", commit)
	return commit
}

// tmpdirs gives a run its own TMPDIR, inside a directory that must hold
// nothing else afterwards.
func tmpdirs(t *testing.T) (outer, tmp string) {
	outer = t.TempDir()
	tmp = filepath.Join(outer, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	return outer, tmp
}

// nothingLeft fails when anything but the empty tmp is in outer.
func nothingLeft(t *testing.T, outer string) {
	t.Helper()
	filepath.WalkDir(outer, func(p string, d os.DirEntry, err error) error {
		if p != outer && p != filepath.Join(outer, "tmp") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// A config repository whose tree holds entries git itself refuses (made
// with plumbing, accepted by a server without fsckObjects) is refused
// before anything is written, with the entry named; nothing appears outside
// promote's temporary directories.
func TestPromoteRefusesTreesGitRefuses(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	tests := []struct {
		name  string
		extra func(bare, evil string) []rawEntry
		path  string
		why   string
	}{
		{"dot-dot", func(bare, evil string) []rawEntry {
			return []rawEntry{{"40000", "..", rawTree(t, bare, rawEntry{"100644", "evil.txt", evil})}}
		}, "../evil.txt", `".." is not a file name`},
		{"dot-dot twice", func(bare, evil string) []rawEntry {
			inner := rawTree(t, bare, rawEntry{"100755", "evil.sh", evil})
			return []rawEntry{{"40000", "..", rawTree(t, bare, rawEntry{"40000", "..", inner})}}
		}, "../../evil.sh", `".." is not a file name`},
		{"dot", func(bare, evil string) []rawEntry {
			return []rawEntry{{"40000", ".", rawTree(t, bare, rawEntry{"100644", "evil.txt", evil})}}
		}, "./evil.txt", `"." is not a file name`},
		{".git", func(bare, evil string) []rawEntry {
			hooks := rawTree(t, bare, rawEntry{"100755", "post-checkout", evil})
			return []rawEntry{{"40000", ".git", rawTree(t, bare, rawEntry{"40000", "hooks", hooks})}}
		}, ".git/hooks/post-checkout", `".git" names the .git directory`},
		{".GIT deeper", func(bare, evil string) []rawEntry {
			return []rawEntry{{"40000", "sub", rawTree(t, bare, rawEntry{"40000", ".GIT", rawTree(t, bare, rawEntry{"100644", "config", evil})})}}
		}, "sub/.GIT/config", `".GIT" names the .git directory`},
		{"NTFS trailing dot", func(bare, evil string) []rawEntry {
			return []rawEntry{{"40000", ".git. ", rawTree(t, bare, rawEntry{"100644", "config", evil})}}
		}, ".git. /config", `".git. " names the .git directory`},
		{"NTFS short name", func(bare, evil string) []rawEntry {
			return []rawEntry{{"40000", "GIT~1", rawTree(t, bare, rawEntry{"100644", "config", evil})}}
		}, "GIT~1/config", `"GIT~1" names the .git directory`},
		{"HFS ignorable", func(bare, evil string) []rawEntry {
			return []rawEntry{{"40000", ".g\u200cit", rawTree(t, bare, rawEntry{"100644", "config", evil})}}
		}, ".g\u200cit/config", `".g\u200cit" names the .git directory`},
		{"symlink and directory of one name", func(bare, evil string) []rawEntry {
			link := blob(t, bare, []byte("/tmp"))
			return []rawEntry{{"120000", "zz", link}, {"40000", "zz", rawTree(t, bare, rawEntry{"100644", "evil.txt", evil})}}
		}, "zz/evil.txt", `"zz" is a file, not a directory`},
		{"a file twice", func(bare, evil string) []rawEntry {
			return []rawEntry{{"100644", "twice.txt", evil}, {"100755", "twice.txt", evil}}
		}, "twice.txt", "the tree lists it twice"},
		{"name with a slash", func(bare, evil string) []rawEntry {
			return []rawEntry{{"100644", "../slash.txt", evil}}
		}, "../slash.txt", `".." is not a file name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := newConfigRepo(t, webApp(reg.host))
			evil := blob(t, repo.bare, []byte("#!/bin/sh\necho pwned\n"))
			tree := rawTree(t, repo.bare, append(rootEntries(t, repo.bare, "main"), tt.extra(repo.bare, evil)...)...)
			hostile := setMain(t, repo.bare, tree)
			outer, tmp := tmpdirs(t)
			r := digestpin(t, repo.clone, promoteEnv(t, "TMPDIR="+tmp), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
			r.expect(t, 1, "", fmt.Sprintf("the tree of %s holds %q, which git refuses to check out: %s\n", hostile, tt.path, tt.why))
			nothingLeft(t, outer)
			if repo.head(t) != hostile {
				t.Error("the remote changed")
			}
			repo.clean(t)
		})
	}
}

// Symbolic links that lead out of the repository are written as links and
// never followed out: the render refuses what they lead to.
func TestPromoteNeverFollowsSymlinksOut(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	files := webApp(reg.host)
	files["apps/web/kustomization.yaml"] = strings.Replace(files["apps/web/kustomization.yaml"], "  - deployment.yaml   # the app\n", "  - deployment.yaml   # the app\n  - etc/hostname\n", 1)
	repo := newConfigRepo(t, files)
	outer, tmp := tmpdirs(t)
	if err := os.WriteFile(filepath.Join(outer, "target.yaml"), []byte("kind: ConfigMap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// apps/web/etc -> /etc, and a link into the temporary directory's
	// parent, where a write through it would land.
	tree := rawTree(t, repo.bare, append(rootEntries(t, repo.bare, "main"),
		rawEntry{"120000", "up", blob(t, repo.bare, []byte("../../"))},
		rawEntry{"120000", "abs", blob(t, repo.bare, []byte(outer))},
	)...)
	web := rawTree(t, repo.bare, append(rootEntries(t, repo.bare, "main:apps/web"), rawEntry{"120000", "etc", blob(t, repo.bare, []byte("/etc"))})...)
	apps := rawTree(t, repo.bare, append(slices.DeleteFunc(rootEntries(t, repo.bare, "main:apps"), func(e rawEntry) bool { return e.name == "web" }), rawEntry{"40000", "web", web})...)
	root := slices.DeleteFunc(rootEntries(t, repo.bare, tree), func(e rawEntry) bool { return e.name == "apps" })
	hostile := setMain(t, repo.bare, rawTree(t, repo.bare, append(root, rawEntry{"40000", "apps", apps})...))
	os.Remove(filepath.Join(outer, "target.yaml"))

	r := digestpin(t, repo.clone, promoteEnv(t, "TMPDIR="+tmp), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
	want := fmt.Sprintf("rendering apps/web at %s: ", hostile)
	if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, `"apps/web/etc/hostname" is a symlink to a place outside the repository`) {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and a refusal of apps/web/etc/hostname", r.code, r.stdout, r.stderr)
	}
	nothingLeft(t, outer)
	if repo.head(t) != hostile {
		t.Error("the remote changed")
	}
}

// promote reads blobs one at a time, as the render needs the tree: a large
// repository does not grow its memory, a file above the render's limit
// elsewhere in it is no obstacle, and one the render reads is refused.
func TestPromoteBoundsWhatItReadsOfTheRepository(t *testing.T) {
	reg := newRegistry(t)
	web := reg.push(t, "acme/web", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	var big []rawEntry
	chunk := make([]byte, 4<<20)
	for i := range 24 {
		rand.Read(chunk)
		big = append(big, rawEntry{"100644", fmt.Sprintf("blob%02d.bin", i), blob(t, repo.bare, chunk)})
	}
	huge := blob(t, repo.bare, bytes.Repeat([]byte("a: b\n"), 4<<20)) // 20 MiB
	big = append(big, rawEntry{"100644", "huge.yaml", huge})
	data := rawTree(t, repo.bare, big...)
	setMain(t, repo.bare, rawTree(t, repo.bare, append(rootEntries(t, repo.bare, "main"), rawEntry{"40000", "data", data})...))
	// The clone has the objects already, as a CI clone has: the peak
	// memory measured (digestpin's, and the git processes' it waits for)
	// is not git's unpacking of a fetch.
	git(t, repo.clone, "fetch", "--quiet", "origin")
	outer, tmp := tmpdirs(t)

	r := digestpin(t, repo.clone, promoteEnv(t, "TMPDIR="+tmp), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "pinned "+reg.host+"/acme/web:v2@"+web+"\n") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r.maxRSS > 80<<20 {
		t.Errorf("peak RSS %d MiB for a repository of 116 MiB", r.maxRSS>>20)
	}
	nothingLeft(t, outer)

	// The render reads the 20 MiB file: refused by the render's limit.
	repo.commitElsewhere(t, "data/kustomization.yaml", "resources: [huge.yaml]\n")
	repo.commitElsewhere(t, "apps/web/kustomization.yaml", "resources: [deployment.yaml, ../../data]\n")
	r = digestpin(t, repo.clone, promoteEnv(t, "TMPDIR="+tmp), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
	if r.code != 1 || !strings.Contains(r.stderr, `"data/huge.yaml" is 20971520 bytes, more than the 8388608 allowed`) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %s", r.code, r.stderr)
	}
	// Editing a manifest larger than the limit is refused by name.
	r = digestpin(t, repo.clone, promoteEnv(t, "TMPDIR="+tmp), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "data/huge.yaml")...)
	r.expect(t, 1, "", "data/huge.yaml is 20971520 bytes at "+repo.head(t)+", more than the 8388608 promote reads\n")
	nothingLeft(t, outer)
}

// A tree whose files, each within the render's limit, add up to more than
// promote writes out to render is refused before anything is written: git
// stores one blob once, however many entries name it, so a small
// repository can list gigabytes.
func TestPromoteRefusesATreeTooLargeToWriteOut(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	full := blob(t, repo.bare, make([]byte, 8<<20)) // the most one file may hold
	var many []rawEntry
	for i := range 65 {
		many = append(many, rawEntry{"100644", fmt.Sprintf("copy%02d.bin", i), full})
	}
	data := rawTree(t, repo.bare, many...)
	large := setMain(t, repo.bare, rawTree(t, repo.bare, append(rootEntries(t, repo.bare, "main"), rawEntry{"40000", "data", data})...))
	var total int64
	for _, line := range strings.Split(git(t, repo.bare, "ls-tree", "-r", "-l", "main"), "\n") {
		var size int64
		if f := strings.Fields(line); len(f) > 3 {
			fmt.Sscan(f[3], &size)
		}
		total += size
	}
	outer, tmp := tmpdirs(t)

	r := digestpin(t, repo.clone, promoteEnv(t, "TMPDIR="+tmp), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
	r.expect(t, 1, "", fmt.Sprintf("the tree of %s holds %d bytes of files of at most 8388608 bytes each, more than the 536870912 promote writes out to render it\n", large, total))
	nothingLeft(t, outer)
	if repo.head(t) != large {
		t.Error("the remote changed")
	}
	repo.clean(t)
}
