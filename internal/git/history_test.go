package git

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// commitMsg commits files in work with message and returns the commit.
func commitMsg(t *testing.T, work, message string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitT(t, work, "add", "--all")
	gitT(t, work, "commit", "--quiet", "-m", message)
	return gitT(t, work, "rev-parse", "HEAD")
}

func TestTrailed(t *testing.T) {
	_, work := newRemote(t)
	a := commitMsg(t, work, "Pin web\n\nDigestpin-Image: ghcr.io/acme/web:v1@sha256:aa\nSource-Revision: 1111111111111111111111111111111111111111\n", map[string]string{"apps/web/kustomization.yaml": "a\n"})
	commitMsg(t, work, "Pin api elsewhere\n\nDigestpin-Image: ghcr.io/acme/api:v1@sha256:bb\n", map[string]string{"apps/api/x.yaml": "b\n"})
	commitMsg(t, work, "by hand, no trailers", map[string]string{"apps/web/kustomization.yaml": "c\n"})
	c := commitMsg(t, work, "Pin two\n\nbody\n\nDigestpin-Image: ghcr.io/acme/web:v2@sha256:cc\ndigestpin-image:   ghcr.io/acme/proxy:1@sha256:dd\n", map[string]string{"apps/web/kustomization.yaml": "d\n"})
	r := openT(t, work)

	got, err := r.Trailed(t.Context(), "HEAD", "apps/web/kustomization.yaml", "Digestpin-Image")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Commit != c || got[1].Commit != a {
		t.Fatalf("Trailed = %+v, want commits %s and %s", got, c, a)
	}
	if v := got[0].Values("Digestpin-Image"); !slices.Equal(v, []string{"ghcr.io/acme/web:v2@sha256:cc", "ghcr.io/acme/proxy:1@sha256:dd"}) {
		t.Errorf("newest Digestpin-Image values = %q", v)
	}
	if v := got[0].Values("Source-Revision"); v != nil {
		t.Errorf("newest Source-Revision = %q, want none", v)
	}
	if v := got[1].Values("source-revision"); !slices.Equal(v, []string{"1111111111111111111111111111111111111111"}) {
		t.Errorf("oldest Source-Revision = %q", v)
	}
	if got, err := r.Trailed(t.Context(), a, "apps/api/x.yaml", "Digestpin-Image"); err != nil || len(got) != 0 {
		t.Errorf("before the api commit: %+v, %v", got, err)
	}
	if _, err := r.Trailed(t.Context(), "HEAD", "../x", "Digestpin-Image"); err == nil {
		t.Error("a path outside the repository was accepted")
	}
}

func TestIsAncestor(t *testing.T) {
	_, work := newRemote(t)
	base := gitT(t, work, "rev-parse", "HEAD")
	next := commitMsg(t, work, "next", map[string]string{"a": "1\n"})
	gitT(t, work, "checkout", "--quiet", "-b", "side", base)
	side := commitMsg(t, work, "side", map[string]string{"b": "1\n"})
	r := openT(t, work)
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{base, next, true}, {next, base, false}, {next, next, true}, {side, next, false}, {base, side, true}, {next[:10], next, true},
	} {
		got, err := r.IsAncestor(t.Context(), tt.a, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("IsAncestor(%.7s, %.7s) = %t, %v; want %t", tt.a, tt.b, got, err, tt.want)
		}
	}
	_, err := r.IsAncestor(t.Context(), strings.Repeat("1", 40), next)
	if !errors.Is(err, ErrUnknownCommit) || !strings.Contains(err.Error(), strings.Repeat("1", 40)) {
		t.Errorf("unknown commit: %v", err)
	}
	if shallow, err := r.IsShallow(t.Context()); err != nil || shallow {
		t.Errorf("IsShallow = %t, %v", shallow, err)
	}
	if shallow, err := openT(t, cloneT(t, "file://"+work, "--depth=1")).IsShallow(t.Context()); err != nil || !shallow {
		t.Errorf("IsShallow of a --depth=1 clone = %t, %v", shallow, err)
	}
}
