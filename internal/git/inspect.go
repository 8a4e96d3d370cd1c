package git

import (
	"context"
	"errors"
	"strings"
)

// RemoteURL returns the URL git fetches remote from, after insteadOf
// rewriting. It may carry credentials: use it to learn where the remote
// is, never print it.
func (r *Repo) RemoteURL(ctx context.Context, remote string) (string, error) {
	fail := func(err error) (string, error) { return "", r.wrap(err, "reading the URL of remote %q", remote) }
	if err := checkRemote(remote); err != nil {
		return fail(err)
	}
	out, err := r.run(ctx, runOpts{}, "remote", "get-url", "--", remote)
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) && ce.ExitCode == 2 {
			return fail(errors.New("no such remote"))
		}
		return fail(err)
	}
	return strings.TrimSpace(string(out)), nil
}

// CommitInfo returns the tree and the parents of commit rev.
func (r *Repo) CommitInfo(ctx context.Context, rev string) (tree string, parents []string, err error) {
	commit, err := r.resolve(ctx, rev, "commit")
	if err != nil {
		return "", nil, r.wrap(err, "reading commit %q", rev)
	}
	out, err := r.run(ctx, runOpts{}, "log", "-1", "--format=%T %P", commit)
	if err != nil {
		return "", nil, r.wrap(err, "reading commit %q", rev)
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return "", nil, r.wrap(errors.New("no tree"), "reading commit %q", rev)
	}
	return f[0], f[1:], nil
}
