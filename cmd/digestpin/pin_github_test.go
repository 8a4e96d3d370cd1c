package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/githubtest"
)

// pin publishes as promote does: as a GitHub App, through a pull request
// when main is protected, with a commit GitHub signs.
func TestPinThroughAPullRequestAsAnApp(t *testing.T) {
	reg := newRegistry(t)
	web := reg.push(t, "acme/web", "v1", "")
	proxy := reg.push(t, "acme/proxy", "1.0", "")
	h := newHubRepo(t, webApp(reg.host), allPerms)
	h.s.Protect(h.repo, "main", githubtest.Rule{}) // no bypass at all
	main := h.head(t, "main")

	r := digestpin(t, h.clone, pinEnv(t, reg), "pin", "--insecure-registry",
		"--github-app-id", h.app.IDString(), "--github-app-key", h.keyFile, "--github-api-url", h.s.URL,
		"--commit-via", "api", "--pull-request", "apps/web")
	branchHead := h.head(t, "digestpin/apps-web")
	const file = "apps/web/kustomization.yaml"
	r.expect(t, 0, table(
		[4]string{reg.host + "/acme/proxy:1.0", "1.0", proxy, file},
		[4]string{reg.host + "/acme/web:v1", "v1", web, file},
	)+fmt.Sprintf("opened pull request #1 %s/acme/config/pull/1\ncommitted %s on origin/digestpin/apps-web for apps/web on origin/main (on top of %s)\n",
		h.s.URL, branchHead, main), "resolved 2/2\n")
	if h.head(t, "main") != main {
		t.Error("main moved")
	}
	if !h.s.Verified(branchHead) {
		t.Error("the API commit on the pull request branch is not verified")
	}
	got := h.gitOut(t, "show", branchHead+":"+file)
	if !strings.Contains(got, "digest: "+web) || !strings.Contains(got, "digest: "+proxy) {
		t.Errorf("kustomization on the branch:\n%s", got)
	}
	prs := h.s.PullRequests(h.repo)
	if len(prs) != 1 || prs[0].Title != "Pin 2 images in apps/web" || prs[0].Base != "main" || prs[0].Head != "digestpin/apps-web" {
		t.Errorf("pull requests: %+v", prs)
	}
	h.noSecrets(t, r)
}
