package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/digestpin/digestpin/internal/githubtest"
)

// actionlintVersion is the actionlint `make test` installs and sets in
// $ACTIONLINT.
const actionlintVersion = "v1.7.12"

// action is the part of action.yml the tests read.
type action struct {
	Inputs map[string]struct {
		Default string `json:"default"`
	} `json:"inputs"`
	Outputs map[string]struct {
		Value string `json:"value"`
	} `json:"outputs"`
	Runs struct {
		Using string       `json:"using"`
		Steps []actionStep `json:"steps"`
	} `json:"runs"`
}

type actionStep struct {
	ID   string            `json:"id"`
	Uses string            `json:"uses"`
	Env  map[string]string `json:"env"`
	Run  string            `json:"run"`
}

func readAction(t *testing.T) (action, string) {
	t.Helper()
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	return a, string(data)
}

var inputRef = regexp.MustCompile(`\$\{\{\s*inputs\.([a-z0-9-]+)`)

func TestActionIsCompositePinnedAndConsistent(t *testing.T) {
	a, text := readAction(t)
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using = %q, want composite", a.Runs.Using)
	}
	pinned := regexp.MustCompile(`^[\w.-]+/[\w.-]+@[0-9a-f]{40}$`)
	for _, s := range a.Runs.Steps {
		if s.Uses != "" && !pinned.MatchString(s.Uses) {
			t.Errorf("step uses %q: third-party actions must be pinned by commit SHA", s.Uses)
		}
		if strings.Contains(s.Run, "${{") {
			t.Errorf("a run script pastes an expression into the shell (script injection); pass it through env:\n%s", s.Run)
		}
	}
	used := map[string]bool{}
	for _, m := range inputRef.FindAllStringSubmatch(text, -1) {
		used[m[1]] = true
		if _, ok := a.Inputs[m[1]]; !ok {
			t.Errorf("inputs.%s is used but not declared", m[1])
		}
	}
	for name := range a.Inputs {
		if !used[name] {
			t.Errorf("input %s is declared but never used", name)
		}
	}
}

// runAction runs the action's "run" step as the runner would: the step's
// env with the inputs substituted, $RUNNER_TEMP and $GITHUB_OUTPUT set.
// digestpin is a wrapper that records its arguments. It returns the step's
// result, its outputs and the arguments digestpin got.
func runAction(t *testing.T, dir, apiURL string, inputs map[string]string) (result, map[string]string, []string) {
	t.Helper()
	a, _ := readAction(t)
	i := slices.IndexFunc(a.Runs.Steps, func(s actionStep) bool { return s.ID == "run" })
	if i < 0 {
		t.Fatal("action.yml has no step with id run")
	}
	step := a.Runs.Steps[i]
	temp := t.TempDir()
	bin := filepath.Join(temp, "digestpin-action")
	os.MkdirAll(bin, 0o755)
	argv := filepath.Join(temp, "argv")
	wrapper := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %q\nexec %q \"$@\"\n", argv, binary)
	if err := os.WriteFile(filepath.Join(bin, "digestpin"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	output := filepath.Join(temp, "output")
	os.WriteFile(output, nil, 0o644)
	env := []string{"RUNNER_TEMP=" + temp, "GITHUB_OUTPUT=" + output}
	expr := regexp.MustCompile(`^\$\{\{\s*(.*?)\s*\}\}(.*)$`)
	for k, v := range step.Env {
		m := expr.FindStringSubmatch(v)
		if m == nil {
			t.Fatalf("env %s=%s is not an expression", k, v)
		}
		var val string
		switch e := m[1]; {
		case e == "runner.temp":
			val = temp
		case e == "inputs.github-api-url || github.api_url":
			val = inputs["github-api-url"]
			if val == "" {
				val = apiURL
			}
		case strings.HasPrefix(e, "inputs."):
			name := strings.TrimPrefix(e, "inputs.")
			in, ok := a.Inputs[name]
			if !ok {
				t.Fatalf("unknown input %s", name)
			}
			val = in.Default
			if given, ok := inputs[name]; ok {
				val = given
			}
		default:
			t.Fatalf("env %s: unexpected expression %q", k, e)
		}
		env = append(env, k+"="+val+m[2])
	}
	for name := range inputs {
		if _, ok := a.Inputs[name]; !ok {
			t.Fatalf("the test gives input %s, which action.yml does not declare", name)
		}
	}
	script := filepath.Join(temp, "step.sh")
	os.WriteFile(script, []byte(step.Run), 0o644)
	r := digestpinShell(t, dir, append(promoteEnv(t), env...), script)
	outputs := map[string]string{}
	data, _ := os.ReadFile(output)
	for line := range strings.Lines(string(data)) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		outputs[k] = v
	}
	args, _ := os.ReadFile(argv)
	return r, outputs, strings.Split(strings.TrimSuffix(string(args), "\n"), "\n")
}

// digestpinShell runs a bash script as the runner does (bash -e).
func digestpinShell(t *testing.T, dir string, env []string, script string) result {
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// outputPaths are the fields of the JSON record the action's outputs read.
var outputPath = regexp.MustCompile(`fromJSON\(steps\.run\.outputs\.result\)((?:\.[a-z_]+)+)`)

func TestActionPromotesThroughAPullRequestAsTheApp(t *testing.T) {
	reg := newRegistry(t)
	web := reg.push(t, "acme/web", "v2", "")
	h := newHubRepo(t, webApp(reg.host), allPerms)
	h.s.Protect(h.repo, "main", githubtest.Rule{})
	r, outputs, argv := runAction(t, h.clone, h.s.URL, map[string]string{
		"image":          reg.host + "/acme/web:v2\n",
		"path":           "apps/web",
		"pull-request":   "true",
		"commit-via":     "api",
		"pr-labels":      "digestpin\n  prod  \n",
		"github-app-id":  h.app.IDString(),
		"github-app-key": string(h.app.PEM),
		"args":           "--insecure-registry",
	})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantArgv := []string{"promote", "--image", reg.host + "/acme/web:v2", "--path", "apps/web", "--repo-dir", ".", "--remote", "origin",
		"--commit-via", "api", "--pull-request", "--pr-label", "digestpin", "--pr-label", "prod", "--output", "json", "--insecure-registry"}
	if !slices.Equal(argv, wantArgv) {
		t.Errorf("digestpin got\n%q\nwant\n%q", argv, wantArgv)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(outputs["result"]), &rec); err != nil {
		t.Fatalf("output result %q: %v", outputs["result"], err)
	}
	if r.stdout != outputs["result"]+"\n" {
		t.Errorf("the step printed %q, want the record", r.stdout)
	}
	pr := rec["pull_request"].(map[string]any)
	if pr["url"] != h.s.URL+"/acme/config/pull/1" || rec["commit"] != h.head(t, "digestpin/apps-web") || rec["images"].([]any)[0].(map[string]any)["digest"] != web {
		t.Errorf("record %v", rec)
	}
	// Every field an output reads is in the record.
	a, _ := readAction(t)
	for name, out := range a.Outputs {
		for _, m := range outputPath.FindAllStringSubmatch(out.Value, -1) {
			var v any = rec
			for _, field := range strings.Split(m[1][1:], ".") {
				obj, ok := v.(map[string]any)
				if !ok {
					t.Fatalf("output %s reads %s, which the record does not have", name, m[1])
				}
				if v, ok = obj[field]; !ok {
					t.Errorf("output %s reads %s, which the record does not have", name, m[1])
				}
			}
		}
	}
	for _, arg := range argv {
		if strings.Contains(arg, "PRIVATE KEY") {
			t.Error("the key is on digestpin's command line")
		}
	}
	h.noSecrets(t, r)
}

func TestActionSupersededCanStayGreen(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	built := repo.head(t)
	repo.commitElsewhere(t, "apps/web/README.md", "newer\n")
	inputs := map[string]string{"image": reg.host + "/acme/web:v2", "path": "apps/web", "expect-head": built, "insecure-registry": "true"}
	r, outputs, _ := runAction(t, repo.clone, "https://api.github.com", inputs)
	if r.code != 3 || !strings.Contains(outputs["result"], `"superseded":true`) {
		t.Errorf("exit %d, result %s\n%s", r.code, outputs["result"], r.stderr)
	}
	inputs["allow-superseded"] = "true"
	r, outputs, _ = runAction(t, repo.clone, "https://api.github.com", inputs)
	if r.code != 0 || !strings.Contains(outputs["result"], `"superseded":true`) || !strings.Contains(r.stdout, "::notice::digestpin: superseded") {
		t.Errorf("with allow-superseded: exit %d, result %s\n%s%s", r.code, outputs["result"], r.stdout, r.stderr)
	}
	inputs["dry-run"] = "maybe"
	r, _, _ = runAction(t, repo.clone, "https://api.github.com", inputs)
	if r.code != 2 || !strings.Contains(r.stdout, "::error::input for --dry-run must be true or false, not 'maybe'") {
		t.Errorf("bad boolean: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// readmeWorkflows returns the README's YAML examples as workflows: whole
// workflows as they are, lists of steps inside a job.
func readmeWorkflows(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, block := range regexp.MustCompile("(?s)```ya?ml\n(.*?)```").FindAllStringSubmatch(string(data), -1) {
		y := block[1]
		switch {
		case regexp.MustCompile(`(?m)^jobs:`).MatchString(y):
			out = append(out, y)
		case regexp.MustCompile(`^\s*- (uses|run|name):`).MatchString(y):
			var b strings.Builder
			b.WriteString("on: push\njobs:\n  example:\n    runs-on: ubuntu-latest\n    steps:\n")
			indent := len(y) - len(strings.TrimLeft(y, " "))
			for line := range strings.Lines(y) {
				if strings.TrimSpace(line) != "" {
					b.WriteString("      " + line[min(indent, len(line)-len(strings.TrimLeft(line, " "))):])
				} else {
					b.WriteString("\n")
				}
			}
			out = append(out, b.String())
		}
	}
	return out
}

func TestActionAndREADMEWorkflowsPassActionlint(t *testing.T) {
	actionlint := os.Getenv("ACTIONLINT")
	if actionlint == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("ACTIONLINT is not set; `make test` installs actionlint " + actionlintVersion + " and sets it")
		}
		t.Skip("ACTIONLINT is not set; `make test` installs actionlint " + actionlintVersion + " and sets it")
	}
	if v, err := exec.Command(actionlint, "-version").Output(); err != nil || strings.Fields(string(v))[0] != actionlintVersion {
		t.Fatalf("ACTIONLINT=%s: version %q, %v; want %s", actionlint, v, err, actionlintVersion)
	}
	workflows := readmeWorkflows(t)
	if len(workflows) < 3 {
		t.Fatalf("found %d workflow examples in the README", len(workflows))
	}
	lint := func(t *testing.T, files map[string]string) (string, error) {
		dir := t.TempDir()
		action, err := os.ReadFile("../../action.yml")
		if err != nil {
			t.Fatal(err)
		}
		files["action.yml"] = string(action)
		for name, content := range files {
			p := filepath.Join(dir, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		git(t, dir, "init", "--quiet") // actionlint finds the project by its repository
		cmd := exec.Command(actionlint, "-no-color", "-shellcheck=", "-pyflakes=")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// The action through a workflow that uses it, every input given, so
	// actionlint reads action.yml; and each README example.
	uses := "on: push\njobs:\n  pin:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n      - id: pin\n        uses: ./\n        with:\n"
	a, _ := readAction(t)
	for name := range a.Inputs {
		uses += fmt.Sprintf("          %s: x\n", name)
	}
	for name := range a.Outputs {
		uses += fmt.Sprintf("      - run: echo \"$OUT\"\n        env:\n          OUT: ${{ steps.pin.outputs.%s }}\n", name)
	}
	files := map[string]string{".github/workflows/uses-action.yaml": uses}
	for i, w := range workflows {
		files[fmt.Sprintf(".github/workflows/readme-%d.yaml", i)] = w
	}
	if out, err := lint(t, files); err != nil || out != "" {
		t.Errorf("actionlint: %v\n%s", err, out)
	}
	// actionlint does read the action: an input it does not declare fails.
	out, err := lint(t, map[string]string{".github/workflows/bad.yaml": strings.Replace(uses, "          path: x\n", "          pathh: x\n", 1)})
	if err == nil || !strings.Contains(out, `input "pathh" is not defined in action "digestpin"`) {
		t.Errorf("actionlint accepted an undeclared input: %v\n%s", err, out)
	}
}
