package repofs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newFS(t *testing.T, root string, l Limits) *FS {
	t.Helper()
	fsys, err := New(root, "", l)
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// within fails the test when f does not return in time: a read that
// blocks is the failure these tests look for.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s blocked", what)
		return nil
	}
}

func TestOnlyRegularFilesAreRead(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "pipe.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "dir.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("pipe.yaml", filepath.Join(root, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	fsys := newFS(t, root, DefaultLimits())
	for name, want := range map[string]string{
		"pipe.yaml": `"pipe.yaml" is a named pipe, not a regular file`,
		"link.yaml": `"pipe.yaml" is a named pipe, not a regular file`,
		"dir.yaml":  `"dir.yaml" is a directory, not a regular file`,
	} {
		path := filepath.Join(root, name)
		err := within(t, "ReadFile("+name+")", func() error { _, err := fsys.ReadFile(path); return err })
		if !errors.Is(err, ErrNotRegular) || err.Error() != want {
			t.Errorf("ReadFile(%s) error = %v, want %s", name, err, want)
		}
		err = within(t, "Measure("+name+")", func() error { _, err := fsys.Measure(path); return err })
		if !errors.Is(err, ErrNotRegular) || err.Error() != want {
			t.Errorf("Measure(%s) error = %v, want %s", name, err, want)
		}
	}
	if !errors.Is(fsys.Refusal(), ErrNotRegular) {
		t.Errorf("Refusal() = %v, want the refused read", fsys.Refusal())
	}
}

func TestReadsAreMeasuredNotTrustedFromStat(t *testing.T) {
	// /proc files report a size of 0 and hold more: the read itself is
	// capped.
	const status = "/proc/self/status"
	info, err := os.Stat(status)
	if err != nil || info.Size() != 0 {
		t.Skipf("%s: %v, size %v", status, err, info)
	}
	_, err = readRegular(status, "status", 16)
	if want := `"status" is more than the 16 bytes allowed: input exceeds the render limits`; !errors.Is(err, ErrInputTooLarge) || err.Error() != want {
		t.Errorf("readRegular error = %v, want %s", err, want)
	}
}

func TestSymlinkLoopsAreNamed(t *testing.T) {
	root := t.TempDir()
	for link, target := range map[string]string{"a.yaml": "b.yaml", "b.yaml": "a.yaml", "self": "self/x"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	fsys := newFS(t, root, DefaultLimits())
	for name, want := range map[string]string{
		"a.yaml":   `"a.yaml": its symlinks form a loop`,
		"self/k.y": `"self/k.y": its symlinks form a loop`,
	} {
		_, err := fsys.ReadFile(filepath.Join(root, name))
		if !errors.Is(err, ErrSymlinkLoop) || err.Error() != want {
			t.Errorf("ReadFile(%s) error = %v, want %s", name, err, want)
		}
		if strings.Contains(err.Error(), root) {
			t.Errorf("error shows the root: %v", err)
		}
	}
}

func TestMeasureCountsDocumentsAndObjects(t *testing.T) {
	tests := []struct {
		name, data    string
		docs, objects int
	}{
		{"empty file", "", 1, 0},
		{"comments only", "# nothing\n", 1, 0},
		{"empty documents", "---\n---\n---\n", 3, 0},
		{"two objects", "a: 1\n---\nb: 2\n", 2, 2},
		{"a List", "kind: ConfigMapList\nitems:\n- {kind: ConfigMap}\n- {kind: ConfigMap}\n- {kind: ConfigMap}\n", 1, 3},
		{"a nested List", "kind: List\nitems:\n- kind: List\n  items: [{a: 1}, {b: 2}]\n- {c: 3}\n", 1, 3},
		{"a List through aliases and merge keys", "x: &items [{a: 1}, {a: 2}]\n---\n<<: {kind: List, items: [{a: 1}, {a: 2}, {a: 3}, {a: 4}]}\n", 2, 5},
		{"a kind ending in List without items", "kind: NetworkPolicyList\n", 1, 1},
		{"an empty List", "kind: List\nitems: null\n", 1, 0},
		{"a scalar", "just text\n", 1, 0},
		{"not YAML", "key=value\n[oops\n", 1, 0},
	}
	root := t.TempDir()
	fsys := newFS(t, root, DefaultLimits())
	for _, tt := range tests {
		path := filepath.Join(root, strings.ReplaceAll(tt.name, " ", "-"))
		if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := fsys.Measure(path)
		if err != nil || m.Documents != tt.docs || m.Objects != tt.objects || m.Bytes != int64(len(tt.data)) {
			t.Errorf("%s: Measure = %+v, %v; want %d documents, %d objects", tt.name, m, err, tt.docs, tt.objects)
		}
	}
	if fsys.BytesRead() != 0 {
		t.Errorf("Measure counted %d bytes against the render's total", fsys.BytesRead())
	}
}

func TestDocumentsAndAliasCyclesAreBounded(t *testing.T) {
	l := DefaultLimits()
	l.MaxDocuments, l.MaxNodes, l.MaxMapEntries = 100, 1000, 50
	entries := func(n int) string {
		var b strings.Builder
		b.WriteString("m:\n")
		for i := range n {
			fmt.Fprintf(&b, "  k%d: v\n", i)
		}
		return b.String()
	}
	for name, tt := range map[string]struct{ data, want string }{
		"nodes":              {strings.Repeat("- [a, b, c, d, e, f, g, h, i]\n", 101), `"nodes" holds more than 1000 YAML nodes: input exceeds the render limits`},
		"nodes in documents": {strings.Repeat("---\n[a, b, c, d, e, f, g, h, i, j]\n", 91), `"nodes in documents" holds more than 1000 YAML nodes: input exceeds the render limits`},
		"entries":            {entries(51), `"entries": a YAML mapping at line 2 has more than 50 entries: input exceeds the render limits`},
		"merged entries":     {"a: &a {k1: 1, k2: 2, k3: 3, k4: 4, k5: 5, k6: 6, k7: 7, k8: 8, k9: 9, k10: 10}\nb: {<<: [*a, *a, *a, *a, *a, *a]}\n", `"merged entries": a YAML mapping at line 2 has more than 50 entries: input exceeds the render limits`},
		"documents":          {strings.Repeat("---\n", 101), `"documents" holds more than 100 YAML documents: input exceeds the render limits`},
		"cycle":              {"data: &a {b: *a}\n", `"cycle": a YAML alias refers to a node that contains it: input exceeds the render limits`},
		"seq cycle":          {"a: &a [x, *a]\n", `"seq cycle": a YAML alias refers to a node that contains it: input exceeds the render limits`},
	} {
		err := l.Check(name, []byte(tt.data))
		if !errors.Is(err, ErrInputTooLarge) || err.Error() != tt.want {
			t.Errorf("Check(%s) = %v, want %s", name, err, tt.want)
		}
	}
}
