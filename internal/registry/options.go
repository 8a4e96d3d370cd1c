package registry

import (
	"context"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/digestpin/digestpin/internal/retry"
)

// Option configures Resolve.
type Option func(*options)

type options struct {
	insecure  bool
	keychain  authn.Keychain
	transport http.RoundTripper
	retries   int
	backoff   time.Duration
	timeout   time.Duration
	revision  bool

	// sleep waits between attempts; tests replace it to act at that moment.
	sleep func(context.Context, time.Duration) error
}

const (
	defaultRetries = 3
	defaultBackoff = 500 * time.Millisecond
	defaultTimeout = 30 * time.Second

	// maxBackoff keeps a generous retry budget from turning into minutes of
	// silence in a CI log.
	maxBackoff = 10 * time.Second

	// maxRetryAfter is the longest Retry-After digestpin waits for; a
	// registry asking for more fails the call at once, saying so.
	maxRetryAfter = time.Minute
)

func makeOptions(opts []Option) options {
	o := options{
		keychain:  authn.DefaultKeychain,
		transport: remote.DefaultTransport,
		retries:   defaultRetries,
		backoff:   defaultBackoff,
		timeout:   defaultTimeout,
		revision:  true,
		sleep:     retry.Sleep,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.transport == nil {
		o.transport = remote.DefaultTransport
	}
	if o.keychain == nil {
		o.keychain = authn.NewMultiKeychain() // an empty multi-keychain answers Anonymous
	}
	return o
}

// WithInsecure allows talking to the registry over plain HTTP
// (name.Insecure). TLS certificates are still verified when the registry
// speaks HTTPS.
//
// The default is false: HTTPS only, except for the loopback and private
// addresses go-containerregistry already treats as local.
func WithInsecure(insecure bool) Option {
	return func(o *options) { o.insecure = insecure }
}

// WithKeychain sets where credentials come from. A nil keychain means
// anonymous access.
//
// The default is authn.DefaultKeychain, which reads the Docker config file
// ($DOCKER_CONFIG/config.json, else ~/.docker/config.json) and the credential
// helpers it names, and falls back to anonymous access.
func WithKeychain(keychain authn.Keychain) Option {
	return func(o *options) { o.keychain = keychain }
}

// WithTransport sets the HTTP transport under go-containerregistry's
// authentication. A nil transport means the default.
//
// The default is remote.DefaultTransport.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) { o.transport = t }
}

// WithRetries sets how many times a transient failure (HTTP 429 or 5xx, a
// timeout, a refused or reset connection) is retried; n = 0 disables
// retrying. Authentication failures, missing images and digest mismatches
// are never retried. A registry that answers with a Retry-After header is
// given at least that long before the next attempt, up to a minute; one
// that asks for longer is not retried.
//
// The default is 3, so at most 4 attempts.
func WithRetries(n int) Option {
	return func(o *options) { o.retries = max(n, 0) }
}

// WithBackoff sets the wait before the first retry. Each further retry
// waits twice as long as the one before, up to 10s (or initial, if longer),
// and every wait is randomized by ±50% so that many CI jobs failing together
// do not retry in lockstep.
//
// The default is 500ms.
func WithBackoff(initial time.Duration) Option {
	return func(o *options) { o.backoff = max(initial, 0) }
}

// WithTimeout bounds each attempt, from the first request to the registry
// to the last byte of the image config; a hung registry then counts as a
// transient failure instead of blocking until ctx ends. d <= 0 removes the
// bound, leaving only ctx.
//
// The default is 30s.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = max(d, 0) }
}

// WithRevision sets whether Resolve reads the image's source revision
// label (Image.Revision), which costs a request for the image config. Turn
// it off when the revision is not checked.
//
// The default is true.
func WithRevision(read bool) Option {
	return func(o *options) { o.revision = read }
}
