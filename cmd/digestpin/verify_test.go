package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withVerify copies the built digestpin into a directory of its own and,
// when script is not "", puts an executable digestpin-verify fixture next
// to it.
func withVerify(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(dir, "digestpin")
	if err := os.WriteFile(self, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	if script != "" {
		if err := os.WriteFile(filepath.Join(dir, "digestpin-verify"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return self
}

// echoVerify stands in for digestpin-verify: it shows the arguments it got
// and exits with the status the first one names.
const echoVerify = "#!/bin/sh\nfor a in \"$@\"; do echo \"arg: $a\"; done\necho 'from verify' >&2\nexit \"$1\"\n"

func TestVerifyRunsDigestpinVerifyNextToItself(t *testing.T) {
	saved := binary
	defer func() { binary = saved }()
	binary = withVerify(t, echoVerify)
	for _, code := range []string{"0", "1", "3", "4"} {
		r := digestpin(t, t.TempDir(), []string{"PATH=/usr/bin:/bin"}, "verify", code, "--app", "shop", "--output", "json", "--help")
		want := "arg: " + code + "\narg: --app\narg: shop\narg: --output\narg: json\narg: --help\n"
		if r.code != int(code[0]-'0') || r.stdout != want || r.stderr != "from verify\n" {
			t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	}
}

func TestVerifyFindsDigestpinVerifyOnPath(t *testing.T) {
	path := t.TempDir()
	if err := os.WriteFile(filepath.Join(path, "digestpin-verify"), []byte(echoVerify), 0o755); err != nil {
		t.Fatal(err)
	}
	r := digestpin(t, t.TempDir(), []string{"PATH=" + path + ":/usr/bin:/bin"}, "verify", "4")
	if r.code != 4 || r.stdout != "arg: 4\n" {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestVerifySaysHowToInstallDigestpinVerify(t *testing.T) {
	saved := binary
	defer func() { binary = saved }()
	binary = withVerify(t, "")
	r := digestpin(t, t.TempDir(), []string{"PATH=/nonexistent"}, "verify", "--app", "shop")
	want := "digestpin verify needs the digestpin-verify binary, which is not next to digestpin (" + filepath.Dir(binary) + ") or on PATH.\n" +
		"It is built apart so that the plugin sidecar does not carry Argo CD's client. From a clone of digestpin:\n" +
		"    make bin/digestpin-verify             (or: cd cmd/digestpin-verify && go install .)\n" +
		"and put it next to digestpin or on PATH\n"
	r.expect(t, 2, "", want)
	if strings.Contains(r.stderr, "panic") {
		t.Error(r.stderr)
	}
}
