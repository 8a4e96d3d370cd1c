package git

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A fetch that finds the remote-tracking branch locked by another process
// says so with ErrTrackingRefBusy, in one line, and leaves no ref behind;
// once the lock is gone it fetches.
func TestFetchTrackingRefBusy(t *testing.T) {
	t.Parallel()
	bare, seedWork := newRemote(t)
	dir := cloneT(t, bare)
	newer := advance(t, seedWork, map[string]string{"README.md": "newer\n"})
	r := openT(t, dir)
	lock := filepath.Join(dir, ".git/refs/remotes/origin/main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := r.Fetch(t.Context(), "origin", "main")
	if !errors.Is(err, ErrTrackingRefBusy) || errors.Is(err, ErrRemoteBranchNotFound) {
		t.Errorf("Fetch with the lock held: %v", err)
	}
	if err != nil && (strings.ContainsAny(err.Error(), "\n\r") || !strings.HasPrefix(err.Error(), `fetching "origin/main": another git process in this clone was updating the remote-tracking branch: git fetch `)) {
		t.Errorf("error is not one line starting as expected: %q", err)
	}
	if refs := gitT(t, dir, "for-each-ref", "refs/digestpin"); refs != "" {
		t.Errorf("refs left behind: %s", refs)
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}

	head, err := r.Fetch(t.Context(), "origin", "main")
	if err != nil || head != newer {
		t.Fatalf("Fetch = %s, %v; want %s", head, err, newer)
	}
	if refs := gitT(t, dir, "for-each-ref", "refs/digestpin"); refs != "" {
		t.Errorf("refs left behind: %s", refs)
	}
}
