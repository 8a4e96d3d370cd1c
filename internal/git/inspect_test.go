package git

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestRemoteURLAndCommitInfo(t *testing.T) {
	ctx := context.Background()
	_, clone := newRemote(t)
	repo, err := Open(ctx, clone)
	if err != nil {
		t.Fatal(err)
	}
	gitT(t, clone, "config", "url.https://example.com/.insteadOf", "ex:")
	gitT(t, clone, "remote", "add", "gh", "ex:acme/config.git")
	if u, err := repo.RemoteURL(ctx, "gh"); err != nil || u != "https://example.com/acme/config.git" {
		t.Errorf("RemoteURL = %q, %v", u, err)
	}
	if _, err := repo.RemoteURL(ctx, "nope"); err == nil || err.Error() != `reading the URL of remote "nope": no such remote` {
		t.Errorf("RemoteURL(nope) = %v", err)
	}
	head := gitT(t, clone, "rev-parse", "HEAD")
	tree, parents, err := repo.CommitInfo(ctx, "HEAD")
	if err != nil || tree != gitT(t, clone, "rev-parse", "HEAD^{tree}") || !slices.Equal(parents, strings.Fields(gitT(t, clone, "log", "-1", "--format=%P", head))) {
		t.Errorf("CommitInfo = %s %v %v", tree, parents, err)
	}
}
