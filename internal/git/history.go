package git

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Trailer is one "Key: value" trailer of a commit message.
type Trailer struct{ Key, Value string }

// Trailed is a commit with the trailers of its message, in order.
type Trailed struct {
	Commit   string
	Trailers []Trailer
}

// Values returns the values of the trailers named key (case-insensitive).
func (t Trailed) Values(key string) []string {
	var values []string
	for _, tr := range t.Trailers {
		if strings.EqualFold(tr.Key, key) {
			values = append(values, tr.Value)
		}
	}
	return values
}

// Trailed returns the commits reachable from rev that change path and carry
// a trailer named key, newest first, as git log orders them, each with
// all its trailers.
func (r *Repo) Trailed(ctx context.Context, rev, path, key string) ([]Trailed, error) {
	fail := func(err error) ([]Trailed, error) {
		return nil, r.wrap(err, "reading the history of %q at %q", path, rev)
	}
	if err := checkPath(path); err != nil {
		return fail(err)
	}
	commit, err := r.resolve(ctx, rev, "commit")
	if err != nil {
		return fail(err)
	}
	out, err := r.run(ctx, runOpts{}, "log", "--no-show-signature", "--format=%H%x1f%(trailers:only,unfold)%x1e", "--end-of-options", commit, "--", path)
	if err != nil {
		return fail(err)
	}
	var commits []Trailed
	for record := range strings.SplitSeq(string(out), "\x1e") {
		record = strings.TrimLeft(record, "\n")
		if record == "" {
			continue
		}
		sha, trailers, ok := strings.Cut(record, "\x1f")
		if !ok || !isObjectName(sha) {
			return fail(fmt.Errorf("unexpected git log output %q", record))
		}
		t := Trailed{Commit: sha}
		for line := range strings.Lines(trailers) {
			k, v, ok := strings.Cut(strings.TrimRight(line, "\n"), ":")
			if ok {
				t.Trailers = append(t.Trailers, Trailer{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)})
			}
		}
		if len(t.Values(key)) > 0 {
			commits = append(commits, t)
		}
	}
	return commits, nil
}

// IsShallow reports whether the clone is shallow, its history cut off.
func (r *Repo) IsShallow(ctx context.Context) (bool, error) {
	out, err := r.run(ctx, runOpts{}, "rev-parse", "--is-shallow-repository")
	if err != nil {
		return false, r.wrap(err, "checking whether the clone is shallow")
	}
	return strings.TrimSpace(string(out)) == "true", nil
}

// ErrUnknownCommit means a commit is not in the clone.
var ErrUnknownCommit = errors.New("no such commit in the clone")

// IsAncestor reports whether commit a is an ancestor of commit b, or b
// itself. A commit the clone does not have is an error wrapping
// ErrUnknownCommit.
func (r *Repo) IsAncestor(ctx context.Context, a, b string) (bool, error) {
	var shas [2]string
	for i, rev := range []string{a, b} {
		sha, err := r.resolve(ctx, rev, "commit")
		if err != nil {
			return false, r.wrap(fmt.Errorf("%w: %w", ErrUnknownCommit, err), "looking up %q", rev)
		}
		shas[i] = sha
	}
	_, err := r.run(ctx, runOpts{}, "merge-base", "--is-ancestor", shas[0], shas[1])
	var cmdErr *CommandError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &cmdErr) && cmdErr.ExitCode == 1:
		return false, nil
	}
	return false, r.wrap(err, "comparing %q with %q", a, b)
}
