package git

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/digestpin/digestpin/internal/testutil"
)

// TestMain isolates git from the developer's configuration: no global or
// system config, so the default identity path is what runs unless a test
// configures one in the clone.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "digestpin-git-test-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	global := filepath.Join(home, ".gitconfig")
	if err := os.WriteFile(global, nil, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, k := range []string{
		"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS",
		"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
		"GIT_SSH", "GIT_SSH_COMMAND", "GIT_TRACE", "GIT_TRACE_CURL", "GIT_ASKPASS",
	} {
		os.Unsetenv(k)
	}
	os.Setenv("HOME", home)
	os.Setenv("XDG_CONFIG_HOME", home)
	os.Setenv("GIT_CONFIG_GLOBAL", global)
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	code := m.Run()
	os.RemoveAll(home)
	if tmpl.dir != "" {
		os.RemoveAll(tmpl.dir)
	}
	os.Exit(code)
}

// fixtureEnv is the environment of the git commands tests run themselves;
// they need an identity, but the package under test must not see it.
func fixtureEnv() []string {
	return append(os.Environ(),
		"GIT_AUTHOR_NAME=Fixture", "GIT_AUTHOR_EMAIL=fixture@example.com",
		"GIT_COMMITTER_NAME=Fixture", "GIT_COMMITTER_EMAIL=fixture@example.com",
		"LC_ALL=C", "GIT_TERMINAL_PROMPT=0")
}

func gitOut(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = fixtureEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSuffix(stdout.String(), "\n"), nil
}

// gitT runs a fixture git command and returns its output without the final
// newline.
func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitOut(dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// seed is the content of the remote's main branch after newRemote.
var seed = map[string]string{
	"README.md":                      "config repository\n",
	"apps/web/kustomization.yaml":    "resources:\n- deployment.yaml\n",
	"apps/web/deployment.yaml":       "image: web@sha256:1111\n",
	"apps/web/hooks/run.sh":          "#!/bin/sh\necho run\n",
	"apps/webapp/kustomization.yaml": "resources: []\n",
}

// newRemote returns a bare repository whose main branch holds seed (plus
// the symbolic link apps/web/current -> deployment.yaml, and run.sh
// executable), and a clone of it on main to push from. Both are copies of a
// template built once, because creating them with git takes most of a
// test's time.
func newRemote(t *testing.T) (bare, work string) {
	t.Helper()
	tmpl.once.Do(buildTemplate)
	if tmpl.err != nil {
		t.Fatal(tmpl.err)
	}
	root := t.TempDir()
	bare = filepath.Join(root, "remote.git")
	work = filepath.Join(root, "seed")
	if err := os.CopyFS(bare, os.DirFS(filepath.Join(tmpl.dir, "remote.git"))); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(work, os.DirFS(filepath.Join(tmpl.dir, "seed"))); err != nil {
		t.Fatal(err)
	}
	gitT(t, work, "remote", "set-url", "origin", bare)
	return bare, work
}

var tmpl struct {
	once sync.Once
	dir  string
	err  error
}

func buildTemplate() {
	tmpl.dir, tmpl.err = os.MkdirTemp("", "digestpin-git-test-template-")
	if tmpl.err != nil {
		return
	}
	bare := filepath.Join(tmpl.dir, "remote.git")
	work := filepath.Join(tmpl.dir, "seed")
	steps := [][]string{
		{tmpl.dir, "init", "--quiet", "--bare", "--initial-branch=main", bare},
		{tmpl.dir, "init", "--quiet", "--initial-branch=main", work},
	}
	for _, s := range steps {
		if _, tmpl.err = gitOut(s[0], s[1:]...); tmpl.err != nil {
			return
		}
	}
	for name, content := range seed {
		p := filepath.Join(work, filepath.FromSlash(name))
		if tmpl.err = os.MkdirAll(filepath.Dir(p), 0o755); tmpl.err != nil {
			return
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if tmpl.err = os.WriteFile(p, []byte(content), mode); tmpl.err != nil {
			return
		}
	}
	if tmpl.err = os.Symlink("deployment.yaml", filepath.Join(work, "apps/web/current")); tmpl.err != nil {
		return
	}
	for _, args := range [][]string{
		{"remote", "add", "origin", bare},
		{"add", "--all"},
		{"commit", "--quiet", "-m", "seed"},
		{"push", "--quiet", "--set-upstream", "origin", "main"},
	} {
		if _, tmpl.err = gitOut(work, args...); tmpl.err != nil {
			return
		}
	}
}

// advance commits files in work on top of its current branch, pushes it to
// origin and returns the new commit.
func advance(t *testing.T, work string, files map[string]string) string {
	t.Helper()
	testutil.WriteFiles(t, work, files)
	gitT(t, work, "add", "--all")
	gitT(t, work, "commit", "--quiet", "-m", "advance")
	gitT(t, work, "push", "--quiet", "origin", "HEAD")
	return gitT(t, work, "rev-parse", "HEAD")
}

// cloneT clones bare into a new directory with extra clone arguments.
func cloneT(t *testing.T, src string, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	gitT(t, ".", append(append([]string{"clone", "--quiet"}, args...), src, dir)...)
	return dir
}

func openT(t *testing.T, dir string, opts ...Option) *Repo {
	t.Helper()
	r, err := Open(t.Context(), dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error")
	}
	msg := err.Error()
	for e := error(err); e != nil; e = unwrapOne(e) {
		msg += "\n" + e.Error()
	}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("error leaks %q: %s", s, msg)
		}
	}
}

// unwrapOne follows the first wrapped error, so that the messages of all
// errors in a chain can be checked, as a caller printing any of them would.
func unwrapOne(err error) error {
	switch e := err.(type) {
	case interface{ Unwrap() error }:
		return e.Unwrap()
	case interface{ Unwrap() []error }:
		if errs := e.Unwrap(); len(errs) > 0 {
			return errs[len(errs)-1]
		}
	}
	return nil
}
