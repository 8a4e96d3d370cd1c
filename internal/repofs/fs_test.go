package repofs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReadsStayInsideTheRoot(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	fsys, err := New(root, "", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		filepath.Join(root, "link", "secret"): `"link/secret" is a symlink to a place outside the repository`,
		filepath.Join(root, "..", "secret"):   `"../secret" is outside the repository`,
	} {
		_, err := fsys.ReadFile(path)
		var outsideErr *OutsideError
		if !errors.As(err, &outsideErr) || !errors.Is(err, ErrOutsideRoot) || err.Error() != want {
			t.Errorf("ReadFile(%q) error = %v, want %s", path, err, want)
		}
		if fsys.Refusal() == nil {
			t.Errorf("ReadFile(%q): Refusal() = nil after a refused read", path)
		}
	}
	if err := fsys.WriteFile(filepath.Join(root, "a.yaml"), nil); err == nil || err.Error() != "the repository is read-only while rendering" {
		t.Errorf("WriteFile error = %v", err)
	}
	real, err := fsys.Resolve(filepath.Join(root, "a.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fsys.Replace(real, []byte("x: 2\n"))
	if got, err := fsys.ReadFile(filepath.Join(root, "a.yaml")); err != nil || string(got) != "x: 2\n" {
		t.Errorf("ReadFile of a replaced file = %q, %v", got, err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "a.yaml")); string(got) != "x: 1\n" {
		t.Errorf("the file on disk changed: %q", got)
	}
}

func TestLimitsCheck(t *testing.T) {
	bomb := "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	l := DefaultLimits()
	l.MaxAliasNodes = 1000
	err := l.Check("bomb.yaml", []byte(bomb))
	if want := `"bomb.yaml": YAML aliases expand to more than 1000 nodes: input exceeds the render limits`; !errors.Is(err, ErrInputTooLarge) || err.Error() != want {
		t.Errorf("Check error = %v, want %s", err, want)
	}
	if err := DefaultLimits().Check("bomb.yaml", []byte(bomb)); err != nil {
		t.Errorf("Check under the default limits = %v", err)
	}
}
