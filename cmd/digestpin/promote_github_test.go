package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digestpin/digestpin/internal/github"
	"github.com/digestpin/digestpin/internal/githubtest"
)

// hubRepo is a config repository on the test GitHub with an app installed
// on it, and a clone whose origin is the repository's HTTP URL.
type hubRepo struct {
	s       *githubtest.Server
	app     *githubtest.App
	repo    *githubtest.Repo
	clone   string
	keyFile string
}

func newHubRepo(t *testing.T, files map[string]string, perms github.Permissions) hubRepo {
	t.Helper()
	s := githubtest.New(t)
	app := s.NewApp(t, "pinner")
	repo := s.CreateRepo(t, "acme", "config", files)
	s.Install(app, "acme", []string{"config"}, perms)
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, ".", "clone", "--quiet", repo.Dir, clone)
	git(t, clone, "remote", "set-url", "origin", s.CloneURL(repo))
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, app.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return hubRepo{s: s, app: app, repo: repo, clone: clone, keyFile: keyFile}
}

var allPerms = github.Permissions{"contents": "write", "pull_requests": "write"}

// args are promote's arguments to act as the app.
func (h hubRepo) args(reg *testRegistry, extra ...string) []string {
	return promoteArgs(reg, append([]string{"--github-app-id", h.app.IDString(), "--github-app-key", h.keyFile, "--github-api-url", h.s.URL}, extra...)...)
}

func (h hubRepo) head(t *testing.T, branch string) string { return h.s.Head(t, h.repo, branch) }

func (h hubRepo) gitOut(t *testing.T, args ...string) string { return git(t, h.repo.Dir, args...) }

// commitElsewhere commits to main directly in the bare repository, as a
// person with admin rights would, and returns the new head.
func (h hubRepo) commitElsewhere(t *testing.T, file, content string) string {
	t.Helper()
	other := filepath.Join(t.TempDir(), "other")
	git(t, ".", "clone", "--quiet", h.repo.Dir, other)
	if err := os.MkdirAll(filepath.Dir(filepath.Join(other, file)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, other, "add", "--all")
	git(t, other, "-c", "user.name=Other", "-c", "user.email=other@example.com", "commit", "--quiet", "-m", "other change")
	git(t, other, "push", "--quiet", "origin", "main")
	return git(t, other, "rev-parse", "HEAD")
}

// noSecrets fails when an installation token or the app's key shows in
// any output.
func (h hubRepo) noSecrets(t *testing.T, results ...result) {
	t.Helper()
	secrets := h.s.Tokens()
	for line := range strings.Lines(string(h.app.PEM)) {
		if line = strings.TrimSpace(line); len(line) > 20 {
			secrets = append(secrets, line)
		}
	}
	for _, r := range results {
		for _, sec := range secrets {
			if strings.Contains(r.stdout+r.stderr, sec) {
				t.Errorf("a secret shows in the output:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
			}
		}
	}
}

// onMutation calls f once, just before the server handles the first
// GraphQL request naming mutation.
func onMutation(s *githubtest.Server, mutation string, f func()) {
	var once sync.Once
	s.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/api/graphql" {
			return false
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(mutation+"(input")) {
			once.Do(f)
		}
		return false
	}
}

func TestGitHubAppIdentityPushesWithAnInstallationToken(t *testing.T) {
	reg := newRegistry(t)
	web := reg.push(t, "acme/web", "v2", "")
	h := newHubRepo(t, webApp(reg.host), allPerms)
	before := h.head(t, "main")

	r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
	after := h.head(t, "main")
	r.expect(t, 0, fmt.Sprintf("pinned %s/acme/web:v2@%s\ncommitted %s in apps/web on origin/main (on top of %s)\n", reg.host, web, after, before), "")
	if h.gitOut(t, "rev-parse", after+"^") != before {
		t.Errorf("the commit is not on the fetched head")
	}
	// One token, for this repository only, with contents: write only.
	grants := h.s.Grants()
	if len(grants) != 1 || !slices.Equal(grants[0].Repos, []string{"config"}) || grants[0].Permissions.String() != "contents: write, metadata: read" {
		t.Errorf("grants %+v", grants)
	}
	reqs := strings.Join(h.s.Requests(), "\n")
	for _, want := range []string{"GET /api/v3/repos/acme/config/installation", "POST /api/v3/app/installations/", "GET /acme/config.git/info/refs", "POST /acme/config.git/git-receive-pack"} {
		if !strings.Contains(reqs, want) {
			t.Errorf("no request %s in\n%s", want, reqs)
		}
	}
	h.noSecrets(t, r)
	// Pushed commits are not signed.
	if h.s.Verified(after) {
		t.Error("a pushed commit is verified")
	}
}

func TestGitHubAPICommitIsVerifiedWithTheGitPathsBytes(t *testing.T) {
	reg := newRegistry(t)
	web := reg.push(t, "acme/web", "v2", "")
	src := "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
	viaGit := newHubRepo(t, webApp(reg.host), allPerms)
	viaAPI := newHubRepo(t, webApp(reg.host), allPerms)
	args := []string{"--image", reg.host + "/acme/web:v2", "--path", "apps/web", "--source-revision", src}

	rg := digestpin(t, viaGit.clone, promoteEnv(t), viaGit.args(reg, args...)...)
	before := viaAPI.head(t, "main")
	ra := digestpin(t, viaAPI.clone, promoteEnv(t), viaAPI.args(reg, append(args, "--commit-via", "api")...)...)
	after := viaAPI.head(t, "main")
	ra.expect(t, 0, fmt.Sprintf("pinned %s/acme/web:v2@%s\ncommitted %s in apps/web on origin/main (on top of %s)\n", reg.host, web, after, before), "")
	if rg.code != 0 {
		t.Fatalf("git path: %s", rg.stderr)
	}
	if !viaAPI.s.Verified(after) {
		t.Error("the API commit is not verified")
	}
	if a, g := viaAPI.gitOut(t, "rev-parse", "main^{tree}"), viaGit.gitOut(t, "rev-parse", "main^{tree}"); a != g {
		t.Errorf("the API commit's tree %s differs from the git path's %s:\n%s", a, g, viaAPI.gitOut(t, "diff", before, "main"))
	}
	if a, g := viaAPI.gitOut(t, "log", "-1", "--format=%B", "main"), viaGit.gitOut(t, "log", "-1", "--format=%B", "main"); a != g {
		t.Errorf("message via the API\n%s\ndiffers from the git path's\n%s", a, g)
	}
	if got := viaAPI.gitOut(t, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%P", "main"); got != fmt.Sprintf("pinner[bot] <%d+pinner[bot]@users.noreply.github.com>|GitHub <noreply@github.com>|%s", viaAPI.app.BotUserID, before) {
		t.Errorf("author|committer|parent = %s", got)
	}
	// Nothing was pushed with git in API mode.
	if reqs := strings.Join(viaAPI.s.Requests(), "\n"); strings.Contains(reqs, "git-receive-pack") || !strings.Contains(reqs, "POST /api/graphql createCommitOnBranch") {
		t.Errorf("requests:\n%s", reqs)
	}
	viaAPI.noSecrets(t, ra)
	repo := configRepo{clone: viaAPI.clone}
	repo.clean(t)
}

func TestGitHubAPIStaleHead(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	args := []string{"--image", reg.host + "/acme/web:v2", "--path", "apps/web", "--commit-via", "api"}

	t.Run("with --expect-head: superseded", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		built := h.head(t, "main")
		var moved string
		onMutation(h.s, "createCommitOnBranch", func() { moved = h.commitElsewhere(t, "apps/web/README.md", "newer\n") })
		r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, append(args, "--expect-head", built)...)...)
		r.expect(t, 3, "", fmt.Sprintf("superseded: branch main advanced from %s to %s; the newer commit's pipeline will pin its own image\n", built, moved))
		if got := h.gitOut(t, "log", "--format=%s", "main"); got != "other change\nseed" {
			t.Errorf("history %q", got)
		}
	})

	t.Run("without: rebuilt on the new head", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		var moved string
		onMutation(h.s, "createCommitOnBranch", func() { moved = h.commitElsewhere(t, "apps/web/README.md", "newer\n") })
		r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, args...)...)
		if r.code != 0 || r.stderr != "origin/main moved while pushing; rebuilding the change on the new head (attempt 2 of 20)\n" {
			t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
		}
		if got := h.gitOut(t, "log", "--format=%s", "main"); got != fmt.Sprintf("Pin %s/acme/web:v2 in apps/web\nother change\nseed", reg.host) {
			t.Errorf("history %q", got)
		}
		if h.gitOut(t, "rev-parse", "main^") != moved || !h.s.Verified(h.head(t, "main")) {
			t.Error("the commit is not a verified commit on the other writer's")
		}
	})
}

func TestGitHubAPIConcurrentPromotesLoseNothing(t *testing.T) {
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
	h := newHubRepo(t, files, allPerms)
	seed := h.head(t, "main")
	clones := make([]string, apps)
	for i := range clones {
		clones[i] = filepath.Join(t.TempDir(), "ci")
		git(t, ".", "clone", "--quiet", h.repo.Dir, clones[i])
		git(t, clones[i], "remote", "set-url", "origin", h.s.CloneURL(h.repo))
	}
	results := make([]result, apps)
	var wg sync.WaitGroup
	for i := range apps {
		wg.Go(func() {
			name := fmt.Sprintf("app%02d", i)
			results[i] = digestpin(t, clones[i], promoteEnv(t), h.args(reg, "--commit-via", "api", "--image", reg.host+"/acme/"+name+":v2", "--path", "apps/"+name)...)
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("app%02d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	h.noSecrets(t, results...)
	if n := h.gitOut(t, "rev-list", "--count", "main"); n != fmt.Sprint(apps+1) {
		t.Errorf("main has %s commits, want %d", n, apps+1)
	}
	if merges := h.gitOut(t, "rev-list", "--merges", "main"); merges != "" {
		t.Errorf("main has merges: %s", merges)
	}
	if first := h.gitOut(t, "rev-list", "--max-parents=0", "main"); first != seed {
		t.Errorf("main's root is %s, want the seed %s", first, seed)
	}
	for _, c := range strings.Fields(h.gitOut(t, "rev-list", "main", "^"+seed)) {
		if !h.s.Verified(c) {
			t.Errorf("commit %s is not verified", c)
		}
	}
	for i := range apps {
		name := fmt.Sprintf("app%02d", i)
		got := h.gitOut(t, "show", "main:apps/"+name+"/kustomization.yaml") + "\n"
		want := "resources: [deployment.yaml]\nimages:\n- name: " + reg.host + "/acme/" + name + "\n  newTag: v2\n  digest: " + digests[i] + "\n"
		if got != want {
			t.Errorf("%s at main =\n%s\nwant\n%s", name, got, want)
		}
	}
}

func TestGitHubProtectedBranchRefusesDirectChanges(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	h := newHubRepo(t, webApp(reg.host), allPerms)
	h.s.Protect(h.repo, "main", githubtest.Rule{})
	start := h.head(t, "main")
	args := h.args(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")

	r := digestpin(t, h.clone, promoteEnv(t), args...)
	if r.code != 1 || r.stdout != "" {
		t.Errorf("git push: exit %d, stdout %q", r.code, r.stdout)
	}
	for _, want := range []string{
		"remote: error: GH013: Repository rule violations found for refs/heads/main.",
		"remote: - Changes must be made through a pull request.",
		"[remote rejected] (push declined due to repository rule violations)",
		`; a branch protection rule or ruleset refuses direct changes to "main" by this identity: change it through a pull request, or make the GitHub App the ruleset's bypass actor (--pull-request opens a pull request instead)` + "\n",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("git push: stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	ra := digestpin(t, h.clone, promoteEnv(t), append(args, "--commit-via", "api")...)
	ra.expect(t, 1, "", `creating a commit on acme/config branch "main" through the API: GitHub refused it: "Repository rule violations found Changes must be made through a pull request."; a branch protection rule or ruleset refuses direct changes to "main" by this identity: change it through a pull request, or make the GitHub App the ruleset's bypass actor (--pull-request opens a pull request instead)`+"\n")
	if h.head(t, "main") != start {
		t.Error("the protected branch moved")
	}
	h.noSecrets(t, r, ra)

	// The app as the ruleset's only bypass actor may commit.
	h.s.Protect(h.repo, "main", githubtest.Rule{Bypass: []int64{h.app.ID}})
	if r := digestpin(t, h.clone, promoteEnv(t), append(args, "--commit-via", "api")...); r.code != 0 {
		t.Errorf("bypass actor: exit %d: %s", r.code, r.stderr)
	}
}

func TestGitHubPullRequestOpenThenUpdate(t *testing.T) {
	for _, via := range []string{"git", "api"} {
		t.Run(via, func(t *testing.T) {
			reg := newRegistry(t)
			v2 := reg.push(t, "acme/web", "v2", "")
			h := newHubRepo(t, webApp(reg.host), allPerms)
			h.s.Protect(h.repo, "main", githubtest.Rule{}) // no bypass at all
			main := h.head(t, "main")
			src := "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

			r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, "--commit-via", via, "--pull-request", "--pr-label", "digestpin", "--pr-label", "prod",
				"--image", reg.host+"/acme/web:v2", "--path", "apps/web", "--source-revision", src)...)
			branchHead := h.head(t, "digestpin/apps-web")
			prURL := h.s.URL + "/acme/config/pull/1"
			r.expect(t, 0, fmt.Sprintf("pinned %s/acme/web:v2@%s\nopened pull request #1 %s\ncommitted %s on origin/digestpin/apps-web for apps/web on origin/main (on top of %s)\n",
				reg.host, v2, prURL, branchHead, main), "")
			if h.head(t, "main") != main {
				t.Fatal("main moved")
			}
			if h.gitOut(t, "rev-parse", branchHead+"^") != main {
				t.Error("the pull request branch is not one commit on main")
			}
			if via == "api" && !h.s.Verified(branchHead) {
				t.Error("the API commit on the pull request branch is not verified")
			}
			if got := h.gitOut(t, "show", branchHead+":apps/web/kustomization.yaml"); !strings.Contains(got, "digest: "+v2) {
				t.Errorf("kustomization on the branch:\n%s", got)
			}
			prs := h.s.PullRequests(h.repo)
			if len(prs) != 1 {
				t.Fatalf("%d pull requests", len(prs))
			}
			pr := prs[0]
			wantBody := fmt.Sprintf("digestpin pins these images in `apps/web` on `main`:\n\n| image | tag | digest |\n|---|---|---|\n| `%s/acme/web` | `v2` | `%s` |\n\nSource revision: `%s`\n\n```diff\n", reg.host, v2, src)
			if pr.Title != "Pin "+reg.host+"/acme/web:v2 in apps/web" || pr.Head != "digestpin/apps-web" || pr.Base != "main" || pr.State != "open" ||
				!strings.HasPrefix(pr.Body, wantBody) || !strings.Contains(pr.Body, "+    digest: "+v2+"\n") || !slices.Equal(pr.Labels, []string{"digestpin", "prod"}) {
				t.Errorf("pull request %+v\nbody:\n%s", pr, pr.Body)
			}
			if strings.Contains(strings.Join(h.s.Requests(), "\n"), "digestpin-tmp") {
				t.Log("temporary branch used") // API mode
			}
			if refs := h.gitOut(t, "for-each-ref", "--format=%(refname)"); refs != "refs/heads/digestpin/apps-web\nrefs/heads/main" {
				t.Errorf("branches left:\n%s", refs)
			}

			// main moves and a newer image is promoted: the same pull request
			// is updated, its branch rebuilt on the new main.
			moved := h.commitElsewhere(t, "apps/web/README.md", "docs\n")
			v3 := reg.push(t, "acme/web", "v3", "")
			r2 := digestpin(t, h.clone, promoteEnv(t), h.args(reg, "--commit-via", via, "--pull-request", "--output", "json",
				"--image", reg.host+"/acme/web:v3", "--path", "apps/web")...)
			if r2.code != 0 {
				t.Fatalf("second promote: exit %d: %s", r2.code, r2.stderr)
			}
			branchHead = h.head(t, "digestpin/apps-web")
			var rec map[string]any
			if err := json.Unmarshal([]byte(r2.stdout), &rec); err != nil {
				t.Fatalf("--output json: %v\n%s", err, r2.stdout)
			}
			wantJSON := fmt.Sprintf(`{"images":[{"reference":"%[1]s/acme/web:v3","repository":"%[1]s/acme/web","tag":"v3","digest":"%[2]s","pinned":"%[1]s/acme/web:v3@%[2]s"}],"path":"apps/web","remote":"origin","branch":"main","base":"%[3]s","commit":"%[4]s","commit_via":"%[5]s","pushed":true,"superseded":false,"already_pinned":false,"dry_run":false,"attempts":1,"pull_request":{"number":1,"url":"%[6]s","branch":"digestpin/apps-web","created":false,"auto_merge":false,"merged":false}}`+"\n",
				reg.host, v3, moved, branchHead, via, prURL)
			if r2.stdout != wantJSON {
				t.Errorf("json =\n%s\nwant\n%s", r2.stdout, wantJSON)
			}
			prs = h.s.PullRequests(h.repo)
			if len(prs) != 1 || prs[0].Title != "Pin "+reg.host+"/acme/web:v3 in apps/web" || !strings.Contains(prs[0].Body, v3) || strings.Contains(prs[0].Body, v2) {
				t.Errorf("after the update: %d pull requests, %+v", len(prs), prs[0])
			}
			if h.gitOut(t, "rev-parse", branchHead+"^") != moved || h.gitOut(t, "rev-list", "--count", moved+".."+branchHead) != "1" {
				t.Error("the pull request branch was not rebuilt as one commit on the new main")
			}
			if h.head(t, "main") != moved {
				t.Error("main moved")
			}
			h.noSecrets(t, r, r2)
		})
	}
}

func TestGitHubPullRequestAutoMerge(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	t.Run("waits for a review", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		h.repo.AllowAutoMerge = true
		h.s.Protect(h.repo, "main", githubtest.Rule{RequiredApprovals: 1})
		r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, "--pull-request", "--pr-auto-merge", "--pr-merge-method", "squash", "--commit-via", "api",
			"--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
		if r.code != 0 || !strings.HasSuffix(r.stdout, "auto-merge enabled (squash)\n") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if pr := h.s.PullRequests(h.repo)[0]; pr.AutoMergeMethod != "SQUASH" || pr.Merged {
			t.Errorf("%+v", pr)
		}
		h.s.Approve(t, h.repo, 1)
		if got := h.gitOut(t, "show", "main:apps/web/kustomization.yaml"); !strings.Contains(got, "digest: sha256:") {
			t.Errorf("main after the approval:\n%s", got)
		}
	})
	t.Run("nothing to wait for: merged now", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		h.repo.AllowAutoMerge = true
		main := h.head(t, "main")
		r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, "--pull-request", "--pr-auto-merge",
			"--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
		if r.code != 0 || !strings.HasSuffix(r.stdout, "merged pull request #1 (merge): nothing to wait for\n") {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if pr := h.s.PullRequests(h.repo)[0]; !pr.Merged || h.head(t, "main") != pr.MergeCommit || h.gitOut(t, "rev-parse", pr.MergeCommit+"^1") != main {
			t.Errorf("%+v", pr)
		}
	})
	t.Run("not allowed: nothing left behind", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		main := h.head(t, "main")
		r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, "--pull-request", "--pr-auto-merge",
			"--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
		r.expect(t, 1, "", `acme/config does not allow auto-merge: enable "Allow auto-merge" in the repository's settings (General, Pull Requests), or open the pull request without auto-merge`+"\n")
		if refs := h.gitOut(t, "for-each-ref", "--format=%(refname)"); refs != "refs/heads/main" || h.head(t, "main") != main {
			t.Errorf("branches left:\n%s", refs)
		}
		if prs := h.s.PullRequests(h.repo); len(prs) != 0 {
			t.Errorf("pull requests %+v", prs)
		}
	})
}

func TestGitHubErrorsNameTheCauseAndLeaveNothingBehind(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	image := []string{"--image", reg.host + "/acme/web:v2", "--path", "apps/web"}
	check := func(t *testing.T, h hubRepo, r result, start string, want string) {
		t.Helper()
		r.expect(t, 1, "", want)
		if refs := h.gitOut(t, "for-each-ref", "--format=%(refname) %(objectname)"); refs != "refs/heads/main "+start {
			t.Errorf("branches after the failure:\n%s", refs)
		}
		if prs := h.s.PullRequests(h.repo); len(prs) != 0 {
			t.Errorf("pull requests after the failure: %+v", prs)
		}
		h.noSecrets(t, r)
	}

	t.Run("401 another key", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		other := h.s.NewApp(t, "other")
		r := digestpin(t, h.clone, promoteEnv(t, envGitHubAppKey+"="+string(other.PEM)),
			promoteArgs(reg, append([]string{"--github-app-id", h.app.IDString(), "--github-api-url", h.s.URL}, image...)...)...)
		check(t, h, r, h.head(t, "main"), fmt.Sprintf(`finding the installation of GitHub App %[1]s on acme/config: GitHub answered 401 Unauthorized: "A JSON web token could not be decoded"; GitHub refused the JSON Web Token of app %[1]s: the private key is not this app's, or this machine's clock is more than a minute off GitHub's (check NTP) (check --github-app-id and the key in --github-app-key or $DIGESTPIN_GITHUB_APP_KEY)`+"\n", h.app.IDString()))
	})
	t.Run("401 clock skew", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		h.s.Now = func() time.Time { return time.Now().Add(-3 * time.Minute) } // our clock is 3 minutes ahead
		r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, image...)...)
		check(t, h, r, h.head(t, "main"), fmt.Sprintf(`finding the installation of GitHub App %[1]s on acme/config: GitHub answered 401 Unauthorized: "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"; GitHub refused the JSON Web Token of app %[1]s: the private key is not this app's, or this machine's clock is more than a minute off GitHub's (check NTP) (check --github-app-id and the key in --github-app-key or $DIGESTPIN_GITHUB_APP_KEY)`+"\n", h.app.IDString()))
	})
	t.Run("403 missing permission", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), github.Permissions{"contents": "write"})
		r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, append(image, "--pull-request")...)...)
		check(t, h, r, h.head(t, "main"), fmt.Sprintf(`checking the permissions of GitHub App %s on acme/config: GitHub refused it: "the installation grants contents: write, metadata: read"; the GitHub App's installation lacks the "pull_requests: write" permission: grant it in the app's settings and approve it on the installation`+"\n", h.app.IDString()))
	})
	t.Run("403 permission refused at use", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		h.s.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != "POST" || r.URL.Path != "/api/v3/repos/acme/config/pulls" {
				return false
			}
			w.Header().Set("X-Accepted-GitHub-Permissions", "pull_requests=write")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(403)
			io.WriteString(w, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/pulls/pulls#create-a-pull-request","status":"403"}`)
			return true
		}
		start := h.head(t, "main")
		r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, append(image, "--pull-request", "--commit-via", "api")...)...)
		check(t, h, r, start, `opening a pull request on acme/config from "digestpin/apps-web" into "main": GitHub answered 403 Forbidden: "Resource not accessible by integration"; the GitHub App's installation lacks the "pull_requests: write" permission: grant it in the app's settings and approve it on the installation`+"\n")
	})
	t.Run("404 not installed", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		stranger := h.s.NewApp(t, "stranger")
		key := filepath.Join(t.TempDir(), "k.pem")
		os.WriteFile(key, stranger.PEM, 0o600)
		r := digestpin(t, h.clone, promoteEnv(t), promoteArgs(reg, append([]string{"--github-app-id", stranger.IDString(), "--github-app-key", key, "--github-api-url", h.s.URL}, image...)...)...)
		check(t, h, r, h.head(t, "main"), fmt.Sprintf(`finding the installation of GitHub App %[1]s on acme/config: GitHub answered 404 Not Found: "Not Found"; GitHub App %[1]s is not installed on acme/config (or that repository does not exist): install the app on it`+"\n", stranger.IDString()))
	})
	t.Run("422 on opening the pull request", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		h.s.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != "POST" || r.URL.Path != "/api/v3/repos/acme/config/pulls" {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(422)
			io.WriteString(w, `{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"pull request creation is restricted"}]}`)
			return true
		}
		start := h.head(t, "main")
		r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, append(image, "--pull-request")...)...)
		check(t, h, r, start, `opening a pull request on acme/config from "digestpin/apps-web" into "main": GitHub answered 422 Unprocessable Entity: "Validation Failed: pull request creation is restricted"`+"\n")
	})
	t.Run("secondary rate limit: waits, then works", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		limited := 0
		h.s.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/api/graphql" || limited == 2 {
				return false
			}
			limited++
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(403)
			io.WriteString(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`)
			return true
		}
		r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, append(image, "--commit-via", "api")...)...)
		if r.code != 0 || limited != 2 || !h.s.Verified(h.head(t, "main")) {
			t.Errorf("exit %d after %d refusals: %s", r.code, limited, r.stderr)
		}
	})
	t.Run("secondary rate limit: longer than the bound", func(t *testing.T) {
		h := newHubRepo(t, webApp(reg.host), allPerms)
		h.s.Intercept = func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != "/api/graphql" {
				return false
			}
			w.Header().Set("Retry-After", "3600")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(429)
			io.WriteString(w, `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`)
			return true
		}
		start := h.head(t, "main")
		r := digestpin(t, h.clone, promoteEnv(t), h.args(reg, append(image, "--commit-via", "api")...)...)
		check(t, h, r, start, `creating a commit on acme/config branch "main" through the API: GitHub answered 429 Too Many Requests: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."; GitHub asks to wait 1h0m0s, longer than the time left to wait (3m0s); run again later`+"\n")
	})
}

func TestGitHubUsageErrors(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	h := newHubRepo(t, webApp(reg.host), allPerms)
	image := []string{"--image", reg.host + "/acme/web:v2", "--path", "apps/web"}
	for _, tt := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--github-app-id", "1"}, nil, "--github-app-id needs the app's private key: --github-app-key FILE, or the PEM in $DIGESTPIN_GITHUB_APP_KEY\n"},
		{[]string{"--commit-via", "api"}, nil, "--commit-via api and --pull-request call GitHub's API: give a GitHub App (--github-app-id and its key) or a token in $DIGESTPIN_GIT_TOKEN\n"},
		{[]string{"--commit-via", "svn"}, nil, "--commit-via \"svn\": want git or api\n"},
		{[]string{"--pr-auto-merge"}, nil, "--pr-label and --pr-auto-merge apply with --pull-request only\n"},
		{[]string{"--github-app-id", "1", "--github-app-key", "/nonexistent"}, nil, "--github-app-key: open /nonexistent: no such file or directory\n"},
		{[]string{"--github-app-id", "1"}, []string{envGitHubAppKey + "=-----BEGIN RSA PRIVATE KEY-----\nSECRETSECRET\n-----END RSA PRIVATE KEY-----\n"}, "the GitHub App private key is not a valid PKCS#1 RSA key\n"},
		{[]string{"--github-app-id", "1", "--github-app-key", h.keyFile, "--github-api-url", "http://ghe.example.com"}, nil, "GitHub API URL \"http://ghe.example.com\": plain http:// is allowed for loopback hosts only; use https://\n"},
		{[]string{"--github-app-id", "1", "--github-app-key", h.keyFile, "--github-api-url", "https://ghe.example.com"}, nil, "the remote is on " + strings.TrimPrefix(h.s.URL, "http://") + " but the GitHub API is on ghe.example.com: the installation token would go to another host\n"},
		{[]string{"--github-app-id", "1", "--github-app-key", h.keyFile, "--pull-request", "--no-push"}, nil, "--no-push excludes --commit-via api and --pull-request\n"},
		{[]string{"--output", "yaml"}, nil, "--output \"yaml\": want text or json\n"},
	} {
		r := digestpin(t, h.clone, promoteEnv(t, tt.env...), promoteArgs(reg, append(image, tt.args...)...)...)
		r.expect(t, 2, "", tt.want)
		if strings.Contains(r.stderr, "SECRETSECRET") {
			t.Error("the key shows")
		}
	}
}

func TestGitHubAPIWithATokenInsteadOfAnApp(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	h := newHubRepo(t, webApp(reg.host), allPerms)
	gh, err := github.New(github.Options{APIURL: h.s.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := gh.Authenticate(context.Background(), &github.App{ID: h.app.IDString(), Key: h.app.Key}, 0, github.Repo{Owner: "acme", Name: "config"}, allPerms)
	if err != nil {
		t.Fatal(err)
	}
	before := h.head(t, "main")
	seen := len(h.s.Requests())
	r := digestpin(t, h.clone, promoteEnv(t, envGitToken+"="+tok.Token), promoteArgs(reg, "--github-api-url", h.s.URL, "--commit-via", "api", "--pull-request",
		"--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "pinned ") || !strings.Contains(r.stdout, "opened pull request #1 ") {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if c := h.head(t, "digestpin/apps-web"); !h.s.Verified(c) || h.gitOut(t, "rev-parse", c+"^") != before {
		t.Error("no verified commit on the pull request branch")
	}
	if reqs := strings.Join(h.s.Requests()[seen:], "\n"); strings.Contains(reqs, "/installation") || strings.Contains(reqs, "access_tokens") {
		t.Error("looked for an installation without an app")
	}
	h.noSecrets(t, r)
}
