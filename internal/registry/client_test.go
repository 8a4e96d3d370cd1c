package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// recorder buffers what a handler writes.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// A client pings each registry once, however many images it resolves, and
// without WithRevision reads no image config.
func TestClientPingsOnceAndReadsOnlyManifests(t *testing.T) {
	reg := newTestRegistry(t)
	var refs []string
	for i := range 12 {
		ref := fmt.Sprintf("acme/app%d:v1", i)
		reg.push(ref, labeledImage(t, "abc"))
		refs = append(refs, reg.ref(ref))
	}
	var pings, blobs atomic.Int64
	reg.intercept(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			switch {
			case req.URL.Path == "/v2/":
				pings.Add(1)
			case strings.Contains(req.URL.Path, "/blobs/"):
				blobs.Add(1)
			}
			next.ServeHTTP(w, req)
		})
	})
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	c := NewClient(fast(WithRevision(false))...)
	var wg sync.WaitGroup
	errs := make([]error, len(refs))
	imgs := make([]Image, len(refs))
	for i, ref := range refs {
		wg.Go(func() { imgs[i], errs[i] = c.Resolve(context.Background(), ref) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || imgs[i].Revision != "" || imgs[i].Digest == "" {
			t.Errorf("%s: %+v, %v", refs[i], imgs[i], err)
		}
	}
	if n := pings.Load(); n != 1 {
		t.Errorf("pinged %d times, want 1", n)
	}
	if n := blobs.Load(); n != 0 {
		t.Errorf("read %d blobs, want none", n)
	}
	if n := reg.manifestRequests.Load(); n != 12 {
		t.Errorf("made %d manifest requests, want 12", n)
	}
}

// retryAfterManifests answers the first n manifest GETs with status and a
// Retry-After header.
func retryAfterManifests(n int64, status int, after string) func(http.Handler) http.Handler {
	var seen atomic.Int64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/manifests/") && seen.Add(1) <= n {
				w.Header().Set("Retry-After", after)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprint(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
}

func TestResolveHonoursRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		after  string
	}{
		{"429 in seconds", http.StatusTooManyRequests, "7"},
		{"503 as a date", http.StatusServiceUnavailable, time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := newTestRegistry(t)
			digest := reg.push("acme/app:v1", labeledImage(t, ""))
			reg.intercept(retryAfterManifests(2, tt.status, tt.after))
			var waits []time.Duration
			record := func(o *options) {
				o.sleep = func(ctx context.Context, d time.Duration) error {
					waits = append(waits, d)
					return nil
				}
			}
			got, err := resolve(t, reg.ref("acme/app:v1"), record)
			if err != nil || got.Digest != digest.String() {
				t.Fatalf("Resolve = %+v, %v", got, err)
			}
			if len(waits) != 2 {
				t.Fatalf("waited %d times, want 2", len(waits))
			}
			for _, w := range waits {
				// The backoff is milliseconds; the registry asked for more.
				if w < 5*time.Second || w > 31*time.Second {
					t.Errorf("waited %s, want what Retry-After %q asked", w, tt.after)
				}
			}
		})
	}
}

func TestResolveDoesNotWaitForALongRetryAfter(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(retryAfterManifests(1000, http.StatusTooManyRequests, "3600"))
	slept := false
	record := func(o *options) {
		o.sleep = func(ctx context.Context, d time.Duration) error { slept = true; return nil }
	}
	ref := reg.ref("acme/app:v1")
	_, err := resolve(t, ref, record)
	wantErr(t, err, ErrRateLimited, fmt.Sprintf(
		`resolving %q: registry %q is rate limiting requests (HTTP 429 Too Many Requests), gave up after 1 attempt `+
			`because it asked to wait 1h0m0s (Retry-After), longer than the 1m0s digestpin waits; wait before trying again, or authenticate for a higher limit: `+
			`GET http://%s/v2/acme/app/manifests/v1: TOOMANYREQUESTS: slow down`, ref, reg.host, reg.host))
	if slept {
		t.Error("waited although the registry asked for an hour")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{" 120 ", 2 * time.Minute, true},
		{"Fri, 02 Jan 2026 03:05:05 GMT", time.Minute, true},
		{"Fri, 02 Jan 2026 03:00:00 GMT", 0, true}, // in the past
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
		{"99999999999", 0, false},
	} {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %s, %t; want %s, %t", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
