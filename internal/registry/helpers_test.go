package registry

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is an in-memory registry over plain HTTP whose handler can be
// swapped per test to inject failures, and which counts what it is asked.
type testRegistry struct {
	t    *testing.T
	srv  *httptest.Server
	host string // "127.0.0.1:<port>"
	real http.Handler
	wrap atomic.Pointer[func(http.Handler) http.Handler]

	requests         atomic.Int64 // every request that reached the handler
	manifestRequests atomic.Int64 // GET /v2/.../manifests/...
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{t: t, real: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/manifests/") {
			r.manifestRequests.Add(1)
		}
		h := r.real
		if wrap := r.wrap.Load(); wrap != nil {
			h = (*wrap)(h)
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

// intercept puts wrap in front of the registry for requests made from now
// on, after the test has pushed what it needs; counters restart at zero.
// A nil wrap just restarts the counters.
func (r *testRegistry) intercept(wrap func(http.Handler) http.Handler) {
	if wrap == nil {
		wrap = func(next http.Handler) http.Handler { return next }
	}
	r.wrap.Store(&wrap)
	r.requests.Store(0)
	r.manifestRequests.Store(0)
}

func (r *testRegistry) ref(s string) string { return r.host + "/" + s }

func (r *testRegistry) push(ref string, img v1.Image) v1.Hash {
	r.t.Helper()
	tag, err := name.ParseReference(r.ref(ref))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		r.t.Fatal(err)
	}
	return mustDigest(r.t, img)
}

func (r *testRegistry) pushIndex(ref string, idx v1.ImageIndex) v1.Hash {
	r.t.Helper()
	tag, err := name.ParseReference(r.ref(ref))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		r.t.Fatal(err)
	}
	return mustDigest(r.t, idx)
}

func mustDigest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// labeledImage is a random image whose config carries revision as the
// org.opencontainers.image.revision label ("" for no labels).
func labeledImage(t *testing.T, revision string) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if revision == "" {
		return img
	}
	img, err = mutate.Config(img, v1.Config{Labels: map[string]string{revisionKey: revision}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// fast are options that keep failure tests quick: millisecond backoff.
func fast(opts ...Option) []Option {
	return append([]Option{WithInsecure(true), WithBackoff(time.Millisecond)}, opts...)
}

func resolve(t *testing.T, ref string, opts ...Option) (Image, error) {
	t.Helper()
	// authn.DefaultKeychain must not pick up the credentials of whoever runs
	// the tests.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Resolve(ctx, ref, fast(opts...)...)
}

// failManifests answers GETs of manifests with status and body for the first
// n of them (n < 0: all of them), and passes everything else through.
func failManifests(n int64, status int, body string) func(http.Handler) http.Handler {
	var seen atomic.Int64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/manifests/") {
				if k := seen.Add(1); n < 0 || k <= n {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(status)
					io.WriteString(w, body)
					return
				}
			}
			next.ServeHTTP(w, req)
		})
	}
}

var allKinds = []error{
	ErrInvalidReference, ErrUnauthorized, ErrNotFound, ErrRateLimited,
	ErrUnavailable, ErrNetwork, ErrDigestMismatch,
}

// wantErr checks err's exact message and that it matches kind, and no
// other kind, with errors.Is.
func wantErr(t *testing.T, err error, kind error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", msg)
	}
	for _, k := range allKinds {
		if got, want := errors.Is(err, k), k == kind; got != want {
			t.Errorf("errors.Is(err, %q) = %v, want %v", k, got, want)
		}
	}
	if err.Error() != msg {
		t.Errorf("error message:\n got: %s\nwant: %s", err, msg)
	}
}
