package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
)

// shopTree is a config repository where two overlays share a base, and a
// directory of plain manifests, images in the test registry reg.
func shopTree(reg string) map[string]string {
	return map[string]string{
		"apps/shop/base/kustomization.yaml": "resources:\n- deployment.yaml\n",
		"apps/shop/base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: ` + reg + `/acme/shop-migrate:v3
      containers:
      - name: web
        image: ` + reg + `/acme/shop-web:v1
      - name: proxy
        image: ` + reg + `/acme/proxy
      - name: metrics
        image: ` + reg + `/acme/exporter:v0.9@sha256:` + strings.Repeat("e", 64) + `
      - name: debug
        image: ` + reg + `/acme/debug:edge
`,
		"apps/shop/staging/kustomization.yaml": `# Staging runs the newest web build.
resources:
- ../base
images:
- name: ` + reg + `/acme/shop-web
  newTag: v2   # bumped by hand
`,
		"apps/shop/prod/kustomization.yaml": "namePrefix: prod-\nresources:\n- ../base\n",
		"apps/api/deployment.yaml": `# The API, plain manifests.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
      - name: api
        image: "` + reg + `/acme/api:v1"   # quoted
---
apiVersion: v1
kind: Service
metadata:
  name: api
`,
		"apps/api/worker/cronjob.yaml": `apiVersion: batch/v1
kind: CronJob
metadata:
  name: worker
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: worker
            image: ` + reg + `/acme/api:v1
          - name: report
            image: ` + reg + `/acme/report:2.0
`,
		"apps/api/README.md": "image: not/a-manifest:v1\n",
	}
}

// pinEnv is promoteEnv with the operator policy pin applies.
func pinEnv(t *testing.T, reg *testRegistry) []string {
	return promoteEnv(t, "DIGESTPIN_EXEMPT_IMAGES="+reg.host+"/acme/debug")
}

func pushShop(t *testing.T, reg *testRegistry) map[string]string {
	d := map[string]string{}
	for _, ref := range []string{"acme/shop-migrate:v3", "acme/shop-web:v1", "acme/shop-web:v2", "acme/proxy:latest", "acme/api:v1", "acme/report:2.0"} {
		repo, tag, _ := strings.Cut(ref, ":")
		d[ref] = reg.push(t, repo, tag, "")
	}
	return d
}

// table is the summary pin prints: image, tag, digest, file.
func table(rows ...[4]string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tTAG\tDIGEST\tFILE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3])
	}
	tw.Flush()
	return b.String()
}

func TestPinOverlaysThatShareABase(t *testing.T) {
	reg := newRegistry(t)
	d := pushShop(t, reg)
	repo := newConfigRepo(t, shopTree(reg.host))
	before := repo.head(t)
	r := reg.host

	res := digestpin(t, repo.clone, pinEnv(t, reg), "pin", "--insecure-registry", "apps/shop/staging", "apps/shop/prod")
	after := repo.head(t)
	const staging, prod = "apps/shop/staging/kustomization.yaml", "apps/shop/prod/kustomization.yaml"
	res.expect(t, 0, table(
		[4]string{r + "/acme/proxy", "latest", d["acme/proxy:latest"], prod},
		[4]string{r + "/acme/shop-migrate:v3", "v3", d["acme/shop-migrate:v3"], prod},
		[4]string{r + "/acme/shop-web:v1", "v1", d["acme/shop-web:v1"], prod},
		[4]string{r + "/acme/proxy", "latest", d["acme/proxy:latest"], staging},
		[4]string{r + "/acme/shop-migrate:v3", "v3", d["acme/shop-migrate:v3"], staging},
		[4]string{r + "/acme/shop-web:v2", "v2", d["acme/shop-web:v2"], staging},
	)+fmt.Sprintf("committed %s in apps/shop/staging, apps/shop/prod on origin/main (on top of %s)\n", after, before), "resolved 4/4\n")

	want := fmt.Sprintf(`diff --git a/apps/shop/prod/kustomization.yaml b/apps/shop/prod/kustomization.yaml
index %[4]s..%[5]s 100644
--- a/apps/shop/prod/kustomization.yaml
+++ b/apps/shop/prod/kustomization.yaml
@@ -1,3 +1,13 @@
 namePrefix: prod-
 resources:
 - ../base
+images:
+- name: %[1]s/acme/proxy
+  newTag: latest
+  digest: %[2]s
+- name: %[1]s/acme/shop-migrate
+  newTag: v3
+  digest: %[3]s
+- name: %[1]s/acme/shop-web
+  newTag: v1
+  digest: %[6]s
diff --git a/apps/shop/staging/kustomization.yaml b/apps/shop/staging/kustomization.yaml
index %[7]s..%[8]s 100644
--- a/apps/shop/staging/kustomization.yaml
+++ b/apps/shop/staging/kustomization.yaml
@@ -4,3 +4,10 @@ resources:
 images:
 - name: %[1]s/acme/shop-web
   newTag: v2   # bumped by hand
+  digest: %[9]s
+- name: %[1]s/acme/proxy
+  newTag: latest
+  digest: %[2]s
+- name: %[1]s/acme/shop-migrate
+  newTag: v3
+  digest: %[3]s`, r, d["acme/proxy:latest"], d["acme/shop-migrate:v3"],
		short(t, repo, before, prod), short(t, repo, after, prod), d["acme/shop-web:v1"],
		short(t, repo, before, staging), short(t, repo, after, staging), d["acme/shop-web:v2"])
	if got := git(t, repo.bare, "diff", before, after); got != want {
		t.Errorf("git diff =\n%s\nwant\n%s", got, want)
	}
	msg := git(t, repo.bare, "log", "-1", "--format=%B", "main")
	wantMsg := fmt.Sprintf(`Pin 4 images in apps/shop/staging, apps/shop/prod

%[1]s/acme/proxy:latest -> %[2]s
%[1]s/acme/shop-migrate:v3 -> %[3]s
%[1]s/acme/shop-web:v1 -> %[4]s
%[1]s/acme/shop-web:v2 -> %[5]s

Digestpin-Image: %[1]s/acme/proxy:latest@%[2]s
Digestpin-Image: %[1]s/acme/shop-migrate:v3@%[3]s
Digestpin-Image: %[1]s/acme/shop-web:v1@%[4]s
Digestpin-Image: %[1]s/acme/shop-web:v2@%[5]s`, r, d["acme/proxy:latest"], d["acme/shop-migrate:v3"], d["acme/shop-web:v1"], d["acme/shop-web:v2"])
	if msg != wantMsg {
		t.Errorf("commit message =\n%s\nwant\n%s", msg, wantMsg)
	}
	repo.clean(t)

	// The overlays now pass generate; the base, edited by no one, does not.
	for _, app := range []string{"apps/shop/staging", "apps/shop/prod"} {
		if r := digestpin(t, repo.clone, pinEnv(t, reg), "check", app); r.code != 1 {
			// the clone is at the old commit: still refused
			t.Errorf("check %s in the old checkout: exit %d", app, r.code)
		}
	}
	git(t, repo.clone, "pull", "--quiet", "--ff-only")
	for _, app := range []string{"apps/shop/staging", "apps/shop/prod"} {
		if r := digestpin(t, repo.clone, pinEnv(t, reg), "check", app); r.code != 0 {
			t.Errorf("check %s after pin: exit %d\n%s%s", app, r.code, r.stdout, r.stderr)
		}
	}

	// Again: nothing to do.
	res = digestpin(t, repo.clone, pinEnv(t, reg), "pin", "--insecure-registry", "apps/shop/staging", "apps/shop/prod")
	res.expect(t, 0, "nothing to pin in apps/shop/staging, apps/shop/prod on origin/main: every image has a digest or is exempt\n", "")
	if repo.head(t) != after {
		t.Error("a second pin made a commit")
	}
}

func TestPinManifestDirectory(t *testing.T) {
	reg := newRegistry(t)
	d := pushShop(t, reg)
	repo := newConfigRepo(t, shopTree(reg.host))
	before := repo.head(t)
	r := reg.host

	res := digestpin(t, repo.clone, pinEnv(t, reg), "pin", "--insecure-registry", "apps/api")
	after := repo.head(t)
	res.expect(t, 0, table(
		[4]string{r + "/acme/api:v1", "v1", d["acme/api:v1"], "apps/api/deployment.yaml"},
		[4]string{r + "/acme/api:v1", "v1", d["acme/api:v1"], "apps/api/worker/cronjob.yaml"},
		[4]string{r + "/acme/report:2.0", "2.0", d["acme/report:2.0"], "apps/api/worker/cronjob.yaml"},
	)+fmt.Sprintf("committed %s in apps/api on origin/main (on top of %s)\n", after, before), "resolved 2/2\n")
	want := fmt.Sprintf(`diff --git a/apps/api/deployment.yaml b/apps/api/deployment.yaml
index %[4]s..%[5]s 100644
--- a/apps/api/deployment.yaml
+++ b/apps/api/deployment.yaml
@@ -8,7 +8,7 @@ spec:
     spec:
       containers:
       - name: api
-        image: "%[1]s/acme/api:v1"   # quoted
+        image: "%[1]s/acme/api:v1@%[2]s"   # quoted
 ---
 apiVersion: v1
 kind: Service
diff --git a/apps/api/worker/cronjob.yaml b/apps/api/worker/cronjob.yaml
index %[6]s..%[7]s 100644
--- a/apps/api/worker/cronjob.yaml
+++ b/apps/api/worker/cronjob.yaml
@@ -9,6 +9,6 @@ spec:
         spec:
           containers:
           - name: worker
-            image: %[1]s/acme/api:v1
+            image: %[1]s/acme/api:v1@%[2]s
           - name: report
-            image: %[1]s/acme/report:2.0
+            image: %[1]s/acme/report:2.0@%[3]s`, r, d["acme/api:v1"], d["acme/report:2.0"],
		short(t, repo, before, "apps/api/deployment.yaml"), short(t, repo, after, "apps/api/deployment.yaml"),
		short(t, repo, before, "apps/api/worker/cronjob.yaml"), short(t, repo, after, "apps/api/worker/cronjob.yaml"))
	if got := git(t, repo.bare, "diff", before, after); got != want {
		t.Errorf("git diff =\n%s\nwant\n%s", got, want)
	}
	repo.clean(t)
}

// An image the render already shows with the digest pin resolves for its
// name stays as it is, so the edit is sound. pin verifies its edit while
// the registry answers, with stand-in digests, and that image changes
// under a stand-in; the real edit must then be verified again, not
// refused.
func TestPinNextToTheSameImageAlreadyPinned(t *testing.T) {
	reg := newRegistry(t)
	d := pushShop(t, reg)
	r := reg.host
	files := shopTree(r)
	files["apps/same/kustomization.yaml"] = "resources:\n- pod.yaml\n"
	files["apps/same/pod.yaml"] = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: " + r + "/acme/api:v1}\n  - {name: b, image: '" + r + "/acme/api:v1@" + d["acme/api:v1"] + "'}\n"
	repo := newConfigRepo(t, files)
	before := repo.head(t)

	res := digestpin(t, repo.clone, pinEnv(t, reg), "pin", "--insecure-registry", "apps/same")
	after := repo.head(t)
	res.expect(t, 0, table(
		[4]string{r + "/acme/api:v1", "v1", d["acme/api:v1"], "apps/same/kustomization.yaml"},
	)+fmt.Sprintf("committed %s in apps/same on origin/main (on top of %s)\n", after, before), "resolved 1/1\n")
	if got, want := repo.show(t, "main", "apps/same/kustomization.yaml"), fmt.Sprintf("resources:\n- pod.yaml\nimages:\n- name: %s/acme/api\n  newTag: v1\n  digest: %s\n", r, d["acme/api:v1"]); got != want {
		t.Errorf("kustomization =\n%s\nwant\n%s", got, want)
	}
	repo.clean(t)
}

func TestPinRegistryFailingOnOneImage(t *testing.T) {
	reg := newRegistry(t)
	d := pushShop(t, reg)
	reg.fail = func(w http.ResponseWriter, req *http.Request) bool {
		if strings.Contains(req.URL.Path, "/acme/shop-migrate/") {
			http.Error(w, "boom", http.StatusInternalServerError)
			return true
		}
		return false
	}
	repo := newConfigRepo(t, shopTree(reg.host))
	start := repo.head(t)
	r := reg.host
	failure := fmt.Sprintf(`resolving %q: registry %q is unavailable (HTTP 500 Internal Server Error), gave up after 4 attempts: GET http://%s/v2/acme/shop-migrate/manifests/v3: unexpected status code 500 Internal Server Error: boom`, r+"/acme/shop-migrate:v3", r, r)

	res := digestpin(t, repo.clone, pinEnv(t, reg), "pin", "--insecure-registry", "apps/shop/prod", "apps/api")
	res.stderr = progress(t, res.stderr, 5)
	res.expect(t, 1, "", fmt.Sprintf("resolved 5/5\nnothing written: 1 of 5 images could not be pinned:\n  - apps/shop/prod: %s/acme/shop-migrate:v3: %s\n", r, failure))
	if repo.head(t) != start {
		t.Fatal("a commit was pushed although an image did not resolve")
	}
	repo.clean(t)

	res = digestpin(t, repo.clone, pinEnv(t, reg), "pin", "--insecure-registry", "--keep-going", "apps/shop/prod", "apps/api")
	after := repo.head(t)
	res.stderr = progress(t, res.stderr, 5)
	res.expect(t, 1, table(
		[4]string{r + "/acme/api:v1", "v1", d["acme/api:v1"], "apps/api/deployment.yaml"},
		[4]string{r + "/acme/api:v1", "v1", d["acme/api:v1"], "apps/api/worker/cronjob.yaml"},
		[4]string{r + "/acme/report:2.0", "2.0", d["acme/report:2.0"], "apps/api/worker/cronjob.yaml"},
		[4]string{r + "/acme/proxy", "latest", d["acme/proxy:latest"], "apps/shop/prod/kustomization.yaml"},
		[4]string{r + "/acme/shop-web:v1", "v1", d["acme/shop-web:v1"], "apps/shop/prod/kustomization.yaml"},
	)+fmt.Sprintf("committed %s in apps/shop/prod, apps/api on origin/main (on top of %s)\n", after, start),
		fmt.Sprintf("resolved 5/5\nnot pinned (--keep-going):\n  - apps/shop/prod: %s/acme/shop-migrate:v3: %s\n", r, failure))
	if after == start {
		t.Fatal("--keep-going pinned nothing")
	}
	if got := repo.show(t, "main", "apps/shop/prod/kustomization.yaml"); got != fmt.Sprintf("namePrefix: prod-\nresources:\n- ../base\nimages:\n- name: %[1]s/acme/proxy\n  newTag: latest\n  digest: %[2]s\n- name: %[1]s/acme/shop-web\n  newTag: v1\n  digest: %[3]s\n", r, d["acme/proxy:latest"], d["acme/shop-web:v1"]) {
		t.Errorf("prod kustomization =\n%s", got)
	}
	repo.clean(t)
}

// progress checks the "resolved k/total" lines that start stderr, which
// pin prints while it waits (retries take seconds), and drops all but the
// last, "resolved total/total".
func progress(t *testing.T, stderr string, total int) string {
	t.Helper()
	last := -1
	for {
		line, rest, _ := strings.Cut(stderr, "\n")
		var k, n int
		if _, err := fmt.Sscanf(line, "resolved %d/%d", &k, &n); err != nil || n != total || k <= last || k > total || line != fmt.Sprintf("resolved %d/%d", k, n) {
			break
		}
		if k == total {
			return stderr
		}
		last, stderr = k, rest
	}
	t.Errorf("stderr does not start with progress lines ending in resolved %d/%d:\n%s", total, total, stderr)
	return stderr
}

func TestPinRefusals(t *testing.T) {
	reg := newRegistry(t)
	d := pushShop(t, reg)
	r := reg.host
	files := shopTree(r)
	// One name with two tags in one render, and an images: entry that would
	// reach an image already pinned.
	files["apps/mixed/kustomization.yaml"] = "resources:\n- ../shop/base\n- extra.yaml\n"
	files["apps/mixed/extra.yaml"] = "apiVersion: v1\nkind: Pod\nmetadata: {name: extra}\nspec:\n  containers:\n  - {name: old, image: " + r + "/acme/shop-web:v0}\n"
	files["apps/reach/kustomization.yaml"] = "resources:\n- pod.yaml\n"
	files["apps/reach/pod.yaml"] = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: " + r + "/acme/api:v1}\n  - {name: b, image: '" + r + "/acme/api:v1@" + d["acme/shop-web:v1"] + "'}\n"
	files["apps/remote/kustomization.yaml"] = "resources:\n- https://example.com/app.yaml\n"
	repo := newConfigRepo(t, files)
	link := filepath.Join(t.TempDir(), "link")
	git(t, ".", "clone", "--quiet", repo.bare, link)
	if err := os.Symlink("shop/prod", filepath.Join(link, "apps/link")); err != nil {
		t.Fatal(err)
	}
	git(t, link, "add", "apps/link")
	git(t, link, "-c", "user.name=S", "-c", "user.email=s@example.com", "commit", "--quiet", "-m", "link")
	git(t, link, "push", "--quiet", "origin", "main")
	start := repo.head(t)
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"no path", nil, nil, 2, "pin needs at least one PATH: a kustomization directory, a manifest, or a directory of them, relative to the repository root\n"},
		{"outside", nil, []string{"../x"}, 2, "path \"../x\" must be relative to the repository root and inside it\n"},
		{"missing", nil, []string{"apps/nope"}, 2, "apps/nope is not a file or directory at " + start + "\n"},
		{"kustomization file", nil, []string{"apps/shop/prod/kustomization.yaml"}, 2, "apps/shop/prod/kustomization.yaml is a kustomization file; name its directory, apps/shop/prod\n"},
		{"nothing to pin", nil, []string{"apps/api/README.md"}, 0, ""},
		{"no manifests", nil, []string{"apps/link"}, 2, "apps/link is a symbolic link at " + start + "; pin edits files, so name what it points to\n"},
		{"concurrency", nil, []string{"--concurrency", "0", "apps/api"}, 2, "--concurrency 0: want at least 1\n"},
		{"bare semver", nil, []string{"--semver", "~1.4", "apps/api"}, 2, "--semver \"~1.4\": name the image's repository, as in --semver ghcr.io/acme/web='~1.4'\n"},
		{"bad policy", []string{"DIGESTPIN_ALLOWED_REGISTRIES=Bad Pattern"}, []string{"apps/api"}, 2, "configuration: "},
		{"registry not allowed", []string{"DIGESTPIN_ALLOWED_REGISTRIES=ghcr.io"}, []string{"apps/api/worker"}, 1, fmt.Sprintf(
			"nothing written: 2 of 2 images could not be pinned:\n  - apps/api/worker/cronjob.yaml: %[1]s/acme/api:v1: repository %[1]s/acme/api is not in the allowed registries; pin cannot change where an image comes from\n  - apps/api/worker/cronjob.yaml: %[1]s/acme/report:2.0: repository %[1]s/acme/report is not in the allowed registries; pin cannot change where an image comes from\n", r)},
		{"two tags", nil, []string{"apps/mixed"}, 1, fmt.Sprintf(
			"resolved 2/2\nnothing written: 2 of 4 images could not be pinned:\n  - apps/mixed: %[1]s/acme/shop-web:v0: apps/mixed renders %[1]s/acme/shop-web with tags v0, v1, and its one images: entry for the name cannot pin them all; pin them where the tags are set (name those kustomizations as paths), or pick the tag with a rule\n  - apps/mixed: %[1]s/acme/shop-web:v1: apps/mixed renders %[1]s/acme/shop-web with tags v0, v1, and its one images: entry for the name cannot pin them all; pin them where the tags are set (name those kustomizations as paths), or pick the tag with a rule\n", r)},
		{"reaches a pinned image", nil, []string{"apps/reach"}, 1, fmt.Sprintf(
			"resolved 1/1\nnothing written: after the edit, the paths would not render as intended:\n  - apps/reach: Pod p, container \"b\" would change from %[1]s/acme/api:v1@%[2]s to %[1]s/acme/api:v1@%[3]s, which pin must not touch; an images: entry added for another image reaches it, so pin that image where it is set\n", r, d["acme/shop-web:v1"], d["acme/api:v1"])},
		{"remote base", nil, []string{"apps/remote"}, 1, "nothing written: 1 image or path could not be pinned:\n  - apps/remote: rendering apps/remote: apps/remote/kustomization.yaml: resources entry \"https://example.com/app.yaml\" is remote; digestpin renders only what is in the repository, so vendor it into the repository: not allowed in digestpin\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := digestpin(t, repo.clone, append(pinEnv(t, reg), tt.env...), append([]string{"pin", "--insecure-registry"}, tt.args...)...)
			if res.code != tt.code || !strings.HasPrefix(res.stderr, tt.want) || (tt.code != 0 && res.stdout != "") {
				t.Errorf("exit %d, stdout %q, stderr\n%s\nwant exit %d and stderr starting\n%s", res.code, res.stdout, res.stderr, tt.code, tt.want)
			}
			if repo.head(t) != start {
				t.Fatal("the remote changed")
			}
		})
	}
	repo.clean(t)
}

func TestPinSemverRuleDryRunAndExpectHead(t *testing.T) {
	reg, digests := semverRegistry(t)
	proxy := reg.push(t, "acme/proxy", "1.0", "")
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)
	r := reg.host

	res := digestpin(t, repo.clone, pinEnv(t, reg), "pin", "--insecure-registry", "--dry-run", "--semver", r+"/acme/web=~1.4", "apps/web")
	web := digests["v1.4.10_build.5"]
	res.expect(t, 0, fmt.Sprintf("chose %[1]s/acme/web:v1.4.10_build.5 for ~1.4 from 1111 tags; passed over 1.4.10, v1.4.9, v1.4.2\n", r)+table(
		[4]string{r + "/acme/proxy:1.0", "1.0", proxy, "apps/web/kustomization.yaml"},
		[4]string{r + "/acme/web:v1", "v1.4.10_build.5", web, "apps/web/kustomization.yaml"},
	)+fmt.Sprintf(`--- a/apps/web/kustomization.yaml
+++ b/apps/web/kustomization.yaml
@@ -6,6 +6,8 @@
 images:
   # digestpin promote keeps comments
   - name: %[1]s/acme/web
-    newTag: v1   # set by hand once
+    newTag: v1.4.10_build.5   # set by hand once
+    digest: %[2]s
   - name: %[1]s/acme/proxy
     newTag: "1.0"
+    digest: %[3]s
commit message:
    Pin 2 images in apps/web

    %[1]s/acme/proxy:1.0 -> %[3]s
    %[1]s/acme/web:v1.4.10_build.5 -> %[2]s

    Digestpin-Image: %[1]s/acme/proxy:1.0@%[3]s
    Digestpin-Image: %[1]s/acme/web:v1.4.10_build.5@%[2]s
dry run: nothing committed (would build on %[4]s)
`, r, web, proxy, start), "resolved 2/2\n")
	if repo.head(t) != start {
		t.Fatal("--dry-run changed the remote")
	}

	moved := repo.commitElsewhere(t, "apps/web/README.md", "newer\n")
	res = digestpin(t, repo.clone, pinEnv(t, reg), "pin", "--insecure-registry", "--expect-head", start, "apps/web")
	res.expect(t, 3, "", fmt.Sprintf("superseded: branch main advanced from %s to %s; the newer commit's pipeline will pin its own image\n", start, moved))
	if repo.head(t) != moved {
		t.Error("the remote changed")
	}
	repo.clean(t)
}

// A directory is walked as check walks it: each kustomization directory
// below it is one target (nothing under it is read as a manifest), and
// other YAML files are manifests.
func TestPinWalksADirectory(t *testing.T) {
	reg := newRegistry(t)
	pushShop(t, reg)
	files := shopTree(reg.host)
	files["apps/shop/base/extra.yaml"] = "apiVersion: v1\nkind: Pod\nmetadata: {name: not-a-resource}\nspec:\n  containers:\n  - {name: x, image: " + reg.host + "/acme/nowhere:v1}\n"
	repo := newConfigRepo(t, files)
	res := digestpin(t, repo.clone, pinEnv(t, reg), "pin", "--insecure-registry", "--dry-run", "apps")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	var edited []string
	for _, line := range strings.Split(res.stdout, "\n") {
		if f, ok := strings.CutPrefix(line, "+++ b/"); ok {
			edited = append(edited, f)
		}
	}
	want := []string{"apps/api/deployment.yaml", "apps/api/worker/cronjob.yaml", "apps/shop/base/kustomization.yaml", "apps/shop/prod/kustomization.yaml", "apps/shop/staging/kustomization.yaml"}
	if strings.Join(edited, " ") != strings.Join(want, " ") {
		t.Errorf("edited %q, want %q", edited, want)
	}
	if res.stderr != "resolved 6/6\n" {
		t.Errorf("stderr = %q", res.stderr)
	}
}

// pin --output json prints one object a CI step can read: what was pinned
// in which file, and the commit that carries it.
func TestPinOutputJSON(t *testing.T) {
	reg := newRegistry(t)
	d := pushShop(t, reg)
	repo := newConfigRepo(t, shopTree(reg.host))
	before := repo.head(t)

	res := digestpin(t, repo.clone, pinEnv(t, reg), "pin", "--insecure-registry", "--output", "json", "apps/shop/prod")
	after := repo.head(t)
	if res.code != 0 || res.stderr != "resolved 3/3\n" {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
	const prod = "apps/shop/prod/kustomization.yaml"
	r := reg.host
	want := fmt.Sprintf(`{"pins":[`+
		`{"image":"%[1]s/acme/proxy","tag":"latest","digest":"%[2]s","file":"%[5]s"},`+
		`{"image":"%[1]s/acme/shop-migrate:v3","tag":"v3","digest":"%[3]s","file":"%[5]s"},`+
		`{"image":"%[1]s/acme/shop-web:v1","tag":"v1","digest":"%[4]s","file":"%[5]s"}],`+
		`"failures":[],"paths":["apps/shop/prod"],"remote":"origin","branch":"main","base":"%[6]s","commit":"%[7]s",`+
		`"commit_via":"git","pushed":true,"superseded":false,"already_pinned":false,"dry_run":false,"attempts":1,"pull_request":null}`+"\n",
		r, d["acme/proxy:latest"], d["acme/shop-migrate:v3"], d["acme/shop-web:v1"], prod, before, after)
	if res.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", res.stdout, want)
	}
	if after == before {
		t.Error("nothing was pushed")
	}
}
