package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sha = "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"

type result struct {
	code           int
	stdout, stderr string
}

func verifyCmd(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	t.Setenv("ARGOCD_SERVER", "")
	t.Setenv("ARGOCD_AUTH_TOKEN", "")
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errOut strings.Builder
	code := run(context.Background(), append([]string{"digestpin-verify"}, args...), strings.NewReader(stdin), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{"ARGOCD_SERVER": closedPort(t), "ARGOCD_AUTH_TOKEN": "secret-token-value"}
	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		stderr string
	}{
		{"no app", []string{"--revision", sha}, env, "--app is required: the name of the Argo CD Application to verify\n"},
		{"bad app", []string{"--app", "a/b/c", "--revision", sha}, env, "--app \"a/b/c\": want NAME or NAMESPACE/NAME\n"},
		{"no revision", []string{"--app", "shop"}, env, "--revision is required, or --promote-result with the output of `digestpin promote --output json`\n"},
		{"both", []string{"--app", "shop", "--revision", sha, "--promote-result", "-"}, env, "give --revision or --promote-result, not both\n"},
		{"argument", []string{"--app", "shop", "--revision", sha, "extra"}, env, "verify takes no arguments (got extra); use --app and --revision\n"},
		{"output", []string{"--app", "shop", "--revision", sha, "--output", "yaml"}, env, "--output yaml: want text or json\n"},
		{"unknown flag", []string{"--app", "shop", "--token", "x"}, env, "flag provided but not defined: -token\n"},
		{"no server", []string{"--app", "shop", "--revision", sha}, nil, "no Argo CD server: set ARGOCD_SERVER to its API address (host:port), as for the argocd CLI\n"},
		{"no token", []string{"--app", "shop", "--revision", sha}, map[string]string{"ARGOCD_SERVER": "argocd.example.com:443"},
			"no Argo CD token: set ARGOCD_AUTH_TOKEN, for example to a token from `argocd account generate-token --account ci`\n"},
		{"promote dry run", []string{"--app", "shop", "--promote-result", write("dry.json", `{"commit":"","dry_run":true}`)}, env,
			"--promote-result " + dir + "/dry.json: promote ran with --dry-run and committed nothing\n"},
		{"promote pull request", []string{"--app", "shop", "--promote-result", write("pr.json", `{"commit":"`+sha+`","pull_request":{"number":7,"url":"https://github.com/acme/config/pull/7","merged":false}}`)}, env,
			"--promote-result " + dir + "/pr.json: promote opened pull request #7 (https://github.com/acme/config/pull/7), which is not merged: nothing is deployed yet\n"},
		{"promote no push", []string{"--app", "shop", "--promote-result", write("nopush.json", `{"commit":"`+sha+`","pushed":false}`)}, env,
			"--promote-result " + dir + "/nopush.json: promote did not push its commit, so Argo CD cannot see it\n"},
		{"not promote", []string{"--app", "shop", "--promote-result", write("junk.json", "pinned x\n")}, env,
			"--promote-result " + dir + "/junk.json: not the output of `digestpin promote --output json`: invalid character 'p' looking for beginning of value\n"},
		{"missing file", []string{"--app", "shop", "--promote-result", dir + "/none.json"}, env,
			"--promote-result: open " + dir + "/none.json: no such file or directory\n"},
		{"bad revision", []string{"--app", "shop", "--revision", "main"}, env, "revision \"main\" is not a commit SHA (7 to 64 lowercase hex digits)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := verifyCmd(t, "", tc.env, tc.args...)
			if r.code != 2 || r.stdout != "" || !strings.HasPrefix(r.stderr, tc.stderr) {
				t.Errorf("exit %d\nstdout %q\nstderr %q\nwant stderr %q", r.code, r.stdout, r.stderr, tc.stderr)
			}
			if strings.Contains(r.stderr, "secret-token-value") {
				t.Errorf("the token leaked: %s", r.stderr)
			}
		})
	}
}

func TestPromoteSupersededIsSuperseded(t *testing.T) {
	r := verifyCmd(t, `{"commit":"","branch":"main","superseded":true}`, map[string]string{"ARGOCD_SERVER": closedPort(t), "ARGOCD_AUTH_TOKEN": "t"},
		"--app", "shop", "--promote-result", "-")
	if r.code != 3 || r.stderr != "superseded: promote reported that branch main moved on; the newer commit's pipeline verifies its own deploy\n" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUnreachableServerIsNamed(t *testing.T) {
	addr := closedPort(t)
	r := verifyCmd(t, `{"commit":"`+sha+`","pushed":true}`, map[string]string{"ARGOCD_SERVER": addr, "ARGOCD_AUTH_TOKEN": "secret-token-value"},
		"--app", "shop", "--promote-result", "-", "--plaintext")
	want := "cannot reach Argo CD at " + addr + ": "
	if r.code != 2 || !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, "connection refused") || strings.Contains(r.stderr, "secret-token-value") {
		t.Errorf("exit %d, stderr %q, want it to start %q", r.code, r.stderr, want)
	}
}
