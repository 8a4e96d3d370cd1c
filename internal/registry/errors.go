package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/digestpin/digestpin/internal/redact"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// Errors returned by Resolve match one of these with errors.Is when the cause
// is known. The registry's own error stays in the chain: errors.As with a
// *transport.Error gives its status code and diagnostics.
var (
	// ErrInvalidReference: the string is not an image reference.
	ErrInvalidReference = errors.New("invalid image reference")
	// ErrUnauthorized: the registry answered 401 or 403; credentials were
	// missing, rejected, or lack pull permission.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNotFound: the repository, tag or digest does not exist (404,
	// MANIFEST_UNKNOWN, NAME_UNKNOWN).
	ErrNotFound = errors.New("not found")
	// ErrRateLimited: the registry kept answering 429 until retries ran out.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable: the registry kept answering 5xx until retries ran out.
	ErrUnavailable = errors.New("registry unavailable")
	// ErrNetwork: the registry could not be reached or did not answer in
	// time (connection refused or reset, DNS failure, timeout).
	ErrNetwork = errors.New("network error")
	// ErrDigestMismatch: the manifest bytes served do not hash to the digest
	// that was requested or that the registry claimed for them.
	ErrDigestMismatch = errors.New("digest mismatch")
)

// kindError lets errors.Is match kind without kind's terse text appearing in
// the message, which is written for the person reading the CI log.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// contentError marks a failure to parse what the registry served, so that
// the EOF of a truncated document is not mistaken for a dropped connection.
type contentError struct{ err error }

func (e *contentError) Error() string { return e.err.Error() }
func (e *contentError) Unwrap() error { return e.err }

// failure is one failed attempt, classified. Its message reads
// "<detail> (<status>)[, gave up after N attempts][; <hint>]: <cause>".
type failure struct {
	kind      error // nil when the cause is none of the Err* kinds
	transient bool  // worth another attempt
	detail    string
	status    string // "HTTP 503 Service Unavailable"
	hint      string // what the user can do about it
	cause     error
	// retryAfter is what the registry asked to wait before trying again.
	retryAfter time.Duration
}

func (r *resolver) classify(err error, attemptTimedOut bool) failure {
	var mismatch *digestMismatchError
	var terr *transport.Error
	var malformed *contentError
	switch {
	case errors.As(err, &malformed):
		return failure{cause: err}
	case errors.As(err, &mismatch):
		return failure{
			kind:   ErrDigestMismatch,
			detail: fmt.Sprintf("registry %q served a manifest that does not match its digest", r.host()),
			cause:  mismatch,
		}
	case errors.As(err, &terr):
		f := r.classifyStatus(terr)
		f.cause = err
		return f
	case attemptTimedOut:
		return failure{
			kind:      ErrNetwork,
			transient: true,
			detail:    fmt.Sprintf("registry %q did not answer within %s", r.host(), r.o.timeout),
			cause:     err,
		}
	}
	if transient, ok := networkError(err); ok {
		return failure{
			kind:      ErrNetwork,
			transient: transient,
			detail:    fmt.Sprintf("cannot connect to registry %q", r.host()),
			cause:     err,
		}
	}
	return failure{cause: err}
}

func (r *resolver) classifyStatus(terr *transport.Error) failure {
	code := func(c transport.ErrorCode) bool {
		for _, d := range terr.Errors {
			if d.Code == c {
				return true
			}
		}
		return false
	}
	f := failure{status: fmt.Sprintf("HTTP %d %s", terr.StatusCode, http.StatusText(terr.StatusCode))}
	switch {
	case terr.StatusCode == http.StatusForbidden || code(transport.DeniedErrorCode):
		f.kind, f.hint = ErrUnauthorized, r.loginHint()
		f.detail = fmt.Sprintf("registry %q denied access to repository %q: the credentials were rejected or lack permission to pull",
			r.host(), r.repository())
	case terr.StatusCode == http.StatusUnauthorized || code(transport.UnauthorizedErrorCode):
		f.kind, f.hint = ErrUnauthorized, r.loginHint()
		f.detail = fmt.Sprintf("registry %q requires authentication for repository %q: credentials were missing or rejected",
			r.host(), r.repository())
	case terr.StatusCode == http.StatusTooManyRequests || code(transport.TooManyRequestsErrorCode):
		f.kind, f.transient = ErrRateLimited, true
		f.detail = fmt.Sprintf("registry %q is rate limiting requests", r.host())
		f.hint = "wait before trying again, or authenticate for a higher limit"
	case code(transport.NameUnknownErrorCode):
		f.kind, f.status = ErrNotFound, ""
		f.detail = fmt.Sprintf("repository %q does not exist (or is not visible with the credentials used)", r.repository())
	case terr.StatusCode == http.StatusNotFound || code(transport.ManifestUnknownErrorCode):
		return r.notFound(terr)
	case terr.StatusCode >= 500 || terr.StatusCode == http.StatusRequestTimeout || code(transport.UnavailableErrorCode):
		f.kind, f.transient = ErrUnavailable, true
		f.detail = fmt.Sprintf("registry %q is unavailable", r.host())
	default:
		return failure{}
	}
	return f
}

func (r *resolver) notFound(terr *transport.Error) failure {
	var path string
	if terr.Request != nil && terr.Request.URL != nil {
		path = terr.Request.URL.Path
	}
	switch {
	case path == r.tagsPath():
		return failure{kind: ErrNotFound, detail: fmt.Sprintf(
			"repository %q does not exist (or is not visible with the credentials used)", r.repository())}
	case path == r.manifestPath() && r.byDigest():
		return failure{kind: ErrNotFound, detail: fmt.Sprintf(
			"digest %s does not exist in repository %q", r.digest, r.repository())}
	case path == r.manifestPath():
		return failure{kind: ErrNotFound, detail: fmt.Sprintf(
			"tag %q does not exist in repository %q", r.tag, r.repository())}
	case strings.Contains(path, "/manifests/") || strings.Contains(path, "/blobs/"):
		// The image exists but is incomplete; ErrNotFound would tell the
		// caller the tag or digest is wrong.
		return failure{detail: fmt.Sprintf(
			"repository %q is missing content the image refers to", r.repository())}
	}
	// A 404 from /v2/ or a token server means the host is not the registry
	// it was taken for, not that the image is missing.
	return failure{}
}

func (r *resolver) loginHint() string {
	login := "docker login " + r.host()
	if r.host() == name.DefaultRegistry {
		login = "docker login"
	}
	return fmt.Sprintf("provide credentials with %q or a Docker credential helper for %s (read from $DOCKER_CONFIG/config.json, default ~/.docker/config.json)", login, r.host())
}

// networkError reports whether err is a failure to reach the registry, and
// whether trying again could help.
func networkError(err error) (transient, ok bool) {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTemporary || dnsErr.IsTimeout, true
	}
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.As(err, &opErr),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		errors.As(err, &netErr) && netErr.Timeout():
		return true, true
	}
	return false, false
}

// finalError is the error Resolve returns when it gives up on f after
// attempts attempts.
func (r *resolver) finalError(f failure, attempts int) error {
	var note string
	if f.transient {
		note = ", gave up after " + plural(attempts, "attempt")
	}
	if f.retryAfter > maxRetryAfter {
		note += fmt.Sprintf(" because it asked to wait %s (Retry-After), longer than the %s digestpin waits", f.retryAfter, maxRetryAfter)
	}
	return fmt.Errorf("%s %q: %w", r.verb, r.shown, r.describe(f, note))
}

// canceled is the error Resolve returns when ctx ends; last is the failure
// that was waiting to be retried, if any.
func (r *resolver) canceled(ctx context.Context, last *failure, attempts int) error {
	if last == nil {
		return fmt.Errorf("%s %q: %w", r.verb, r.shown, context.Cause(ctx))
	}
	return fmt.Errorf("%s %q: %w; stopped retrying after %s: %w",
		r.verb, r.shown, r.describe(*last, ""), plural(attempts, "attempt"), context.Cause(ctx))
}

func (r *resolver) describe(f failure, note string) error {
	cause := clean(f.cause, r.input)
	if f.detail == "" {
		return cause
	}
	msg := f.detail
	if f.status != "" {
		msg += " (" + f.status + ")"
	}
	msg += note
	if f.hint != "" {
		msg += "; " + f.hint
	}
	err := fmt.Errorf("%s: %w", msg, cause)
	if f.kind == nil {
		return err
	}
	return &kindError{kind: f.kind, err: err}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// clean removes credentials from err's message, as redact.Message does for
// the reference ref, and escapes what the registry or the reference put in
// the message (diagnostics from a response body, the reference as written),
// so that neither can forge lines of the output.
func clean(err error, ref string) error {
	// A body's final newline is dropped rather than shown escaped.
	msg := strings.TrimRight(redact.Message(err.Error(), ref), "\r\n")
	return redact.Reword(err, untrusted.Text(msg))
}
