package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/testutil"
)

// hostileName holds what a CI log or a terminal would obey: a line break
// followed by a GitHub workflow command, a carriage return, an escape
// sequence and a bidirectional override.
const hostileName = "web\n::add-mask::x\r::warning::forged\x1b[2J\u202e"

// hostileShown is hostileName as digestpin prints it.
const hostileShown = `web\n::add-mask::x\r::warning::forged\x1b[2J\u202e`

// noControl fails when out holds a control or format character other than
// the line feeds that end digestpin's own lines.
func noControl(t *testing.T, what, out string) {
	t.Helper()
	for _, c := range []string{"\r", "\x1b", "\u202e", "\x00", "\t"} {
		if strings.Contains(out, c) {
			t.Errorf("%s holds %q:\n%s", what, c, out)
		}
	}
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "::add-mask") || strings.HasPrefix(line, "::warning") {
			t.Errorf("%s has a forged line: %q", what, line)
		}
	}
}

// Names from the repository cannot forge lines of the refusal Argo CD
// shows: one line per offender, control characters escaped.
func TestGenerateRefusalEscapesRepositoryText(t *testing.T) {
	root := testutil.WriteTree(t, map[string]string{
		"app/kustomization.yaml": "resources: [pod.yaml]\n",
		"app/pod.yaml": `apiVersion: v1
kind: "Pod\u001b]8;;http://x\u0007"
metadata:
  name: ` + strconv.Quote(hostileName) + `
  namespace: "ns\n  - Deployment ok/fine, container \"c\": image \"x\": all good"
spec:
  containers:
  - name: "c\nfix: nothing to see"
    image: "ghcr.io/acme/web:v1"
`,
	})
	r := digestpin(t, filepath.Join(root, "app"), argoEnv("app"), "generate")
	r.expect(t, 1, "", `refusing to render: 1 image is not pinned by a sha256 digest.
  - Pod\x1b]8;;http://x\a ns\n  - Deployment ok/fine, container "c": image "x": all good/`+hostileShown+`, container "c\nfix: nothing to see": image "ghcr.io/acme/web:v1": no digest (tag "v1" can be moved in the registry) (from app/pod.yaml)
fix: pin each image by digest in Git, for example with `+"`digestpin promote --image ghcr.io/acme/web:v1 --path app`"+` in CI, or an images: entry with a digest in the kustomization.
`)
	noControl(t, "stderr", r.stderr)
}

// A render error that quotes the repository (kustomize's own message,
// naming a duplicated object) is one escaped line.
func TestGenerateRenderErrorIsOneLine(t *testing.T) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"p\\n::error::forged\\r\\u001b[8m\"\nspec: {containers: [{name: c, image: \"ghcr.io/a/b@" + digest + "\"}]}\n"
	root := testutil.WriteTree(t, map[string]string{
		"app/kustomization.yaml": "resources: [a.yaml, b.yaml]\n",
		"app/a.yaml":             pod,
		"app/b.yaml":             pod,
	})
	r := digestpin(t, filepath.Join(root, "app"), argoEnv("app"), "generate")
	if r.code != 2 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "digestpin: rendering app: ") ||
		!strings.Contains(r.stderr, `p\n::error::forged\r\x1b[8m`) {
		t.Errorf("exit %d, stdout %q, stderr %q: want exit 2 and one escaped line", r.code, r.stdout, r.stderr)
	}
	noControl(t, "stderr", r.stderr)
}

// File names and object names cannot forge lines of check's output in any
// format; json keeps the exact text.
func TestCheckEscapesRepositoryText(t *testing.T) {
	file := "plain/" + hostileName + ".yaml"
	root := testutil.WriteTree(t, map[string]string{
		file:                                 "apiVersion: v1\nkind: Pod\nmetadata: {name: \"p\\r::add-mask::secret\"}\nspec:\n  containers:\n  - {name: c, image: \"nginx:1\"}\n",
		"plain/broken\n::error::forged.yaml": "a: [\n",
	})
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	shown := "plain/" + hostileShown + ".yaml"

	r := digestpin(t, root, nil, "check", "plain")
	wantFail := `FAIL  ` + shown + `: refusing to render: 1 image is not pinned by a sha256 digest.
  - Pod p\r::add-mask::secret, container "c": image "nginx:1": no digest (tag "1" can be moved in the registry) (from ` + shown + `)
fix: pin each image by digest in Git, for example with ` + "`digestpin promote --image nginx:1 --path " + shown + "`" + ` in CI, or an images: entry with a digest in the kustomization.
`
	if r.code != 2 || r.stderr != "" || !strings.HasPrefix(r.stdout, `error plain/broken\n::error::forged.yaml: `) || !strings.HasSuffix(r.stdout, wantFail) || strings.Count(r.stdout, "\n") != 4 {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant an error line, then\n%s", r.code, r.stderr, r.stdout, wantFail)
	}
	noControl(t, "check text", r.stdout)

	r = digestpin(t, root, nil, "check", "--format", "github", "plain")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 2 || len(lines) != 2 || !strings.HasPrefix(lines[0], `::error file=plain/broken%0A%3A%3Aerror%3A%3Aforged.yaml,title=digestpin::`) {
		t.Errorf("exit %d, stdout:\n%s", r.code, r.stdout)
	}
	wantAnnotation := `::error file=plain/web%0A%3A%3Aadd-mask%3A%3Ax%0D%3A%3Awarning%3A%3Aforged\x1b[2J\u202e.yaml,line=6,title=digestpin::` +
		`Pod p\r::add-mask::secret, container "c": image "nginx:1": no digest (tag "1" can be moved in the registry) (from ` + shown + `)`
	if len(lines) == 2 && lines[1] != wantAnnotation {
		t.Errorf("annotation =\n%s\nwant\n%s", lines[1], wantAnnotation)
	}
	noControl(t, "check github", r.stdout)

	r = digestpin(t, root, nil, "check", "--format", "json", "plain")
	var report struct {
		Violations []map[string]any `json:"violations"`
		Errors     []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	if len(report.Violations) != 1 || report.Violations[0]["file"] != file || report.Violations[0]["name"] != "p\r::add-mask::secret" {
		t.Errorf("json does not keep the exact text: %v", report.Violations)
	}
	if len(report.Errors) != 1 || report.Errors[0]["target"] != "plain/broken\n::error::forged.yaml" {
		t.Errorf("json errors: %v", report.Errors)
	}
	noControl(t, "check json", r.stdout)
}

// promote's dry-run diff shows the repository's lines escaped (YAML allows
// no control characters, but format characters such as a bidirectional
// override), and what a git server says when it refuses a push is one
// escaped line.
func TestPromoteEscapesRepositoryAndServerText(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	files := webApp(reg.host)
	files["apps/web/kustomization.yaml"] = strings.Replace(files["apps/web/kustomization.yaml"], "# digestpin promote keeps comments", "# ok \u202ereversed\u2066", 1)
	repo := newConfigRepo(t, files)
	start := repo.head(t)
	args := promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web")

	r := digestpin(t, repo.clone, promoteEnv(t), append(args, "--dry-run")...)
	if r.code != 0 || !strings.Contains(r.stdout, "\n   # ok \\u202ereversed\\u2066\n   - name: "+reg.host+"/acme/web\n") {
		t.Errorf("exit %d, stdout:\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	noControl(t, "dry-run stdout", r.stdout)

	hook := "#!/bin/sh\nprintf 'denied\\n::warning::forged\\r\\033[2J\\342\\200\\256\\n' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(repo.bare, "hooks/pre-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	r = digestpin(t, repo.clone, promoteEnv(t), args...)
	if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, `\nremote: ::warning::forged`) || !strings.Contains(r.stderr, `\x1b[2J\u202e`) {
		t.Errorf("exit %d, stdout %q, stderr %q: want exit 1 and one escaped line", r.code, r.stdout, r.stderr)
	}
	noControl(t, "stderr", r.stderr)
	if repo.head(t) != start {
		t.Error("the remote changed")
	}
}
