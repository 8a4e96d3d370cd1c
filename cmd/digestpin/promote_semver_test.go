package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// alias points more tags at the image repo:tag already holds.
func (reg *testRegistry) alias(t *testing.T, repo, tag string, more ...string) {
	t.Helper()
	ref, err := name.ParseReference(reg.host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	pusher, err := remote.NewPusher()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range more {
		if err := remote.Tag(ref.Context().Tag(m), desc, remote.Reuse(pusher)); err != nil {
			t.Fatal(err)
		}
	}
}

// semverRegistry holds acme/web with 1,100 tags that are not versions and
// the versions a real repository accumulates: with and without a leading
// v, pre-releases, build metadata (OCI tags write "+" as "_"). The
// registry lists 1,000 tags a page, and the v-prefixed versions sort after
// the first page.
func semverRegistry(t *testing.T) (*testRegistry, map[string]string) {
	reg := newRegistry(t)
	digests := map[string]string{}
	for _, tag := range strings.Fields("v1.3.9 v1.4.0 v1.4.2 1.4.10 v1.4.9 v1.4.11-rc.1 v1.4.10_build.5 v1.5.0 v2.0.0-rc.1 v2.0.0 latest") {
		digests[tag] = reg.push(t, "acme/web", tag, "")
	}
	var filler []string
	for i := range 1100 {
		filler = append(filler, fmt.Sprintf("sha-%04d", i))
	}
	reg.alias(t, "acme/web", "latest", filler...)
	return reg, digests
}

func TestPromoteSemverPicksTheHighestAdmittedTagAcrossPages(t *testing.T) {
	reg, digests := semverRegistry(t)
	var listed atomic.Int64
	reg.fail = func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			listed.Add(1)
		}
		return false
	}
	repo := newConfigRepo(t, webApp(reg.host))
	before := repo.head(t)
	web := reg.host + "/acme/web"

	r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", web, "--semver", "~1.4", "--path", "apps/web")...)
	after := repo.head(t)
	pinned := digests["v1.4.10_build.5"]
	r.expect(t, 0, fmt.Sprintf(`chose %[1]s:v1.4.10_build.5 for ~1.4 from 1111 tags; passed over 1.4.10, v1.4.9, v1.4.2
pinned %[1]s:v1.4.10_build.5@%[2]s
committed %[3]s in apps/web on origin/main (on top of %[4]s)
`, web, pinned, after, before), "")
	if n := listed.Load(); n != 2 {
		t.Errorf("listed %d pages of tags, want 2", n)
	}
	if got := git(t, repo.bare, "diff", "--unified=0", before, after); !strings.HasSuffix(got, fmt.Sprintf("@@ -9 +9,2 @@ images:\n-    newTag: v1   # set by hand once\n+    newTag: v1.4.10_build.5   # set by hand once\n+    digest: %s", pinned)) {
		t.Errorf("git diff =\n%s", got)
	}
	if got := git(t, repo.bare, "log", "-1", "--format=%B", "main"); !strings.HasPrefix(got, "Pin "+web+":v1.4.10_build.5 in apps/web\n") {
		t.Errorf("commit message =\n%s", got)
	}

	// A regular expression narrows the tags; a pre-release needs naming.
	r = digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", web, "--semver", web+"=~1.4", "--tag-regex", web+`=^v\d+\.\d+\.\d+$`, "--path", "apps/web", "--dry-run")...)
	if want := fmt.Sprintf("chose %s:v1.4.9 for ~1.4 among tags matching ^v\\d+\\.\\d+\\.\\d+$ from 1111 tags; passed over v1.4.2, v1.4.0\n--- a/apps/web/kustomization.yaml\n", web); r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("exit %d, stdout\n%s\nwant it to start with\n%s", r.code, r.stdout, want)
	}
	r = digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", web, "--semver", ">=1.4.11-rc.1 <1.5", "--path", "apps/web", "--dry-run")...)
	if want := fmt.Sprintf("chose %s:v1.4.11-rc.1 for >=1.4.11-rc.1 <1.5 from 1111 tags; no other tag satisfies it\n", web); r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("exit %d, stdout\n%s\nwant it to start with\n%s", r.code, r.stdout, want)
	}
	if repo.head(t) != after {
		t.Error("a dry run changed the remote")
	}
	repo.clean(t)
}

func TestPromoteSemverWithoutAMatch(t *testing.T) {
	reg, _ := semverRegistry(t)
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)
	web := reg.host + "/acme/web"

	r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", web, "--semver", "^3", "--path", "apps/web")...)
	r.expect(t, 1, "", fmt.Sprintf("no tag of %s satisfies ^3; the newest versions it has are v2.0.0, v2.0.0-rc.1, v1.5.0, v1.4.11-rc.1, v1.4.10_build.5\n", web))
	r = digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", web, "--semver", "*", "--tag-regex", "^release-", "--path", "apps/web")...)
	r.expect(t, 1, "", fmt.Sprintf("no tag of %s satisfies * among tags matching ^release-: none of its 1111 tags is a semantic version matching ^release- (it has 1.4.10, latest, sha-0000, sha-0001, sha-0002)\n", web))
	if repo.head(t) != start {
		t.Error("the remote changed")
	}
	repo.clean(t)
}

func TestPromoteSemverUsageErrors(t *testing.T) {
	reg, _ := semverRegistry(t)
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)
	web := reg.host + "/acme/web"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad constraint", []string{"--image", web, "--semver", "~>>1"}, `--semver: version constraint "~>>1": "~>>1": unknown operator; use =, !=, <, <=, >, >=, ~ or ^`},
		{"tagged image", []string{"--image", web + ":v1", "--semver", web + "=~1.4"}, "--image " + web + ":v1 names a tag or digest, but --semver picks its tag by version (~1.4); give the repository alone"},
		{"rule for no image", []string{"--image", web, "--semver", reg.host + "/acme/api=~1.4"}, "--semver: the rule for " + reg.host + "/acme/api matches no --image"},
		{"two bare rules", []string{"--image", web, "--semver", "~1.4", "--semver", "^2"}, "--semver is given twice without a repository (~1.4 and ^2); name each image's repository"},
		{"regex without rule", []string{"--image", web, "--tag-regex", "^v"}, `--tag-regex "^v" narrows a --semver rule, and no --semver without a repository is given`},
		{"bad regex", []string{"--image", web, "--semver", "*", "--tag-regex", "(v"}, "--tag-regex \"(v\": error parsing regexp: missing closing ): `(v`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, append(tt.args, "--path", "apps/web")...)...)
			r.expect(t, 2, "", tt.want+"\n")
		})
	}
	if repo.head(t) != start {
		t.Error("the remote changed")
	}
}
