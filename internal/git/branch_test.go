package git

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/testutil"
)

func TestAdvanceCheckedOutBranch(t *testing.T) {
	ctx := context.Background()
	_, work := newRemote(t)
	r := openT(t, work)
	head := gitT(t, work, "rev-parse", "HEAD")
	commit, err := r.Commit(ctx, head, map[string][]byte{"apps/web/deployment.yaml": []byte("image: web@sha256:2222\n")}, "pin web")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Advance(ctx, "main", commit); err != nil {
		t.Fatal(err)
	}
	if got := gitT(t, work, "rev-parse", "HEAD"); got != commit {
		t.Errorf("HEAD = %s, want %s", got, commit)
	}
	if got := gitT(t, work, "status", "--porcelain"); got != "" {
		t.Errorf("work tree not clean after advancing: %q", got)
	}
	if got := readWork(t, work, "apps/web/deployment.yaml"); got != "image: web@sha256:2222\n" {
		t.Errorf("work tree file = %q", got)
	}
}

func TestAdvanceRefusesToOverwriteLocalChanges(t *testing.T) {
	ctx := context.Background()
	_, work := newRemote(t)
	r := openT(t, work)
	head := gitT(t, work, "rev-parse", "HEAD")
	commit, err := r.Commit(ctx, head, map[string][]byte{"apps/web/deployment.yaml": []byte("image: web@sha256:2222\n")}, "pin web")
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFiles(t, work, map[string]string{"apps/web/deployment.yaml": "local edit\n"})
	if err := r.Advance(ctx, "main", commit); err == nil {
		t.Fatal("Advance overwrote a local change")
	}
	if got := gitT(t, work, "rev-parse", "HEAD"); got != head {
		t.Errorf("HEAD moved to %s", got)
	}
	if got := readWork(t, work, "apps/web/deployment.yaml"); got != "local edit\n" {
		t.Errorf("local change lost: %q", got)
	}
}

func TestAdvanceOtherBranches(t *testing.T) {
	ctx := context.Background()
	_, work := newRemote(t)
	r := openT(t, work)
	head := gitT(t, work, "rev-parse", "HEAD")
	commit, err := r.Commit(ctx, head, map[string][]byte{"README.md": []byte("x\n")}, "x")
	if err != nil {
		t.Fatal(err)
	}
	gitT(t, work, "branch", "release", head)
	if err := r.Advance(ctx, "release", commit); err != nil {
		t.Fatal(err)
	}
	if got := gitT(t, work, "rev-parse", "release"); got != commit {
		t.Errorf("release = %s, want %s", got, commit)
	}
	if err := r.Advance(ctx, "fresh", commit); err != nil {
		t.Fatal(err)
	}
	if got := gitT(t, work, "rev-parse", "fresh"); got != commit {
		t.Errorf("fresh = %s, want %s", got, commit)
	}

	advance(t, work, map[string]string{"README.md": "diverged\n"})
	err = r.Advance(ctx, "main", commit)
	if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), `advancing branch "main"`) {
		t.Errorf("Advance on a diverged branch: %v", err)
	}
}

func readWork(t *testing.T, work, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(work, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
