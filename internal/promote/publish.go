package promote

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/digestpin/digestpin/internal/git"
	"github.com/digestpin/digestpin/internal/github"
	"github.com/digestpin/digestpin/internal/retry"
)

// Session is a config repository opened to publish one change to one
// branch. The change is built by a function of the fetched head, so that
// after a lost race it is built again on the new head: nobody's commit is
// ever overwritten.
type Session struct {
	// Repo is the clone; builders read the fetched head through it.
	Repo *git.Repo
	// Branch is the branch published to.
	Branch  string
	opts    Publish
	message *template.Template
	hub     *hub // with GitHub
}

// FileChange is one edited file, by repository path.
type FileChange struct {
	Path          string
	Before, After []byte
}

// Change is what a builder computed on one head: the edited files (none
// when the head already says everything) and the commit message.
type Change struct {
	Files   []FileChange
	Message string
	// Topic is the path the change is about; it names the pull request
	// branch (PullRequestBranch).
	Topic string
	// Title and Summary (Markdown) describe the change in a pull request;
	// the diff is appended to the summary.
	Title, Summary string
}

// Outcome says what publishing did.
type Outcome struct {
	Branch string
	// Head is the branch head the change was built on.
	Head string
	// Commit is the new commit, "" when nothing was committed.
	Commit string
	// AlreadyPinned is true when the head needed no change.
	AlreadyPinned bool
	Pushed        bool
	// Attempts counts the heads the change was built on (1 without races).
	Attempts int
	// Diff is the unified diff of the change; Message its commit message.
	Diff, Message string
	// Via is how the commit was made: "git" or "api".
	Via string
	// PullRequest is the pull request opened or updated, in pull request
	// mode.
	PullRequest *PullRequestResult
}

// Open checks p, opens the clone and settles the branch. Nothing is
// fetched yet.
func Open(ctx context.Context, p Publish) (*Session, error) {
	p.defaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	tmpl, err := parseMessage(p.Message)
	if err != nil {
		return nil, err
	}
	repo, err := git.Open(ctx, p.RepoDir, git.WithToken(p.Token))
	if err != nil {
		return nil, err
	}
	branch := p.Branch
	if branch == "" {
		if branch, err = repo.CurrentBranch(ctx); err != nil {
			return nil, usageError("%w", err)
		}
	}
	s := &Session{Repo: repo, Branch: branch, opts: p, message: tmpl}
	if p.GitHub != nil {
		var token string
		if s.hub, token, err = connect(ctx, repo, p); err != nil {
			return nil, err
		}
		// Git fetches (and in git mode pushes) with the installation token.
		if s.Repo, err = git.Open(ctx, p.RepoDir, git.WithToken(token)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Message renders the commit message template over d, trailers appended.
func (s *Session) Message(d Data) (string, error) {
	d.Branch = s.Branch
	return message(s.message, d)
}

// Builder computes the change on a fetched head. An error stops
// publishing; a Change without files means there is nothing to do.
type Builder func(ctx context.Context, head string) (*Change, error)

// Publish fetches the branch, builds the change on its head, commits it
// and pushes it with a lease on that head. A push that loses a race is
// rebuilt on the new head and retried, up to Attempts times, unless
// ExpectHead is set: then the branch moving is a *SupersededError. With DryRun
// nothing is committed; with NoPush the commit only advances the local
// branch. With GitHub, the commit may be made through the API or reach the
// branch through a pull request (see GitHub). With an error wrapping
// a *SupersededError, the outcome so far is returned too.
func (s *Session) Publish(ctx context.Context, build Builder) (*Outcome, error) {
	o := s.opts
	out := &Outcome{Branch: s.Branch}
	for attempt := 1; ; attempt++ {
		out.Attempts = attempt
		head, err := s.fetch(ctx)
		if err != nil {
			return nil, err
		}
		out.Head = head
		if o.ExpectHead != "" && !sameCommit(head, o.ExpectHead) {
			return out, superseded(s.Branch, o.ExpectHead, head)
		}
		change, err := build(ctx, head)
		if err != nil {
			return nil, err
		}
		if change == nil || len(change.Files) == 0 {
			out.AlreadyPinned = true
			return out, nil
		}
		out.Diff, out.Message = change.diff(), change.Message
		if o.DryRun {
			return out, nil
		}
		err = s.publish(ctx, head, change, out)
		if err == nil {
			return out, nil
		}
		if !lostRace(err) {
			return nil, err
		}
		// A pull request branch moved by another writer is no sign that
		// the base moved: the next attempt fetches the base and judges.
		if o.ExpectHead != "" && !o.GitHub.prMode() {
			moved, ferr := s.fetch(ctx)
			if ferr != nil {
				return nil, fmt.Errorf("%w; fetching again: %w", err, ferr)
			}
			return out, superseded(s.Branch, head, moved)
		}
		if attempt == o.Attempts {
			return nil, fmt.Errorf("gave up after %d attempts, other writers kept moving %s/%s: %w", attempt, o.Remote, s.Branch, err)
		}
		fmt.Fprintf(o.Out, "%s/%s moved while pushing; rebuilding the change on the new head (attempt %d of %d)\n", o.Remote, s.Branch, attempt+1, o.Attempts)
		// Jittered, so that concurrent writers spread out.
		if err := retry.Sleep(ctx, retry.Backoff(min(o.Backoff, maxBackoff), maxBackoff, attempt)); err != nil {
			return nil, err
		}
	}
}

// fetch fetches the branch, and fetches again, like a push that lost a
// race, when another process in the clone (a concurrent promote) held the
// remote-tracking branch's lock.
func (s *Session) fetch(ctx context.Context) (string, error) {
	o := s.opts
	for attempt := 1; ; attempt++ {
		head, err := s.Repo.Fetch(ctx, o.Remote, s.Branch)
		if err == nil || !errors.Is(err, git.ErrTrackingRefBusy) || attempt == o.Attempts {
			return head, err
		}
		fmt.Fprintf(o.Out, "another git process in this clone was updating %s/%s; fetching again (attempt %d of %d)\n", o.Remote, s.Branch, attempt+1, o.Attempts)
		if err := retry.Sleep(ctx, retry.Backoff(min(o.Backoff, maxBackoff), maxBackoff, attempt)); err != nil {
			return "", err
		}
	}
}

// publish makes the change, built on head, visible: a commit pushed with
// a lease, or (with GitHub) a commit through the API or a pull request. A
// lost race is reported by an error for which lostRace is true; then
// nothing was changed.
func (s *Session) publish(ctx context.Context, head string, change *Change, out *Outcome) error {
	o := s.opts
	out.Via = "git"
	if o.GitHub.viaAPI() {
		out.Via = "api"
	}
	if s.hub != nil && o.GitHub.usesAPI() {
		return s.hub.publish(ctx, s, head, change, out)
	}
	commit, err := s.Repo.Commit(ctx, head, change.files(), change.Message)
	if err != nil {
		return err
	}
	out.Commit = commit
	if o.NoPush {
		return s.Repo.Advance(ctx, s.Branch, commit)
	}
	if err := s.Repo.Push(ctx, o.Remote, commit, s.Branch, head); err != nil {
		if !lostRace(err) && github.IsRuleViolationText(err.Error()) {
			return &ruleError{err: err, hint: github.RuleViolationHint(s.Branch)}
		}
		return err
	}
	out.Pushed = true
	return nil
}

func (c *Change) files() map[string][]byte {
	files := map[string][]byte{}
	for _, f := range c.Files {
		files[f.Path] = f.After
	}
	return files
}

// lostRace reports whether err says another writer moved the branch.
func lostRace(err error) bool {
	return errors.Is(err, git.ErrPushRejected) || errors.Is(err, github.ErrStaleHead)
}

// ruleError is a push a branch rule refused; it wraps
// github.ErrRuleViolation.
type ruleError struct {
	err  error
	hint string
}

func (e *ruleError) Error() string   { return e.err.Error() + "; " + e.hint }
func (e *ruleError) Unwrap() []error { return []error{e.err, github.ErrRuleViolation} }

func (p Publish) validate() error {
	if p.GitHub != nil {
		if err := p.GitHub.validate(p); err != nil {
			return err
		}
	}
	if p.ExpectHead != "" && !isHex(p.ExpectHead, 7, 64) {
		return usageError("%s %q is not a commit SHA (7 to 64 hex digits)", OptExpectHead, p.ExpectHead)
	}
	if p.DryRun && p.NoPush {
		return usageError("%s and %s exclude each other", OptDryRun, OptNoPush)
	}
	return nil
}

// diff is the unified diff of every file, in path order.
func (c *Change) diff() string {
	byPath := map[string]FileChange{}
	for _, f := range c.Files {
		byPath[f.Path] = f
	}
	var b strings.Builder
	for _, p := range slices.Sorted(maps.Keys(byPath)) {
		f := byPath[p]
		b.WriteString((&change{path: f.Path, before: f.Before, after: f.After}).diff())
	}
	return b.String()
}

func superseded(branch, from, to string) error {
	return &SupersededError{Branch: branch, From: from, To: to}
}

// sameCommit compares full or abbreviated (7+ characters) object names.
func sameCommit(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == b || (len(a) >= 7 && strings.HasPrefix(b, a))
}

// maxBackoff bounds the wait between attempts to push.
const maxBackoff = 5 * time.Second
