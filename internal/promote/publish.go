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
	return &Session{Repo: repo, Branch: branch, opts: p, message: tmpl}, nil
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
// branch.
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
			return nil, superseded(s.Branch, o.ExpectHead, head)
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
		files := map[string][]byte{}
		for _, f := range change.Files {
			files[f.Path] = f.After
		}
		commit, err := s.Repo.Commit(ctx, head, files, change.Message)
		if err != nil {
			return nil, err
		}
		out.Commit = commit
		if o.NoPush {
			return out, s.Repo.Advance(ctx, s.Branch, commit)
		}
		err = s.Repo.Push(ctx, o.Remote, commit, s.Branch, head)
		if err == nil {
			out.Pushed = true
			return out, nil
		}
		if !errors.Is(err, git.ErrPushRejected) {
			return nil, err
		}
		if o.ExpectHead != "" {
			moved, ferr := s.fetch(ctx)
			if ferr != nil {
				return nil, fmt.Errorf("%w; fetching again: %w", err, ferr)
			}
			return nil, superseded(s.Branch, head, moved)
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

func (p Publish) validate() error {
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
