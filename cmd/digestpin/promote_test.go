package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// webApp is a config repository with a commented kustomization and a plain
// Argo Rollouts manifest, images in the test registry reg.
func webApp(reg string) map[string]string {
	return map[string]string{
		"apps/web/kustomization.yaml": `# Web app. CI pins images here.
namespace: web
resources:
  - deployment.yaml   # the app

images:
  # digestpin promote keeps comments
  - name: ` + reg + `/acme/web
    newTag: v1   # set by hand once
  - name: ` + reg + `/acme/proxy
    newTag: "1.0"
`,
		"apps/web/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ` + reg + `/acme/web:v1
      - name: proxy
        image: ` + reg + `/acme/proxy:1.0
`,
		"apps/api/rollout.yaml": `# Argo Rollout, no kustomize
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: api
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: "` + reg + `/acme/api:v1"
      containers:
      - name: api
        image: ` + reg + `/acme/api:v1
      - name: other
        image: ` + reg + `/acme/other:v1
`,
	}
}

func promoteArgs(reg *testRegistry, extra ...string) []string {
	return append([]string{"promote", "--insecure-registry"}, extra...)
}

func TestPromoteKustomizationChangesOnlyTheImagesLines(t *testing.T) {
	reg := newRegistry(t)
	web := reg.push(t, "acme/web", "v2", "4b825dc642cb6eb9a060e54bf8d69288fbee4904")
	repo := newConfigRepo(t, webApp(reg.host))
	before := repo.head(t)

	r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web",
		"--source-revision", "4b825dc642cb6eb9a060e54bf8d69288fbee4904")...)
	after := repo.head(t)
	r.expect(t, 0, fmt.Sprintf("pinned %s/acme/web:v2@%s\ncommitted %s in apps/web on origin/main (on top of %s)\n", reg.host, web, after, before), "")

	if got := git(t, repo.bare, "diff", before, after); got != fmt.Sprintf(`diff --git a/apps/web/kustomization.yaml b/apps/web/kustomization.yaml
index %s..%s 100644
--- a/apps/web/kustomization.yaml
+++ b/apps/web/kustomization.yaml
@@ -6,6 +6,7 @@ resources:
 images:
   # digestpin promote keeps comments
   - name: %s/acme/web
-    newTag: v1   # set by hand once
+    newTag: v2   # set by hand once
+    digest: %s
   - name: %s/acme/proxy
     newTag: "1.0"`, short(t, repo, before, "apps/web/kustomization.yaml"), short(t, repo, after, "apps/web/kustomization.yaml"), reg.host, web, reg.host) {
		t.Errorf("git diff =\n%s", got)
	}
	wantMessage := fmt.Sprintf("Pin %s/acme/web:v2 in apps/web\n\n%s/acme/web:v2 -> %s\n\nDigestpin-Image: %s/acme/web:v2@%s\nSource-Revision: 4b825dc642cb6eb9a060e54bf8d69288fbee4904", reg.host, reg.host, web, reg.host, web)
	if got := git(t, repo.bare, "log", "-1", "--format=%B", "main"); got != wantMessage {
		t.Errorf("commit message =\n%s\nwant\n%s", got, wantMessage)
	}
	if got := git(t, repo.bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"); got != "digestpin <digestpin@users.noreply.github.com>|digestpin <digestpin@users.noreply.github.com>" {
		t.Errorf("author|committer = %s", got)
	}
	repo.clean(t)

	// The pinned commit now renders with exactly that digest.
	checkout := filepath.Join(t.TempDir(), "checkout")
	git(t, ".", "clone", "--quiet", repo.bare, checkout)
	rendered := digestpin(t, filepath.Join(checkout, "apps/web"), argoEnv("apps/web", "DIGESTPIN_EXEMPT_IMAGES="+reg.host+"/acme/proxy"), "generate")
	if rendered.code != 0 || !strings.Contains(rendered.stdout, "image: "+reg.host+"/acme/web:v2@"+web+"\n") {
		t.Errorf("generate after promote: exit %d\n%s%s", rendered.code, rendered.stdout, rendered.stderr)
	}
}

// short is the abbreviated blob name git diff prints in its index line.
func short(t *testing.T, repo configRepo, rev, file string) string {
	return git(t, repo.bare, "rev-parse", "--short", rev+":"+file)
}

func TestPromoteManifestRewritesEveryImageOfTheRepository(t *testing.T) {
	reg := newRegistry(t)
	api := reg.push(t, "acme/api", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	before := repo.head(t)

	r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/api:v2", "--path", "apps/api/rollout.yaml")...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := git(t, repo.bare, "diff", "--unified=0", before, "main", "--", "apps/api/rollout.yaml")
	lines := strings.Split(got, "\n")
	wantTail := []string{
		"@@ -11 +11 @@ spec:",
		`-        image: "` + reg.host + `/acme/api:v1"`,
		`+        image: "` + reg.host + `/acme/api:v2@` + api + `"`,
		"@@ -14 +14 @@ spec:",
		"-        image: " + reg.host + "/acme/api:v1",
		"+        image: " + reg.host + "/acme/api:v2@" + api,
	}
	if len(lines) < len(wantTail) || strings.Join(lines[len(lines)-len(wantTail):], "\n") != strings.Join(wantTail, "\n") {
		t.Errorf("git diff =\n%s\nwant it to end with\n%s", got, strings.Join(wantTail, "\n"))
	}
}

func TestPromoteAlreadyPinnedAndDryRun(t *testing.T) {
	reg := newRegistry(t)
	web := reg.push(t, "acme/web", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)
	args := promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")

	r := digestpin(t, repo.clone, promoteEnv(t), append(args, "--dry-run")...)
	r.expect(t, 0, fmt.Sprintf(`--- a/apps/web/kustomization.yaml
+++ b/apps/web/kustomization.yaml
@@ -6,6 +6,7 @@
 images:
   # digestpin promote keeps comments
   - name: %[1]s/acme/web
-    newTag: v1   # set by hand once
+    newTag: v2   # set by hand once
+    digest: %[2]s
   - name: %[1]s/acme/proxy
     newTag: "1.0"
commit message:
    Pin %[1]s/acme/web:v2 in apps/web

    %[1]s/acme/web:v2 -> %[2]s

    Digestpin-Image: %[1]s/acme/web:v2@%[2]s
dry run: nothing committed (would build on %[3]s)
`, reg.host, web, start), "")
	if repo.head(t) != start {
		t.Fatal("--dry-run pushed a commit")
	}
	repo.clean(t)

	if r := digestpin(t, repo.clone, promoteEnv(t), args...); r.code != 0 {
		t.Fatalf("promote: exit %d: %s", r.code, r.stderr)
	}
	pinned := repo.head(t)
	r = digestpin(t, repo.clone, promoteEnv(t), args...)
	r.expect(t, 0, fmt.Sprintf("already pinned in apps/web on origin/main: %s/acme/web:v2@%s; nothing to commit\n", reg.host, web), "")
	if repo.head(t) != pinned {
		t.Error("an already-pinned promote made a commit")
	}
}

func TestPromoteRefusesAnImageBuiltFromAnotherCommit(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "1111111111111111111111111111111111111111")
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)

	r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web",
		"--source-revision", "2222222222222222222222222222222222222222")...)
	r.expect(t, 1, "", "image "+reg.host+"/acme/web:v2 was built from revision 1111111111111111111111111111111111111111 (label org.opencontainers.image.revision), not from --source-revision 2222222222222222222222222222222222222222: refusing to pin an artifact of another commit\n")
	if repo.head(t) != start {
		t.Error("the refused promote pushed a commit")
	}
	repo.clean(t)
}

func TestPromoteRegistryFailureChangesNothing(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	reg.push(t, "acme/proxy", "1.1", "")
	reg.fail = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/acme/proxy/") {
			http.Error(w, "boom", http.StatusInternalServerError)
			return true
		}
		return false
	}
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)

	r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--image", reg.host+"/acme/proxy:1.1", "--path", "apps/web")...)
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
	want := fmt.Sprintf("resolving %q: registry %q is unavailable (HTTP 500 Internal Server Error), gave up after 4 attempts", reg.host+"/acme/proxy:1.1", reg.host)
	if !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr =\n%s\nwant it to start with\n%s", r.stderr, want)
	}
	if repo.head(t) != start {
		t.Error("a commit was pushed although the second image did not resolve")
	}
	repo.clean(t)

	// A registry that is down altogether.
	r = digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--image", "127.0.0.1:1/acme/proxy:1.1", "--path", "apps/web")...)
	if r.code != 1 || !strings.HasPrefix(r.stderr, `resolving "127.0.0.1:1/acme/proxy:1.1": cannot connect to registry "127.0.0.1:1"`) {
		t.Errorf("exit %d, stderr %s", r.code, r.stderr)
	}
	if repo.head(t) != start {
		t.Error("a commit was pushed although the registry was down")
	}
	repo.clean(t)
}

func TestPromoteExpectHead(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	args := promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")

	t.Run("moved before promote fetched", func(t *testing.T) {
		repo := newConfigRepo(t, webApp(reg.host))
		built := repo.head(t)
		moved := repo.commitElsewhere(t, "apps/web/README.md", "newer source\n")
		r := digestpin(t, repo.clone, promoteEnv(t), append(args, "--expect-head", built)...)
		r.expect(t, 3, "", fmt.Sprintf("superseded: branch main advanced from %s to %s; the newer commit's pipeline will pin its own image\n", built, moved))
		if repo.head(t) != moved {
			t.Error("the remote changed")
		}
		repo.clean(t)
	})

	t.Run("moved during the push", func(t *testing.T) {
		repo := newConfigRepo(t, webApp(reg.host))
		built := repo.head(t)
		// Another pipeline pushes between promote's fetch and its push.
		other := filepath.Join(t.TempDir(), "other")
		git(t, ".", "clone", "--quiet", repo.bare, other)
		hook := fmt.Sprintf("#!/bin/sh\nset -e\ncd %q\necho newer > newer.txt\ngit add newer.txt\ngit -c user.name=O -c user.email=o@example.com commit --quiet -m newer\ngit push --quiet origin main\n", other)
		if err := os.WriteFile(filepath.Join(repo.clone, ".git/hooks/pre-push"), []byte(hook), 0o755); err != nil {
			t.Fatal(err)
		}
		r := digestpin(t, repo.clone, promoteEnv(t), append(args, "--expect-head", built[:12])...)
		moved := repo.head(t)
		if moved == built {
			t.Fatal("the hook did not move the branch")
		}
		r.expect(t, 3, "", fmt.Sprintf("superseded: branch main advanced from %s to %s; the newer commit's pipeline will pin its own image\n", built, moved))
		if got := git(t, repo.bare, "log", "--format=%s", "main"); got != "newer\nseed" {
			t.Errorf("remote history = %q, want only the other pipeline's commit on the seed", got)
		}
	})
}

func TestPromoteConcurrentWritersLoseNothing(t *testing.T) {
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
	clones := make([]string, apps)
	for i := range clones {
		clones[i] = filepath.Join(t.TempDir(), "ci")
		git(t, ".", "clone", "--quiet", repo.bare, clones[i])
	}

	results := make([]result, apps)
	var wg sync.WaitGroup
	for i := range apps {
		wg.Go(func() {
			name := fmt.Sprintf("app%02d", i)
			results[i] = digestpin(t, clones[i], promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/"+name+":v2", "--path", "apps/"+name)...)
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
	if merges := git(t, repo.bare, "rev-list", "--merges", "main"); merges != "" {
		t.Errorf("main has merges: %s", merges)
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
}

func TestPromoteNeverShowsCredentials(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)
	// Fetch works; the push goes to a URL with a token in it, where nothing
	// listens.
	git(t, repo.clone, "remote", "set-url", "--push", "origin", "http://x-access-token:SUPERSECRET@127.0.0.1:1/acme/config.git")

	r := digestpin(t, repo.clone, promoteEnv(t, "DIGESTPIN_GIT_TOKEN=ENVSECRET"), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	for _, secret := range []string{"SUPERSECRET", "ENVSECRET"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("%s appears in the output:\nstdout: %s\nstderr: %s", secret, r.stdout, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Errorf("stderr does not say where the push went: %s", r.stderr)
	}
	if repo.head(t) != start {
		t.Error("the remote changed")
	}
}

func TestPromoteNoPushAdvancesTheLocalBranch(t *testing.T) {
	reg := newRegistry(t)
	web := reg.push(t, "acme/web", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)

	r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web", "--no-push")...)
	local := git(t, repo.clone, "rev-parse", "HEAD")
	r.expect(t, 0, fmt.Sprintf("pinned %s/acme/web:v2@%s\ncommitted %s on local branch main; not pushed\n", reg.host, web, local), "")
	if local == start || repo.head(t) != start {
		t.Errorf("local %s, remote %s, start %s", local, repo.head(t), start)
	}
	repo.clean(t)
}

func TestPromoteUsageErrors(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no image", []string{"--path", "apps/web"}, 2, "at least one --image is required\n"},
		{"no path", []string{"--image", reg.host + "/acme/web:v2"}, 2, "--path is required\n"},
		{"path outside", []string{"--image", reg.host + "/acme/web:v2", "--path", "../x"}, 2, "--path \"../x\" must be relative to the repository root and inside it\n"},
		{"missing path", []string{"--image", reg.host + "/acme/web:v2", "--path", "apps/nope"}, 2, "--path \"apps/nope\" is not a file or directory at " + start + "\n"},
		{"typo in image", []string{"--image", reg.host + "/acme/wbe:v2", "--path", "apps/web"}, 1, "resolving \"" + reg.host + "/acme/wbe:v2\": "},
		{"image not rendered", []string{"--image", reg.host + "/acme/web:v2", "--path", "apps/api/rollout.yaml"}, 2, "apps/api/rollout.yaml holds no container image of " + reg.host + "/acme/web; check --image for a typo\n"},
		{"bad template", []string{"--image", reg.host + "/acme/web:v2", "--path", "apps/web", "--message", "{{.Nope"}, 2, "--message is not a valid template: template: message:1: unclosed action\n"},
		{"both modes", []string{"--image", reg.host + "/acme/web:v2", "--path", "apps/web", "--dry-run", "--no-push"}, 2, "--dry-run and --no-push exclude each other\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, tt.args...)...)
			if r.code != tt.code || r.stdout != "" || !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and stderr starting %q", r.code, r.stdout, r.stderr, tt.code, tt.want)
			}
		})
	}

	// A kustomization that renders no such image: a typo must not add a
	// dead images: entry.
	reg.push(t, "acme/webb", "v2", "")
	r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/webb:v2", "--path", "apps/web")...)
	r.expect(t, 2, "", fmt.Sprintf("apps/web renders no image %[1]s/acme/webb; check --image for a typo (it renders %[1]s/acme/web, %[1]s/acme/proxy)\n", reg.host))
	if repo.head(t) != start {
		t.Error("a usage error changed the remote")
	}
	repo.clean(t)
}

// A clone with a detached HEAD, as CI checkouts often are, has no branch
// to promote to: promote says so and names the flag, and changes nothing.
func TestPromoteDetachedHEADNamesBranchFlag(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	before := repo.head(t)
	git(t, repo.clone, "checkout", "--quiet", "--detach")

	r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")...)
	if r.code != 2 || r.stdout != "" || !strings.HasSuffix(r.stderr, "HEAD is detached, so there is no current branch; pass --branch to name the branch to commit to\n") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if repo.head(t) != before {
		t.Error("the remote changed")
	}
}
