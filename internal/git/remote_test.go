package git

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFetchStaleLocalBranch(t *testing.T) {
	t.Parallel()
	bare, seedWork := newRemote(t)
	dir := cloneT(t, bare, "--origin", "upstream")
	localMain := gitT(t, dir, "rev-parse", "main")
	newer := advance(t, seedWork, map[string]string{"README.md": "newer\n"})
	gitT(t, seedWork, "checkout", "--quiet", "-b", "env/prod")
	prod := advance(t, seedWork, map[string]string{"README.md": "prod\n"})

	r := openT(t, dir)
	ctx := t.Context()
	for branch, want := range map[string]string{"main": newer, "env/prod": prod} {
		head, err := r.Fetch(ctx, "upstream", branch)
		if err != nil || head != want {
			t.Errorf("Fetch(upstream, %s) = %s, %v; want %s", branch, head, err, want)
		}
		if got := gitT(t, dir, "rev-parse", "refs/remotes/upstream/"+branch); got != want {
			t.Errorf("refs/remotes/upstream/%s = %s, want %s", branch, got, want)
		}
	}
	if got := gitT(t, dir, "rev-parse", "main"); got != localMain {
		t.Errorf("Fetch moved local main from %s to %s", localMain, got)
	}
	if got := gitT(t, dir, "for-each-ref", "--format=%(refname)", "refs/heads", "refs/tags"); got != "refs/heads/main" {
		t.Errorf("local branches and tags after Fetch = %q", got)
	}
}

func TestFetchFailures(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	r := openT(t, cloneT(t, bare))
	ctx := t.Context()

	_, err := r.Fetch(ctx, "origin", "nope")
	if !errors.Is(err, ErrRemoteBranchNotFound) || !strings.HasPrefix(err.Error(), `fetching "origin/nope": remote branch not found: git fetch `) {
		t.Errorf("Fetch(missing branch) error = %v", err)
	}
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 128 || !strings.Contains(ce.Stderr, "couldn't find remote ref refs/heads/nope") {
		t.Errorf("Fetch(missing branch) command error = %#v", ce)
	}

	_, err = r.Fetch(ctx, "nope", "main")
	if err == nil || errors.Is(err, ErrRemoteBranchNotFound) || !strings.Contains(err.Error(), "'nope' does not appear to be a git repository") {
		t.Errorf("Fetch(missing remote) error = %v", err)
	}
	for _, branch := range []string{"", "-x", "a..b", "a b", "x:y"} {
		if _, err := r.Fetch(ctx, "origin", branch); err == nil || !strings.Contains(err.Error(), "invalid branch name") {
			t.Errorf("Fetch(origin, %q) error = %v, want invalid branch name", branch, err)
		}
	}
}

// promote is what the promote command does: fetch, commit on the fetched
// head, push with the fetched head as lease.
func promote(t *testing.T, r *Repo, remote, branch, content string) (head, sha string, err error) {
	t.Helper()
	ctx := t.Context()
	head, err = r.Fetch(ctx, remote, branch)
	if err != nil {
		t.Fatal(err)
	}
	sha, err = r.Commit(ctx, head, map[string][]byte{"apps/web/deployment.yaml": []byte(content)}, "promote")
	if err != nil {
		t.Fatal(err)
	}
	return head, sha, r.Push(ctx, remote, sha, branch, head)
}

func TestPush(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	dir := cloneT(t, bare)
	r := openT(t, dir)

	head, sha, err := promote(t, r, "origin", "main", "image: web@sha256:2222\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := gitT(t, bare, "rev-parse", "main"); got != sha {
		t.Errorf("remote main = %s, want %s", got, sha)
	}
	if got := gitT(t, bare, "show", "main:apps/web/deployment.yaml"); got != "image: web@sha256:2222" {
		t.Errorf("remote deployment.yaml = %q", got)
	}
	if got := gitT(t, dir, "rev-parse", "main"); got != head {
		t.Errorf("Push moved local main to %s", got)
	}
	// Pushing again what the branch already points at is not a conflict.
	if err := r.Push(t.Context(), "origin", sha, "main", head); err != nil {
		t.Errorf("repeated Push() = %v", err)
	}

	// A path works as remote, also with a token (which it does not use).
	rt := openT(t, dir, WithToken("unused-token"))
	sha2, err := rt.Commit(t.Context(), sha, map[string][]byte{"README.md": []byte("by path\n")}, "by path")
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Push(t.Context(), bare, sha2, "main", sha); err != nil {
		t.Fatalf("Push(path) = %v", err)
	}
	if got := gitT(t, bare, "rev-parse", "main"); got != sha2 {
		t.Errorf("remote main = %s, want %s", got, sha2)
	}
}

func TestPushRace(t *testing.T) {
	t.Parallel()
	bare, seedWork := newRemote(t)
	r := openT(t, cloneT(t, bare))
	ctx := t.Context()

	head, err := r.Fetch(ctx, "origin", "main")
	if err != nil {
		t.Fatal(err)
	}
	sha, err := r.Commit(ctx, head, map[string][]byte{"apps/web/deployment.yaml": []byte("mine\n")}, "promote")
	if err != nil {
		t.Fatal(err)
	}
	theirs := advance(t, seedWork, map[string]string{"apps/web/deployment.yaml": "theirs\n"})

	err = r.Push(ctx, "origin", sha, "main", head)
	if !errors.Is(err, ErrPushRejected) {
		t.Fatalf("Push() after a concurrent push = %v, want ErrPushRejected", err)
	}
	if want := `pushing "` + sha + `" to "origin/main": push rejected: remote branch has moved: [rejected] (stale info): git push `; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
	if got := gitT(t, bare, "rev-parse", "main"); got != theirs {
		t.Errorf("remote main = %s, want %s (unchanged)", got, theirs)
	}

	// The retry promote does: fetch again, rebuild, push.
	head2, sha2, err := promote(t, r, "origin", "main", "mine\n")
	if err != nil || head2 != theirs {
		t.Fatalf("retry: head %s, err %v", head2, err)
	}
	if got := gitT(t, bare, "rev-parse", "main"); got != sha2 {
		t.Errorf("remote main after retry = %s, want %s", got, sha2)
	}
}

func writeHook(t *testing.T, bare, script string) {
	t.Helper()
	p := filepath.Join(bare, "hooks", "pre-receive")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestPushServerSideRace(t *testing.T) {
	t.Parallel()
	bare, seedWork := newRemote(t)
	older := gitT(t, seedWork, "rev-parse", "HEAD")
	advance(t, seedWork, map[string]string{"README.md": "newer\n"})
	r := openT(t, cloneT(t, bare))

	// The hook moves main after the client's lease check passed, as a push
	// landing between advertisement and update would; the server's own
	// compare-and-swap must refuse the update.
	writeHook(t, bare, "env -u GIT_QUARANTINE_PATH git update-ref refs/heads/main "+older)
	_, _, err := promote(t, r, "origin", "main", "mine\n")
	if !errors.Is(err, ErrPushRejected) || !strings.Contains(err.Error(), "[remote rejected] (failed to update ref)") {
		t.Fatalf("Push() = %v, want ErrPushRejected from the server", err)
	}
	if got := gitT(t, bare, "rev-parse", "main"); got != older {
		t.Errorf("remote main = %s, want %s", got, older)
	}
}

func TestPushRefusedByPolicy(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	before := gitT(t, bare, "rev-parse", "main")
	r := openT(t, cloneT(t, bare))

	writeHook(t, bare, "echo main is protected >&2; exit 1")
	_, _, err := promote(t, r, "origin", "main", "mine\n")
	if err == nil || errors.Is(err, ErrPushRejected) {
		t.Fatalf("Push() = %v, want a refusal that is not ErrPushRejected", err)
	}
	for _, want := range []string{"push refused: [remote rejected] (pre-receive hook declined)", "remote: main is protected"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if got := gitT(t, bare, "rev-parse", "main"); got != before {
		t.Errorf("remote main = %s, want %s", got, before)
	}
}

func TestPushNewBranch(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	r := openT(t, cloneT(t, bare))
	ctx := t.Context()
	head := gitT(t, bare, "rev-parse", "main")
	sha, err := r.Commit(ctx, head, map[string][]byte{"README.md": []byte("staging\n")}, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Push(ctx, "origin", sha, "env/staging", ""); err != nil {
		t.Fatal(err)
	}
	if got := gitT(t, bare, "rev-parse", "env/staging"); got != sha {
		t.Errorf("remote env/staging = %s, want %s", got, sha)
	}
	// "Must not exist" fails once it exists.
	if err := r.Push(ctx, "origin", head, "env/staging", ""); !errors.Is(err, ErrPushRejected) {
		t.Errorf("Push(expect absent) onto an existing branch = %v, want ErrPushRejected", err)
	}
	if got := gitT(t, bare, "rev-parse", "env/staging"); got != sha {
		t.Errorf("remote env/staging = %s, want %s", got, sha)
	}

	for _, tc := range []struct{ remote, commit, branch, expected, want string }{
		{"origin", sha, "main", "abc123", "not a full object name"},
		{"origin", "nope", "main", head, `unknown revision "nope"`},
		{"origin", sha, "a..b", head, "invalid branch name"},
		{"--mirror", sha, "main", head, "invalid remote"},
		{"nope", sha, "main", head, "'nope' does not appear to be a git repository"},
	} {
		err := r.Push(ctx, tc.remote, tc.commit, tc.branch, tc.expected)
		if err == nil || errors.Is(err, ErrPushRejected) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Push(%q, %q, %q, %q) = %v, want an error containing %q", tc.remote, tc.commit, tc.branch, tc.expected, err, tc.want)
		}
	}
}

func TestShallowClone(t *testing.T) {
	t.Parallel()
	bare, seedWork := newRemote(t)
	dir := cloneT(t, "file://"+bare, "--depth", "1")
	if got := gitT(t, dir, "rev-parse", "--is-shallow-repository"); got != "true" {
		t.Fatalf("fixture clone is not shallow: %s", got)
	}
	advance(t, seedWork, map[string]string{"README.md": "one\n"})
	newer := advance(t, seedWork, map[string]string{"README.md": "two\n"})

	r := openT(t, dir)
	head, sha, err := promote(t, r, "origin", "main", "shallow\n")
	if err != nil {
		t.Fatal(err)
	}
	if head != newer {
		t.Errorf("Fetch() = %s, want %s", head, newer)
	}
	if got := gitT(t, bare, "rev-parse", "main", "main^"); got != sha+"\n"+newer {
		t.Errorf("remote main, main^ = %q, want %q", got, sha+"\n"+newer)
	}
	if got := gitT(t, bare, "show", "main:README.md"); got != "two" {
		t.Errorf("remote README.md = %q", got)
	}
	if got := gitT(t, dir, "rev-parse", "--is-shallow-repository"); got != "true" {
		t.Errorf("clone is no longer shallow")
	}
	if got := gitT(t, dir, "rev-list", "--count", head); got != "1" {
		t.Errorf("fetched history has %s commits, want only the head", got)
	}
}

// closedPort returns a local TCP port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return port
}

func TestRedactsURLCredentials(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	dir := cloneT(t, bare)
	url := "https://x-access-token:SUPERSECRET@127.0.0.1:" + closedPort(t) + "/r.git"
	gitT(t, dir, "remote", "add", "ci", url)
	r := openT(t, dir, WithToken("TOKENVALUE-42"))
	ctx := t.Context()
	head := gitT(t, bare, "rev-parse", "main")
	secrets := []string{"SUPERSECRET", "TOKENVALUE-42", base64.StdEncoding.EncodeToString([]byte("x-access-token:TOKENVALUE-42"))}

	for name, remote := range map[string]string{"configured remote": "ci", "URL": url} {
		err := r.Push(ctx, remote, head, "main", head)
		assertNoSecret(t, err, secrets...)
		if errors.Is(err, ErrPushRejected) {
			t.Errorf("%s: connection failure reported as ErrPushRejected: %v", name, err)
		}
		var ce *CommandError
		if !errors.As(err, &ce) || ce.ExitCode != 128 || !strings.Contains(ce.Stderr, "unable to access 'https://127.0.0.1:") {
			t.Errorf("%s: command error = %#v", name, ce)
		}
		for _, a := range ce.Args {
			if strings.Contains(a, "SUPERSECRET") {
				t.Errorf("%s: args leak the password: %q", name, ce.Args)
			}
		}
		t.Logf("%s: %v", name, err)
	}
	err := r.Push(ctx, url, head, "main", head)
	if want := `pushing "` + head + `" to "https://xxxxx@127.0.0.1:`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Push(URL) error = %v, want prefix %q", err, want)
	}

	_, err = r.Fetch(ctx, "ci", "main")
	assertNoSecret(t, err, secrets...)
	if !strings.Contains(err.Error(), "Failed to connect to 127.0.0.1 port") {
		t.Errorf("Fetch() error = %v", err)
	}
}

func TestCancelKillsGit(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	dir := cloneT(t, bare)
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The ssh "client" records its pid and hangs; "#" comments out the
	// host and command git appends.
	gitT(t, dir, "config", "core.sshCommand", `echo $$ >'`+pidFile+`'; exec sleep 30 #`)
	gitT(t, dir, "config", "ssh.variant", "ssh")
	gitT(t, dir, "remote", "set-url", "origin", "ssh://git.invalid/r.git")
	r := openT(t, dir)

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Fetch(ctx, "origin", "main")
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch() = %v, want context.DeadlineExceeded", err)
	}
	// The ssh stand-in holds git's stderr; returning well before waitDelay
	// shows it was killed with git rather than waited out.
	if elapsed > waitDelay/2 {
		t.Errorf("Fetch() returned after %v", elapsed)
	}
	if runtime.GOOS != "linux" {
		return
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(data))
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		// Gone, or a zombie waiting for its new parent to reap it.
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh stand-in %s still running: %s", pid, stat)
		}
	}
}
