package git

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Fetch fetches branch from the configured remote named remote (any name,
// not only "origin") into refs/remotes/<remote>/<branch> and returns the
// object name of the fetched head. Tags, submodules and other branches are
// not fetched and no local branch is updated. Shallow clones stay shallow:
// only the head commit is fetched into them. When the remote has no such
// branch the error wraps ErrRemoteBranchNotFound; when another process in
// the clone held the remote-tracking branch's lock, ErrTrackingRefBusy.
//
// The head returned is the one this fetch received, even when concurrent
// fetches in the same clone leave the remote-tracking branch at another
// fetch's answer: it is also written to a ref of its own, read back and
// deleted. Fetch does not start git's automatic maintenance, which would
// pack refs under the feet of concurrent fetches.
func (r *Repo) Fetch(ctx context.Context, remote, branch string) (string, error) {
	fail := func(err error) (string, error) { return "", r.wrap(err, "fetching %s", quoteRef(remote, branch)) }
	if err := checkRemote(remote); err != nil {
		return fail(err)
	}
	tracking := "refs/remotes/" + remote + "/" + branch
	if err := r.checkBranch(ctx, branch); err != nil {
		return fail(err)
	}
	if err := r.checkRef(ctx, tracking); err != nil {
		return fail(fmt.Errorf("remote %q cannot name a remote-tracking branch: %w", remote, err))
	}
	out, err := r.run(ctx, runOpts{}, "rev-parse", "--is-shallow-repository")
	if err != nil {
		return fail(err)
	}
	env, err := r.authEnv(ctx, remote, false)
	if err != nil {
		return fail(err)
	}

	args := []string{"fetch", "--no-tags", "--no-recurse-submodules", "--no-write-fetch-head"}
	if strings.TrimSpace(string(out)) == "true" {
		// Without a depth, git would fetch all commits since the shallow
		// boundary, or all of history after a force push.
		args = append(args, "--depth=1")
	}
	own, err := ownRef()
	if err != nil {
		return fail(err)
	}
	// Deleted whatever happens: git updates the refs of a refspec list one
	// by one, so it may exist even when the fetch failed.
	defer r.run(context.WithoutCancel(ctx), runOpts{}, "update-ref", "-d", own)
	// "+" lets the remote-tracking branch follow a remote that was force
	// pushed; it does not touch local branches.
	src := "+refs/heads/" + branch
	args = append(args, "--no-auto-maintenance", remote, src+":"+tracking, src+":"+own)
	var stderr string
	if _, err := r.run(ctx, runOpts{env: env, stderr: &stderr}, args...); err != nil {
		switch {
		case strings.Contains(stderr, "couldn't find remote ref"):
			err = fmt.Errorf("%w: %w", ErrRemoteBranchNotFound, err)
		case strings.Contains(stderr, "cannot lock ref '"+tracking+"'"):
			err = fmt.Errorf("%w: %w", ErrTrackingRefBusy, err)
		}
		return fail(err)
	}
	head, err := r.resolve(ctx, own, "commit")
	if err != nil {
		return fail(err)
	}
	return head, nil
}

// ownRef names a ref no other process uses, for one fetch's answer.
func ownRef() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "refs/digestpin/fetch/" + hex.EncodeToString(b[:]), nil
}

// Push updates refs/heads/<branch> on remote (a configured remote name or a
// URL) to commit, on the condition that the branch still points at
// expectedHead; an empty expectedHead requires that the branch does not
// exist yet. The condition is checked against the remote's advertisement and
// again atomically by the server, so a concurrent push is never overwritten:
// the push is refused and the error wraps ErrPushRejected. Other refusals
// (such as a protected branch) and failures (authentication, network, no such
// remote) return errors that do not wrap ErrPushRejected. Pushing a commit
// the branch already points at succeeds.
func (r *Repo) Push(ctx context.Context, remote, commit, branch, expectedHead string) error {
	fail := func(err error) error { return r.wrap(err, "pushing %q to %s", commit, quoteRef(remote, branch)) }
	if err := checkRemote(remote); err != nil {
		return fail(err)
	}
	if err := r.checkBranch(ctx, branch); err != nil {
		return fail(err)
	}
	if expectedHead != "" && !isObjectName(expectedHead) {
		return fail(fmt.Errorf("expected head %q is not a full object name", expectedHead))
	}
	sha, err := r.resolve(ctx, commit, "commit")
	if err != nil {
		return fail(err)
	}
	env, err := r.authEnv(ctx, remote, true)
	if err != nil {
		return fail(err)
	}

	ref := "refs/heads/" + branch
	var stderr string
	out, err := r.run(ctx, runOpts{env: env, stderr: &stderr},
		"push", "--porcelain", "--no-follow-tags", "--no-recurse-submodules",
		"--force-with-lease="+ref+":"+expectedHead,
		remote, sha+":"+ref)
	if err == nil {
		return nil
	}
	if summary, ok := rejection(string(out), ref); ok {
		summary = r.red.redact(summary)
		if isRace(summary, stderr) {
			return fail(fmt.Errorf("%w: %s: %w", ErrPushRejected, summary, err))
		}
		return fail(fmt.Errorf("push refused: %s: %w", summary, err))
	}
	return fail(err)
}

// rejection returns the summary ("[rejected] (stale info)") of the porcelain
// status line of a refused update of ref.
func rejection(porcelain, ref string) (string, bool) {
	for line := range strings.SplitSeq(porcelain, "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) == 3 && f[0] == "!" && strings.HasSuffix(f[1], ":"+ref) {
			return f[2], true
		}
	}
	return "", false
}

// isRace reports whether a refused push failed because the branch was not at
// the expected commit, as opposed to being refused by policy.
func isRace(summary, stderr string) bool {
	for _, s := range []string{
		"(stale info)", "(fetch first)", "(non-fast-forward)", // checked by the client
		"incorrect old value provided", "cannot lock ref", // server-side lease, as GitHub and others word it
	} {
		if strings.Contains(summary, s) {
			return true
		}
	}
	// git's receive-pack reports a lost compare-and-swap as "failed to update
	// ref", with the cause only on stderr.
	return strings.Contains(summary, "(failed to update ref)") &&
		strings.Contains(stderr, "cannot lock ref") && strings.Contains(stderr, "but expected")
}

func checkRemote(remote string) error {
	if remote == "" || strings.HasPrefix(remote, "-") {
		return fmt.Errorf("invalid remote %q", remote)
	}
	return nil
}

func (r *Repo) checkBranch(ctx context.Context, branch string) error {
	if branch == "" || strings.HasPrefix(branch, "-") {
		return fmt.Errorf("invalid branch name %q", branch)
	}
	if err := r.checkRef(ctx, "refs/heads/"+branch); err != nil {
		return fmt.Errorf("invalid branch name %q: %w", branch, err)
	}
	return nil
}

func (r *Repo) checkRef(ctx context.Context, ref string) error {
	_, err := r.run(ctx, runOpts{}, "check-ref-format", ref)
	if ce := (*CommandError)(nil); errors.As(err, &ce) && ce.ExitCode == 1 {
		return errors.New("not a valid ref name")
	}
	return err
}

// authEnv returns the environment for contacting remote. With a token, it
// adds an Authorization header scoped to each HTTP(S) URL of the remote. The
// scope matters: git sends all http.extraHeader values that match a URL,
// preferring the most specific ones, so an unscoped header would lose to a
// credential the clone has configured for the host (actions/checkout
// persists one) or be sent next to it (which GitHub refuses). The empty
// value first clears the headers configured for that URL.
func (r *Repo) authEnv(ctx context.Context, remote string, push bool) ([]string, error) {
	if r.token == "" {
		return nil, nil
	}
	urls := []string{remote}
	if !strings.Contains(remote, "://") {
		args := []string{"remote", "get-url", "--all"}
		if push {
			args = append(args, "--push")
		}
		out, err := r.run(ctx, runOpts{}, append(args, remote)...)
		var ce *CommandError
		switch {
		case errors.As(err, &ce) && ce.ExitCode == 2:
			// Not a configured remote; git push also takes paths and
			// scp-like addresses, which are not HTTP.
		case err != nil:
			return nil, err
		default:
			urls = strings.Fields(string(out))
		}
	}
	header := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(tokenUser+":"+r.token))
	var kvs [][2]string
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			continue
		}
		scope := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
		if u.User != nil {
			scope.User = url.User(u.User.Username())
		}
		key := "http." + scope.String() + ".extraHeader"
		kvs = append(kvs, [2]string{key, ""}, [2]string{key, header})
	}
	if len(kvs) == 0 {
		return nil, nil
	}
	return withConfig(r.env, kvs...), nil
}
