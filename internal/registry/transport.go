package registry

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// waitKey is the context key of the *wait an attempt records Retry-After in.
type waitKey struct{}

// wait is the longest Retry-After the registry asked for during one attempt.
type wait struct {
	mu sync.Mutex
	d  time.Duration
}

func (w *wait) set(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = max(w.d, d)
}

func (w *wait) get() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.d
}

// waitRecorder notes the Retry-After of 429 and 503 answers in the
// attempt's *wait. go-containerregistry's errors do not carry response
// headers, so this is the only place the header can be seen.
type waitRecorder struct {
	inner http.RoundTripper
}

func (t *waitRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return resp, err
	}
	if w, ok := req.Context().Value(waitKey{}).(*wait); ok {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			w.set(d)
		}
	}
	return resp, nil
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110 §10.2.3).
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// pingCache answers the authentication handshake's "GET /v2/" once per
// registry. go-containerregistry pings before each repository it talks to;
// the answer (200, or 401 with the challenge naming the token service) is
// the registry's, the same for every repository, so asking again would
// only double the requests of a run that resolves many images. Failures
// and other answers are not kept.
type pingCache struct {
	inner http.RoundTripper
	mu    sync.Mutex
	hosts map[string]*pingEntry
}

type pingEntry struct {
	mu     sync.Mutex
	status int
	proto  string
	header http.Header
	body   []byte
	ok     bool
}

// maxPingBody bounds what is kept of a ping's answer; registries send a few
// bytes of JSON.
const maxPingBody = 64 << 10

func (c *pingCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.URL.Path != "/v2/" || req.URL.RawQuery != "" || req.Header.Get("Authorization") != "" {
		return c.inner.RoundTrip(req)
	}
	key := req.URL.Scheme + "://" + req.URL.Host
	c.mu.Lock()
	if c.hosts == nil {
		c.hosts = map[string]*pingEntry{}
	}
	e := c.hosts[key]
	if e == nil {
		e = &pingEntry{}
		c.hosts[key] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ok {
		return e.response(req), nil
	}
	resp, err := c.inner.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized) {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPingBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxPingBody {
		body = body[:maxPingBody] // go-containerregistry reads none of it
	}
	e.status, e.proto, e.header, e.body, e.ok = resp.StatusCode, resp.Proto, resp.Header.Clone(), body, true
	return e.response(req), nil
}

func (e *pingEntry) response(req *http.Request) *http.Response {
	return &http.Response{
		Status:        strconv.Itoa(e.status) + " " + http.StatusText(e.status),
		StatusCode:    e.status,
		Proto:         e.proto,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        e.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(e.body)),
		ContentLength: int64(len(e.body)),
		Request:       req,
	}
}
