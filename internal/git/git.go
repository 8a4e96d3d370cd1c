// Package git drives the git command-line client for digestpin's promote
// command: it fetches a branch of a Git config repository, builds a commit on
// top of the fetched head without touching the working tree, the index or any
// local branch, and pushes that commit with a compare-and-swap lease so that a
// concurrent push is detected (ErrPushRejected) instead of overwritten.
//
// Only the push changes anything another process can observe; a failed
// promote leaves nothing behind but unreachable objects in the object
// database, which git's garbage collection removes.
//
// Every git process runs non-interactively (no terminal prompts, no askpass
// programs, no pager, no controlling terminal, C locale), and every error
// this package returns is redacted: URL userinfo is replaced by redact.Mask
// ("xxxxx") and so are known secrets (the token given with WithToken,
// passwords embedded in remote URLs and credentials in http.extraHeader
// settings of the clone).
package git

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/digestpin/digestpin/internal/redact"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// Sentinel errors; test for them with errors.Is.
var (
	// ErrPushRejected means the remote branch did not point at the expected
	// commit when the push arrived (lease failed, stale info, fetch first,
	// non-fast-forward, or the server's own compare-and-swap lost a race).
	// Nothing was changed on the remote; fetch again and rebuild the commit.
	ErrPushRejected = errors.New("push rejected: remote branch has moved")

	// ErrRemoteBranchNotFound means the remote has no such branch.
	ErrRemoteBranchNotFound = errors.New("remote branch not found")

	// ErrTrackingRefBusy means another git process in the same clone (a
	// concurrent promote, say) was updating the remote-tracking branch
	// while Fetch tried to; nothing is wrong, and fetching again succeeds.
	ErrTrackingRefBusy = errors.New("another git process in this clone was updating the remote-tracking branch")

	// ErrDetachedHEAD means the clone has no current branch, as is usual in
	// CI checkouts of pull requests or tags.
	ErrDetachedHEAD = errors.New("HEAD is detached, so there is no current branch")

	// ErrNoChanges means a commit would have the same tree as its parent.
	ErrNoChanges = errors.New("nothing to commit: the changes are already in the parent commit")
)

// Repo is a Git work tree driven through the git executable. A Repo holds no
// mutable state after Open, so its methods may be called concurrently.
type Repo struct {
	root   string
	gitExe string
	token  string
	env    []string
	red    *redactor
}

// Option configures Open.
type Option func(*Repo)

// WithToken makes fetches and pushes over HTTPS authenticate with token
// (sent as "Authorization: Basic base64(x-access-token:<token>)", GitHub's
// convention for access tokens; forges that take a token as the password of
// any user name, such as GitLab, accept it too). The token is handed to
// git through its environment, never through argv, and is scoped to the URL
// of the remote being contacted, so it replaces a credential header the
// clone may already have configured (such as the one actions/checkout
// persists) instead of being sent next to it. Leading and trailing white
// space is trimmed; an empty token leaves the option without effect, so the
// value of an unset environment variable can be passed directly.
func WithToken(token string) Option {
	return func(r *Repo) { r.token = strings.TrimSpace(token) }
}

// Open returns the Repo for the work tree containing dir. It fails when git
// is not installed, when dir is not inside a work tree (a bare repository
// is refused too) or when the token given with WithToken cannot be sent in
// an HTTP header.
func Open(ctx context.Context, dir string, opts ...Option) (*Repo, error) {
	r := &Repo{red: newRedactor()}
	for _, opt := range opts {
		opt(r)
	}
	r.red.addToken(r.token)
	fail := func(err error) (*Repo, error) { return nil, r.wrap(err, "opening %q", dir) }

	if strings.ContainsFunc(r.token, isControl) {
		return fail(errors.New("the token contains control characters"))
	}
	exe, err := exec.LookPath("git")
	if err != nil {
		return fail(fmt.Errorf("git executable not found: %w", err))
	}
	r.gitExe = exe
	env, err := baseEnv(os.Environ())
	if err != nil {
		return fail(err)
	}
	r.env = env

	abs, err := filepath.Abs(dir)
	if err != nil {
		return fail(err)
	}
	r.root = abs // rev-parse below runs from dir, then root is replaced
	out, err := r.run(ctx, runOpts{}, "rev-parse", "--show-toplevel")
	if err != nil {
		return fail(err)
	}
	root := strings.TrimSuffix(string(out), "\n")
	if root == "" {
		return fail(errors.New("not inside a git work tree"))
	}
	r.root = root

	// Learn the credentials configured in the clone so that git messages
	// that mention them in other forms than a URL are redacted as well.
	cfg, err := r.run(ctx, runOpts{}, "config", "--list", "-z")
	if err != nil {
		return fail(err)
	}
	r.red.learnConfig(string(cfg))
	return r, nil
}

// Root returns the absolute path of the top level of the work tree.
func (r *Repo) Root() string { return r.root }

// CurrentBranch returns the short name of the branch HEAD points at, such as
// "main" or "release/v1". It returns an error wrapping ErrDetachedHEAD when
// HEAD is detached.
func (r *Repo) CurrentBranch(ctx context.Context) (string, error) {
	out, err := r.run(ctx, runOpts{okExit: []int{1}}, "symbolic-ref", "--quiet", "HEAD")
	if err != nil {
		return "", r.wrap(err, "resolving the current branch")
	}
	ref := strings.TrimSuffix(string(out), "\n")
	if ref == "" {
		return "", r.wrap(ErrDetachedHEAD, "resolving the current branch")
	}
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return "", r.wrap(fmt.Errorf("HEAD points at %q, which is not a branch", ref), "resolving the current branch")
	}
	return branch, nil
}

// resolve returns the full object name of rev peeled to kind ("commit" or
// "tree"), or an error naming rev when it does not exist in the clone.
func (r *Repo) resolve(ctx context.Context, rev, kind string) (string, error) {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return "", fmt.Errorf("invalid revision %q", rev)
	}
	out, err := r.run(ctx, runOpts{okExit: []int{1}}, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{"+kind+"}")
	if err != nil {
		return "", err
	}
	sha := strings.TrimSuffix(string(out), "\n")
	if sha == "" {
		return "", fmt.Errorf("unknown revision %q (no %s of that name in the clone)", rev, kind)
	}
	return sha, nil
}

// isObjectName reports whether s is a full SHA-1 or SHA-256 object name.
func isObjectName(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// wrap prefixes an error with the operation and its inputs. Its message is
// redacted as a whole because the inputs (a remote given as a URL, say) may
// carry credentials too, and escaped as a whole so that it is one line.
func (r *Repo) wrap(err error, format string, args ...any) error {
	return redact.Reword(err, untrusted.Text(r.red.redact(fmt.Sprintf(format, args...)+": "+err.Error())))
}

// quoteRef formats remote/branch for messages.
func quoteRef(remote, branch string) string { return strconv.Quote(remote + "/" + branch) }
