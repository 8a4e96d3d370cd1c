package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Several promotes started at once in the same clone (parallel jobs of one
// CI runner) all succeed: a fetch that loses the lock on the
// remote-tracking branch is retried, as a push that loses the race is.
func TestPromoteConcurrentlyInOneClone(t *testing.T) {
	reg := newRegistry(t)
	const apps = 16
	files := map[string]string{}
	digests := make([]string, apps)
	for i := range apps {
		name := fmt.Sprintf("app%02d", i)
		files["apps/"+name+"/kustomization.yaml"] = "resources: [deployment.yaml]\n"
		files["apps/"+name+"/deployment.yaml"] = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + name + "}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: " + reg.host + "/acme/" + name + ":v1\n"
		digests[i] = reg.push(t, "acme/"+name, "v2", "")
	}
	repo := newConfigRepo(t, files)
	seed := repo.head(t)

	results := make([]result, apps)
	var wg sync.WaitGroup
	for i := range apps {
		wg.Go(func() {
			name := fmt.Sprintf("app%02d", i)
			results[i] = digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/"+name+":v2", "--path", "apps/"+name)...)
		})
	}
	wg.Wait()

	for i, r := range results {
		if r.code != 0 {
			t.Errorf("app%02d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	if n := git(t, repo.bare, "rev-list", "--count", "main"); n != fmt.Sprint(apps+1) {
		t.Errorf("main has %s commits, want %d", n, apps+1)
	}
	if first := git(t, repo.bare, "rev-list", "--max-parents=0", "main"); first != seed {
		t.Errorf("main's root is %s, want the seed %s", first, seed)
	}
	for i := range apps {
		name := fmt.Sprintf("app%02d", i)
		got := repo.show(t, "main", "apps/"+name+"/kustomization.yaml")
		want := "resources: [deployment.yaml]\nimages:\n- name: " + reg.host + "/acme/" + name + "\n  newTag: v2\n  digest: " + digests[i] + "\n"
		if got != want {
			t.Errorf("%s at main =\n%s\nwant\n%s", name, got, want)
		}
	}
	repo.clean(t)
	// No lock file is left behind for the next job.
	locks, _ := filepath.Glob(filepath.Join(repo.clone, ".git/refs/remotes/origin/*.lock"))
	if len(locks) > 0 {
		t.Errorf("lock files left: %v", locks)
	}
	if _, err := os.Stat(filepath.Join(repo.clone, ".git/packed-refs.lock")); err == nil {
		t.Error("packed-refs.lock left behind")
	}
}

// A lock on the remote-tracking branch, held by another git process, is
// waited out; one that stays is reported after --attempts fetches.
func TestPromoteWaitsOutAHeldFetchLock(t *testing.T) {
	reg := newRegistry(t)
	web := reg.push(t, "acme/web", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	// The remote-tracking branch has to move for git to take its lock.
	start := repo.commitElsewhere(t, "README.md", "moved\n")
	lock := filepath.Join(repo.clone, ".git/refs/remotes/origin/main.lock")
	args := promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")

	// Held for good: exit 1 after three fetches, nothing pushed.
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := digestpin(t, repo.clone, promoteEnv(t), append(args, "--attempts", "3")...)
	if r.code != 1 || r.stdout != "" {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}
	wantStart := "another git process in this clone was updating origin/main; fetching again (attempt 2 of 3)\nanother git process in this clone was updating origin/main; fetching again (attempt 3 of 3)\n" +
		`fetching "origin/main": another git process in this clone was updating the remote-tracking branch: git fetch `
	if !strings.HasPrefix(r.stderr, wantStart) || strings.Count(r.stderr, "\n") != 3 {
		t.Errorf("stderr =\n%s\nwant three lines starting\n%s", r.stderr, wantStart)
	}
	if repo.head(t) != start {
		t.Error("the remote changed")
	}

	// Released while promote waits: it goes on and pins. The lock goes
	// once promote has said it found it held.
	cmd := exec.Command(binary, args...)
	cmd.Dir = repo.clone
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, promoteEnv(t)...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	if !lines.Scan() || lines.Text() != "another git process in this clone was updating origin/main; fetching again (attempt 2 of 20)" {
		t.Errorf("first line of stderr: %q", lines.Text())
	}
	os.Remove(lock)
	var rest strings.Builder
	for lines.Scan() {
		rest.WriteString(lines.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, rest.String())
	}
	after := repo.head(t)
	if want := fmt.Sprintf("pinned %s/acme/web:v2@%s\ncommitted %s in apps/web on origin/main (on top of %s)\n", reg.host, web, after, start); stdout.String() != want || rest.String() != "" {
		t.Errorf("stdout =\n%s\nwant\n%s\nrest of stderr: %s", stdout.String(), want, rest.String())
	}
	if refs := git(t, repo.clone, "for-each-ref", "refs/digestpin"); refs != "" {
		t.Errorf("refs left behind: %s", refs)
	}
}
