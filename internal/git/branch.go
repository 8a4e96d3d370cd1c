package git

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrDiverged is returned by Advance when the local branch has commits the
// new commit does not contain.
var ErrDiverged = errors.New("the local branch has diverged")

// Advance fast-forwards the local branch to commit, for a commit that was
// built but will not be pushed. With the branch checked out in this work
// tree it runs `git merge --ff-only`, which changes nothing when local
// changes would be overwritten; otherwise it moves the ref with
// `git update-ref`, conditional on the value it had. A branch that does not
// exist locally is created.
func (r *Repo) Advance(ctx context.Context, branch, commit string) error {
	fail := func(err error) error { return r.wrap(err, "advancing branch %q to %q", branch, commit) }
	if err := r.checkBranch(ctx, branch); err != nil {
		return fail(err)
	}
	sha, err := r.resolve(ctx, commit, "commit")
	if err != nil {
		return fail(err)
	}
	ref := "refs/heads/" + branch
	out, err := r.run(ctx, runOpts{okExit: []int{1}}, "rev-parse", "--verify", "--quiet", ref)
	if err != nil {
		return fail(err)
	}
	old := strings.TrimSpace(string(out))
	if old != "" {
		if _, err := r.run(ctx, runOpts{}, "merge-base", "--is-ancestor", old, sha); err != nil {
			var ce *CommandError
			if errors.As(err, &ce) && ce.ExitCode == 1 {
				return fail(fmt.Errorf("%w: %s is not an ancestor of %s", ErrDiverged, old, sha))
			}
			return fail(err)
		}
	}
	current, err := r.CurrentBranch(ctx)
	if err == nil && current == branch {
		if _, err := r.run(ctx, runOpts{}, "merge", "--ff-only", "--quiet", sha); err != nil {
			return fail(err)
		}
		return nil
	}
	if err != nil && !errors.Is(err, ErrDetachedHEAD) {
		return fail(err)
	}
	if old == "" {
		old = strings.Repeat("0", len(sha)) // must not exist yet
	}
	if _, err := r.run(ctx, runOpts{}, "update-ref", "-m", "digestpin promote", ref, sha, old); err != nil {
		return fail(err)
	}
	return nil
}
