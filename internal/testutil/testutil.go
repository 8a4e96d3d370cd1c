// Package testutil holds what tests of several packages share: writing a
// tree of files, finding the kustomize CLI to compare with, and the shop
// fixture. It is imported by tests only.
package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// WriteFiles writes files (slash-separated path → content) under dir,
// creating directories as needed.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// WriteTree writes files under a new temporary directory and returns it.
func WriteTree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	WriteFiles(t, root, files)
	return root
}

// inCI reports whether the tests run in CI, where comparisons with the
// kustomize CLI must run rather than be skipped.
func inCI() bool {
	ci := os.Getenv("CI")
	return ci != "" && ci != "false" && ci != "0"
}

type lookup struct {
	path string
	err  error
}

var kustomizeLookups sync.Map // KUSTOMIZE value and version → func() lookup

// Kustomize returns the absolute path of the kustomize CLI named by the
// KUSTOMIZE environment variable (which `make test` sets), after checking
// that it is exactly the given version. Without KUSTOMIZE it skips the
// test, or fails it in CI. A relative KUSTOMIZE is taken relative to the
// test's package, or else to the module root, where make runs.
func Kustomize(t testing.TB, version string) string {
	t.Helper()
	env := os.Getenv("KUSTOMIZE")
	if env == "" {
		msg := "KUSTOMIZE is not set; this test compares with the kustomize " + version +
			" CLI. Install it with `GOBIN=$PWD/bin go install sigs.k8s.io/kustomize/kustomize/v5@" + version +
			"` and set KUSTOMIZE=$PWD/bin/kustomize (or run `make test`)"
		if inCI() {
			t.Fatal("in CI, KUSTOMIZE must name the kustomize CLI: " + msg)
		}
		t.Skip(msg)
	}
	find, _ := kustomizeLookups.LoadOrStore(env+"\x00"+version, sync.OnceValue(func() lookup {
		path, err := findKustomize(env, version)
		return lookup{path, err}
	}))
	l := find.(func() lookup)()
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.path
}

func findKustomize(env, version string) (string, error) {
	path := env
	if !filepath.IsAbs(path) && strings.ContainsRune(path, filepath.Separator) {
		if _, err := os.Stat(path); err != nil {
			// Tests run in their package's directory, two or three levels
			// below the module root.
			for _, up := range []string{"../..", "../../.."} {
				if _, err := os.Stat(filepath.Join(up, path)); err == nil {
					path = filepath.Join(up, path)
					break
				}
			}
		}
	}
	path, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("KUSTOMIZE=%s: %w", env, err)
	}
	if path, err = filepath.Abs(path); err != nil {
		return "", err
	}
	out, err := exec.Command(path, "version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s version: %v\n%s", path, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != version {
		return "", fmt.Errorf("KUSTOMIZE=%s is kustomize %q; the tests need exactly %s", env, got, version)
	}
	return path, nil
}
