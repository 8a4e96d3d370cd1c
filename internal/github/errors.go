package github

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The kinds of failure; every *Error wraps exactly one. Test with errors.Is.
var (
	// ErrUnauthorized (HTTP 401): GitHub refused the app's JWT (a key that
	// is not the app's, or a clock that is off) or the installation token.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden (HTTP 403): the installation lacks a permission.
	// Error.Permission names it.
	ErrForbidden = errors.New("forbidden")
	// ErrRuleViolation: a branch protection rule or a ruleset refused a
	// change of a protected branch by this actor.
	ErrRuleViolation = errors.New("refused by a branch rule")
	// ErrNotInstalled (HTTP 404 on the installation lookup): the app is not
	// installed on the repository.
	ErrNotInstalled = errors.New("app not installed")
	// ErrNotFound (HTTP 404 elsewhere): no such repository, branch or pull
	// request, or the token cannot see it.
	ErrNotFound = errors.New("not found")
	// ErrUnprocessable (HTTP 422, GraphQL UNPROCESSABLE and the like): GitHub
	// refused the request's content.
	ErrUnprocessable = errors.New("unprocessable")
	// ErrRateLimited: a primary or secondary rate limit still applied after
	// the bounded wait.
	ErrRateLimited = errors.New("rate limited")
	// ErrStaleHead: createCommitOnBranch's expectedHeadOid or an updateRefs
	// beforeOid did not match; another writer moved the branch. Nothing was
	// changed: fetch again and rebuild.
	ErrStaleHead = errors.New("branch moved")
	// ErrServer: GitHub failed (5xx) or could not be reached.
	ErrServer = errors.New("GitHub unavailable")
)

// Error is a failed GitHub API call.
type Error struct {
	// Op says what was being done, e.g. `creating a commit on acme/config branch "main"`.
	Op string
	// Status is the HTTP status; 0 for GraphQL errors in a 200 answer.
	Status int
	// Kind is one of the sentinel errors.
	Kind error
	// Message is GitHub's message on one line, with known secrets removed.
	Message string
	// Permission is the permission the request needs, such as
	// "contents: write", set for ErrForbidden.
	Permission string
	// Hint says what to do about it; it names no command-line flag.
	Hint string
	// RetryAfter is how long GitHub asked to wait (ErrRateLimited).
	RetryAfter time.Duration
	// Cause is the underlying transport error, if any.
	Cause error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.Status != 0:
		fmt.Fprintf(&b, "GitHub answered %d %s", e.Status, http.StatusText(e.Status))
	case e.Cause != nil:
		b.WriteString("cannot reach GitHub")
	default:
		b.WriteString("GitHub refused it")
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %q", e.Message)
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, ": %v", e.Cause)
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

// oneLine joins the lines of untrusted text with spaces. Messages print it
// with %q, which escapes whatever else could forge output or recolour a
// terminal.
func oneLine(s string) string {
	out := strings.Join(strings.Fields(s), " ")
	const max = 500
	if len(out) > max {
		return strings.ToValidUTF8(out[:max], "") + "…"
	}
	return out
}

// isRuleViolation reports whether GitHub's message refuses a change of a
// protected branch, as rulesets ("Repository rule violations found",
// GH013) and classic protection ("Protected branch update failed", GH006)
// word it.
func isRuleViolation(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"repository rule violation", "protected branch", "gh013", "gh006", "changes must be made through a pull request"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// IsRuleViolationText reports whether text from git (a refused push's
// messages) says a branch protection rule or ruleset declined the push.
func IsRuleViolationText(text string) bool {
	m := strings.ToLower(text)
	return strings.Contains(m, "gh013") || strings.Contains(m, "gh006") ||
		strings.Contains(m, "repository rule violations") || strings.Contains(m, "protected branch hook declined")
}

// RuleViolationHint is what to do when a rule refuses a change of branch.
func RuleViolationHint(branch string) string {
	return fmt.Sprintf("a branch protection rule or ruleset refuses direct changes to %q by this identity: change it through a pull request, or make the GitHub App the ruleset's bypass actor", branch)
}
