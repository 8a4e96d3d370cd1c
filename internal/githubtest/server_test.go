package githubtest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/digestpin/digestpin/internal/github"
)

type fixture struct {
	s    *Server
	app  *App
	repo *Repo
	gh   *github.Client
}

func setup(t *testing.T, perms github.Permissions) fixture {
	t.Helper()
	s := New(t)
	app := s.NewApp(t, "pinner")
	repo := s.CreateRepo(t, "acme", "config", map[string]string{"apps/web/kustomization.yaml": "resources: []\n", "run.sh": "#!/bin/sh\n"})
	s.CreateRepo(t, "acme", "other", map[string]string{"x": "y\n"})
	s.Install(app, "acme", nil, perms)
	gh, err := github.New(github.Options{APIURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{s, app, repo, gh}
}

func (f fixture) login(t *testing.T, perms github.Permissions) (*github.Client, string) {
	t.Helper()
	c, tok, err := f.gh.Authenticate(context.Background(), &github.App{ID: f.app.IDString(), Key: f.app.Key}, 0, github.Repo{Owner: "acme", Name: "config"}, perms)
	if err != nil {
		t.Fatal(err)
	}
	return c, tok.Token
}

var (
	acmeConfig = github.Repo{Owner: "acme", Name: "config"}
	write      = github.Permissions{"contents": "write", "pull_requests": "write"}
)

func TestJWTIsVerified(t *testing.T) {
	f := setup(t, write)
	ctx := context.Background()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	if _, _, err := f.gh.Authenticate(ctx, &github.App{ID: f.app.IDString(), Key: f.app.Key}, 0, acmeConfig, github.Permissions{"contents": "write"}); err != nil {
		t.Fatalf("the app's own key: %v", err)
	}
	tests := []struct {
		name  string
		key   *rsa.PrivateKey
		id    string
		clock time.Duration // server clock minus ours
		want  string
	}{
		{"another key", other, f.app.IDString(), 0, "A JSON web token could not be decoded"},
		{"another app's id", f.app.Key, "999", 0, "A JSON web token could not be decoded"},
		{"our clock ahead: iat in the future", f.app.Key, f.app.IDString(), -2 * time.Minute, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"},
		{"our clock far behind: expired", f.app.Key, f.app.IDString(), 10 * time.Minute, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.s.Now = func() time.Time { return time.Now().Add(tt.clock) }
			defer func() { f.s.Now = nil }()
			_, _, err := f.gh.Authenticate(ctx, &github.App{ID: tt.id, Key: tt.key}, 0, acmeConfig, github.Permissions{"contents": "write"})
			var e *github.Error
			if !errors.As(err, &e) || e.Status != 401 || e.Message != tt.want || !errors.Is(err, github.ErrUnauthorized) {
				t.Errorf("error = %v, want 401 %q", err, tt.want)
			}
		})
	}
	// A JWT living longer than 10 minutes is refused.
	now := time.Now().Unix()
	jwt := signJWT(t, f.app.Key, fmt.Sprintf(`{"iat":%d,"exp":%d,"iss":%d}`, now-30, now+11*60, f.app.ID))
	req, _ := http.NewRequest("GET", f.s.URL+"/api/v3/repos/acme/config/installation", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Message string }
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 401 || body.Message != "'Expiration time' claim ('exp') is too far in the future" {
		t.Errorf("over-long JWT: %d %q", resp.StatusCode, body.Message)
	}
}

func TestTokensAreLimited(t *testing.T) {
	f := setup(t, write)
	ctx := context.Background()
	c, _ := f.login(t, github.Permissions{"contents": "write"})
	if _, err := c.Repository(ctx, acmeConfig); err != nil {
		t.Fatalf("the token's repository: %v", err)
	}
	if _, err := c.Repository(ctx, github.Repo{Owner: "acme", Name: "other"}); !errors.Is(err, github.ErrNotFound) {
		t.Errorf("another repository of the installation: %v, want 404", err)
	}
	_, err := c.CreatePullRequest(ctx, acmeConfig, github.NewPullRequest{Title: "x", Head: "main", Base: "main"})
	want := `opening a pull request on acme/config from "main" into "main": GitHub answered 403 Forbidden: "Resource not accessible by integration"; the GitHub App's installation lacks the "pull_requests: write" permission: grant it in the app's settings and approve it on the installation`
	if !errors.Is(err, github.ErrForbidden) || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}

	// An installation without pull_requests cannot mint a token with it.
	g := setup(t, github.Permissions{"contents": "write"})
	_, _, err = g.gh.Authenticate(ctx, &github.App{ID: g.app.IDString(), Key: g.app.Key}, 0, acmeConfig, write)
	if !errors.Is(err, github.ErrForbidden) || !strings.Contains(err.Error(), `lacks the "pull_requests: write" permission`) {
		t.Errorf("missing installation permission: %v", err)
	}
	inst := g.s.sortedInstallations()[0]
	_, err = g.gh.CreateToken(ctx, &github.App{ID: g.app.IDString(), Key: g.app.Key}, inst.ID, acmeConfig, write)
	if !errors.Is(err, github.ErrForbidden) || !strings.Contains(err.Error(), `"The permissions requested are not granted to this installation."`) {
		t.Errorf("token beyond the installation: %v", err)
	}
	// An app installed elsewhere.
	h := setup(t, write)
	stranger := h.s.NewApp(t, "stranger")
	_, _, err = h.gh.Authenticate(ctx, &github.App{ID: stranger.IDString(), Key: stranger.Key}, 0, acmeConfig, write)
	if !errors.Is(err, github.ErrNotInstalled) {
		t.Errorf("app not installed: %v", err)
	}
}

// gitCmd runs git with a token sent as GitHub expects it.
func gitCmd(t *testing.T, dir, tok string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	if tok != "" {
		cmd.Env = append(cmd.Env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader",
			"GIT_CONFIG_VALUE_0=Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte("x-access-token:"+tok)))
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestGitOverHTTP(t *testing.T) {
	f := setup(t, write)
	_, tok := f.login(t, github.Permissions{"contents": "write"})
	_, readTok := f.login(t, github.Permissions{"contents": "read"})
	dir := filepath.Join(t.TempDir(), "clone")
	if out, err := gitCmd(t, ".", "", "clone", "--quiet", f.s.CloneURL(f.repo), dir); err == nil || !strings.Contains(out, "could not read Username") {
		t.Errorf("clone without a token: %v\n%s", err, out)
	}
	if out, err := gitCmd(t, ".", readTok, "clone", "--quiet", f.s.CloneURL(f.repo), dir); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "new.txt"), []byte("new\n"), 0o644)
	gitCmd(t, dir, "", "add", "new.txt")
	if out, err := gitCmd(t, dir, "", "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "new"); err != nil {
		t.Fatal(out)
	}
	out, err := gitCmd(t, dir, readTok, "push", "--quiet", "origin", "HEAD:refs/heads/feature")
	if err == nil || !strings.Contains(out, "remote: Permission to acme/config.git denied to pinner[bot].") {
		t.Errorf("push with a read-only token: %v\n%s", err, out)
	}
	if out, err := gitCmd(t, dir, tok, "push", "--quiet", "origin", "HEAD:refs/heads/feature"); err != nil {
		t.Errorf("push to a branch: %v\n%s", err, out)
	}

	// main is protected: the push is refused as GitHub words it.
	before := f.s.Head(t, f.repo, "main")
	f.s.Protect(f.repo, "main", Rule{})
	out, err = gitCmd(t, dir, tok, "push", "--porcelain", "origin", "HEAD:refs/heads/main")
	for _, line := range []string{
		"remote: error: GH013: Repository rule violations found for refs/heads/main.",
		"remote: Review all repository rules at " + f.s.URL + "/acme/config/rules?ref=refs%2Fheads%2Fmain",
		"remote: - Changes must be made through a pull request.",
		"!\tHEAD:refs/heads/main\t[remote rejected] (push declined due to repository rule violations)",
	} {
		if err == nil || !strings.Contains(out, line) {
			t.Errorf("push to protected main: %v; output lacks %q:\n%s", err, line, out)
		}
	}
	if f.s.Head(t, f.repo, "main") != before {
		t.Error("the protected branch moved")
	}
	// The bypass actor may push.
	f.s.Protect(f.repo, "main", Rule{Bypass: []int64{f.app.ID}})
	if out, err := gitCmd(t, dir, tok, "push", "--quiet", "origin", "HEAD:refs/heads/main"); err != nil {
		t.Errorf("push by the bypass actor: %v\n%s", err, out)
	}
}

func TestCreateCommitOnBranch(t *testing.T) {
	f := setup(t, write)
	ctx := context.Background()
	c, tok := f.login(t, github.Permissions{"contents": "write"})
	head := f.s.Head(t, f.repo, "main")
	content := []byte("resources: []\nimages:\n- name: x\n  digest: sha256:00\n")
	commit, err := c.CreateCommitOnBranch(ctx, github.CommitOnBranch{
		Repo: acmeConfig, Branch: "main", ExpectedHead: head,
		Message:   "Pin x\n\nx -> sha256:00\n\nDigestpin-Image: x@sha256:00\n",
		Additions: []github.FileAddition{{Path: "apps/web/kustomization.yaml", Contents: content}, {Path: "run.sh", Contents: []byte("#!/bin/sh\necho\n")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.s.Head(t, f.repo, "main"); got != commit.OID {
		t.Fatalf("main at %s, want %s", got, commit.OID)
	}
	if commit.URL != f.s.URL+"/acme/config/commit/"+commit.OID {
		t.Errorf("url %s", commit.URL)
	}
	show := func(args ...string) string {
		out, err := f.s.run(f.repo.Dir, nil, nil, args...)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if got := show("show", "main:apps/web/kustomization.yaml"); got != string(content) {
		t.Errorf("content %q", got)
	}
	if got := show("log", "-1", "--format=%P|%an <%ae>|%cn <%ce>|%B", "main"); got != head+"|pinner[bot] <"+itoa(f.app.BotUserID)+"+pinner[bot]@users.noreply.github.com>|GitHub <noreply@github.com>|Pin x\n\nx -> sha256:00\n\nDigestpin-Image: x@sha256:00\n\n" {
		t.Errorf("commit %q", got)
	}
	if got := show("ls-tree", "main", "run.sh"); !strings.HasPrefix(got, "100644 ") {
		t.Errorf("mode changed: %s", got)
	}
	// The REST commit endpoint reports it verified; a pushed commit is not.
	verification := func(sha string) (bool, string) {
		req, _ := http.NewRequest("GET", f.s.URL+"/api/v3/repos/acme/config/commits/"+sha, nil)
		req.Header.Set("Authorization", "token "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Commit struct {
				Verification struct {
					Verified bool
					Reason   string
				}
			}
		}
		json.NewDecoder(resp.Body).Decode(&body)
		return body.Commit.Verification.Verified, body.Commit.Verification.Reason
	}
	if v, r := verification(commit.OID); !v || r != "valid" {
		t.Errorf("API commit verification %v %s", v, r)
	}
	if v, r := verification(head); v || r != "unsigned" {
		t.Errorf("seed commit verification %v %s", v, r)
	}

	// A stale expectedHeadOid changes nothing.
	_, err = c.CreateCommitOnBranch(ctx, github.CommitOnBranch{Repo: acmeConfig, Branch: "main", ExpectedHead: head, Message: "again",
		Additions: []github.FileAddition{{Path: "x", Contents: []byte("x")}}})
	if !errors.Is(err, github.ErrStaleHead) || !strings.Contains(err.Error(), `"Expected branch to point to \"`+head+`\" but it did not. Pull and try again."`) {
		t.Errorf("stale head: %v", err)
	}
	// A protected branch refuses the app unless it bypasses.
	f.s.Protect(f.repo, "main", Rule{})
	_, err = c.CreateCommitOnBranch(ctx, github.CommitOnBranch{Repo: acmeConfig, Branch: "main", ExpectedHead: commit.OID, Message: "again",
		Additions: []github.FileAddition{{Path: "x", Contents: []byte("x")}}})
	if !errors.Is(err, github.ErrRuleViolation) || !strings.Contains(err.Error(), `"Repository rule violations found Changes must be made through a pull request."`) {
		t.Errorf("protected: %v", err)
	}
	if f.s.Head(t, f.repo, "main") != commit.OID {
		t.Error("the protected branch moved")
	}
	f.s.Protect(f.repo, "main", Rule{Bypass: []int64{f.app.ID}})
	if _, err := c.CreateCommitOnBranch(ctx, github.CommitOnBranch{Repo: acmeConfig, Branch: "main", ExpectedHead: commit.OID, Message: "again",
		Additions: []github.FileAddition{{Path: "x", Contents: []byte("x")}}}); err != nil {
		t.Errorf("bypass actor: %v", err)
	}
	// Read-only tokens may not commit.
	ro, _ := f.login(t, github.Permissions{"contents": "read"})
	_, err = ro.CreateCommitOnBranch(ctx, github.CommitOnBranch{Repo: acmeConfig, Branch: "main", ExpectedHead: f.s.Head(t, f.repo, "main"), Message: "x",
		Additions: []github.FileAddition{{Path: "x", Contents: []byte("y")}}})
	if !errors.Is(err, github.ErrForbidden) {
		t.Errorf("read-only token: %v", err)
	}
}

func signJWT(t *testing.T, key *rsa.PrivateKey, claims string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims))
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + enc.EncodeToString(sig)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestPullRequestsAndRefs(t *testing.T) {
	f := setup(t, write)
	ctx := context.Background()
	c, _ := f.login(t, write)
	main := f.s.Head(t, f.repo, "main")
	repoInfo, err := c.Repository(ctx, acmeConfig)
	if err != nil {
		t.Fatal(err)
	}
	branch := "refs/heads/digestpin/apps-web"
	// updateRefs creates a branch only where none is.
	if err := c.UpdateRefs(ctx, acmeConfig, repoInfo.NodeID, []github.RefUpdate{{Name: branch, Before: github.ZeroOID, After: main}}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateRefs(ctx, acmeConfig, repoInfo.NodeID, []github.RefUpdate{{Name: branch, Before: github.ZeroOID, After: main}}); !errors.Is(err, github.ErrStaleHead) {
		t.Errorf("creating an existing branch: %v", err)
	}
	commit, err := c.CreateCommitOnBranch(ctx, github.CommitOnBranch{Repo: acmeConfig, Branch: "digestpin/apps-web", ExpectedHead: main, Message: "Pin",
		Additions: []github.FileAddition{{Path: "apps/web/kustomization.yaml", Contents: []byte("pinned\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	if pr, err := c.FindPullRequest(ctx, acmeConfig, "digestpin/apps-web", "main"); pr != nil || err != nil {
		t.Fatalf("FindPullRequest before = %v, %v", pr, err)
	}
	pr, err := c.CreatePullRequest(ctx, acmeConfig, github.NewPullRequest{Title: "Pin web", Head: "digestpin/apps-web", Base: "main", Body: "body"})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Number != 1 || pr.HTMLURL != f.s.URL+"/acme/config/pull/1" || pr.Head.SHA != commit.OID || pr.Base.SHA != main {
		t.Errorf("PR %+v", pr)
	}
	if _, err := c.CreatePullRequest(ctx, acmeConfig, github.NewPullRequest{Title: "Pin web", Head: "digestpin/apps-web", Base: "main"}); !errors.Is(err, github.ErrUnprocessable) ||
		!strings.Contains(err.Error(), "A pull request already exists for acme:digestpin/apps-web.") {
		t.Errorf("second PR: %v", err)
	}
	found, err := c.FindPullRequest(ctx, acmeConfig, "digestpin/apps-web", "main")
	if err != nil || found == nil || found.Number != 1 {
		t.Fatalf("FindPullRequest = %+v, %v", found, err)
	}
	if _, err := c.UpdatePullRequest(ctx, acmeConfig, 1, github.PullRequestUpdate{Title: "Pin web v2", Body: "new body"}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddLabels(ctx, acmeConfig, 1, []string{"digestpin", "prod"}); err != nil {
		t.Fatal(err)
	}
	got := f.s.PullRequests(f.repo)[0]
	if got.Title != "Pin web v2" || got.Body != "new body" || !slices.Equal(got.Labels, []string{"digestpin", "prod"}) {
		t.Errorf("PR after edits %+v", got)
	}

	// Auto-merge: refused on a repository that does not allow it, refused
	// while the PR is clean, accepted while it waits for a review.
	if err := c.EnableAutoMerge(ctx, acmeConfig, found, "squash"); !errors.Is(err, github.ErrUnprocessable) || !strings.Contains(err.Error(), "Auto merge is not allowed for this repository") {
		t.Errorf("auto-merge not allowed: %v", err)
	}
	f.repo.AllowAutoMerge = true
	if err := c.EnableAutoMerge(ctx, acmeConfig, found, "squash"); !errors.Is(err, github.ErrUnprocessable) || !strings.Contains(err.Error(), "Pull request is in clean status") {
		t.Errorf("auto-merge while clean: %v", err)
	}
	f.s.Protect(f.repo, "main", Rule{RequiredApprovals: 1})
	if err := c.EnableAutoMerge(ctx, acmeConfig, found, "squash"); err != nil {
		t.Fatal(err)
	}
	f.s.Approve(t, f.repo, 1)
	merged := f.s.PullRequests(f.repo)[0]
	if !merged.Merged || f.s.Head(t, f.repo, "main") != merged.MergeCommit || !f.s.Verified(merged.MergeCommit) {
		t.Errorf("after approval: %+v, main %s", merged, f.s.Head(t, f.repo, "main"))
	}

	// Deleting a branch with a compare-and-swap.
	if err := c.UpdateRefs(ctx, acmeConfig, repoInfo.NodeID, []github.RefUpdate{{Name: branch, Before: main, After: github.ZeroOID}}); !errors.Is(err, github.ErrStaleHead) {
		t.Errorf("delete with the wrong old value: %v", err)
	}
	if err := c.UpdateRefs(ctx, acmeConfig, repoInfo.NodeID, []github.RefUpdate{{Name: branch, Before: commit.OID, After: github.ZeroOID}}); err != nil {
		t.Errorf("delete: %v", err)
	}
	if f.s.Head(t, f.repo, "digestpin/apps-web") != "" {
		t.Error("branch still there")
	}
	// Direct merge of a PR.
	if err := c.UpdateRefs(ctx, acmeConfig, repoInfo.NodeID, []github.RefUpdate{{Name: "refs/heads/p2", Before: github.ZeroOID, After: merged.MergeCommit}}); err != nil {
		t.Fatal(err)
	}
	c2, err := c.CreateCommitOnBranch(ctx, github.CommitOnBranch{Repo: acmeConfig, Branch: "p2", ExpectedHead: merged.MergeCommit, Message: "p2",
		Additions: []github.FileAddition{{Path: "p2", Contents: []byte("p2\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	pr2, err := c.CreatePullRequest(ctx, acmeConfig, github.NewPullRequest{Title: "p2", Head: "p2", Base: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MergePullRequest(ctx, acmeConfig, pr2.Number, main, "merge"); !errors.Is(err, github.ErrUnprocessable) {
		t.Errorf("merge with a stale sha: %v", err)
	}
	if err := c.MergePullRequest(ctx, acmeConfig, pr2.Number, c2.OID, "merge"); err != nil {
		t.Errorf("merge: %v", err)
	}
}
