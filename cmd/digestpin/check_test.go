package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/testutil"
)

// checkRepo has a pinned and an unpinned kustomization and two plain
// manifests, one of them with an unpinned init container.
func checkRepo(t *testing.T) string {
	files := map[string]string{
		"plain/rollout.yaml": `# Argo Rollouts object
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: api
  namespace: shop
spec:
  template:
    spec:
      initContainers:
      - name: wait
        image: busybox:1.36
      containers:
      - name: api
        image: ghcr.io/acme/api@` + digest + `
`,
		"plain/ok.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers: [{name: c, image: \"ghcr.io/acme/ok@" + digest + "\"}]\n",
		"README.md":     "not yaml\n",
	}
	for name, content := range testutil.Shop {
		files[name] = content
	}
	root := testutil.WriteTree(t, files)
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestCheckText(t *testing.T) {
	root := checkRepo(t)
	r := digestpin(t, filepath.Join(root, "apps"), nil, "check", "shop/prod", "../plain")
	r.expect(t, 1, `ok    apps/shop/prod
ok    plain/ok.yaml
FAIL  plain/rollout.yaml: refusing to render: 1 image is not pinned by a sha256 digest.
  - Rollout shop/api, init container "wait": image "busybox:1.36": no digest (tag "1.36" can be moved in the registry) (from plain/rollout.yaml)
fix: pin each image by digest in Git, for example with `+"`digestpin promote --image busybox:1.36 --path plain/rollout.yaml`"+` in CI, or an images: entry with a digest in the kustomization.
`, "")

	r = digestpin(t, root, nil, "check", "apps/shop/prod", "plain/ok.yaml")
	r.expect(t, 0, "ok    apps/shop/prod\nok    plain/ok.yaml\n", "")
}

func TestCheckGitHubAnnotations(t *testing.T) {
	root := checkRepo(t)
	r := digestpin(t, root, nil, "check", "--format", "github", "apps/shop/staging", "plain/rollout.yaml")
	r.expect(t, 1, `::error file=apps/shop/base/deployment.yaml,title=digestpin::Deployment shop-staging/web, init container "migrate": image "ghcr.io/acme/migrate:v7": no digest (tag "v7" can be moved in the registry) (from apps/shop/base/deployment.yaml)
::error file=apps/shop/base/deployment.yaml,title=digestpin::Deployment shop-staging/web, container "app": image "ghcr.io/acme/web:v1.2": no digest (tag "v1.2" can be moved in the registry) (from apps/shop/base/deployment.yaml)
::error file=apps/shop/base/cronjob.yaml,title=digestpin::CronJob shop-staging/report, container "report": image "ghcr.io/acme/report": no digest and no tag (pulls whatever :latest points to) (from apps/shop/base/cronjob.yaml)
::error file=plain/rollout.yaml,line=12,title=digestpin::Rollout shop/api, init container "wait": image "busybox:1.36": no digest (tag "1.36" can be moved in the registry) (from plain/rollout.yaml)
`, "")
}

func TestCheckJSON(t *testing.T) {
	root := checkRepo(t)
	r := digestpin(t, root, nil, "check", "--format", "json")
	if r.code != 1 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var report struct {
		Violations []map[string]any `json:"violations"`
		Errors     []map[string]any `json:"errors"`
		Checked    []string         `json:"checked"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	wantChecked := []string{"apps/shop/base", "apps/shop/prod", "apps/shop/staging", "plain/ok.yaml", "plain/rollout.yaml"}
	if len(report.Checked) != len(wantChecked) {
		t.Fatalf("checked %v, want %v", report.Checked, wantChecked)
	}
	for i := range wantChecked {
		if report.Checked[i] != wantChecked[i] {
			t.Errorf("checked %v, want %v", report.Checked, wantChecked)
		}
	}
	if len(report.Violations) != 7 || len(report.Errors) != 0 {
		t.Fatalf("%d violations, %d errors; want 7 and 0:\n%s", len(report.Violations), len(report.Errors), r.stdout)
	}
	last, _ := json.Marshal(report.Violations[6])
	want := `{"container":"wait","field":"spec.template.spec.initContainers[0].image","file":"plain/rollout.yaml","image":"busybox:1.36","kind":"Rollout","line":12,"name":"api","namespace":"shop","reason":"no digest (tag \"1.36\" can be moved in the registry)","slot":"init container","target":"plain/rollout.yaml"}`
	if string(last) != want {
		t.Errorf("last violation =\n%s\nwant\n%s", last, want)
	}
}

func TestCheckUsageAndErrors(t *testing.T) {
	root := checkRepo(t)
	r := digestpin(t, root, nil, "check", "--format", "xml")
	r.expect(t, 2, "", `unknown --format "xml"; use text, json or github`+"\n")

	r = digestpin(t, root, nil, "check", "missing")
	r.expect(t, 2, "", `checking "missing": no such file or directory`+"\n")

	if err := os.WriteFile(filepath.Join(root, "apps/shop/prod/kustomization.yaml"), []byte("resources: [gone.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = digestpin(t, root, nil, "check", "apps/shop/prod")
	if r.code != 2 || r.stdout[:len("error apps/shop/prod: ")] != "error apps/shop/prod: " {
		t.Errorf("exit %d, stdout %q", r.code, r.stdout)
	}

	// A relative --root, and a plain manifest that is an alias bomb.
	var bomb strings.Builder
	bomb.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for c := 'b'; c <= 'i'; c++ {
		p := "*" + string(c-1)
		bomb.WriteString("  " + string(c) + ": &" + string(c) + " [" + strings.Repeat(p+",", 8) + p + "]\n")
	}
	if err := os.WriteFile(filepath.Join(root, "plain/bomb.yaml"), []byte(bomb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r = digestpin(t, filepath.Join(root, "plain"), nil, "check", "--root", "..", "bomb.yaml")
	r.expect(t, 2, "error plain/bomb.yaml: \"plain/bomb.yaml\": YAML aliases expand to more than 100000 nodes: input exceeds the render limits\n", "")
	if r.maxRSS > 256<<20 {
		t.Errorf("peak memory %d MiB, want at most 256 MiB", r.maxRSS>>20)
	}
}
