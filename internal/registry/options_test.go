package registry

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

type staticKeychain struct{ user, password string }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.password}, nil
}

// basicAuth lets requests through only with the given credentials.
func basicAuth(user, password string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if u, p, ok := req.BasicAuth(); ok && u == user && p == password {
				next.ServeHTTP(w, req)
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
		})
	}
}

func TestWithKeychain(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.push("acme/app:v1", labeledImage(t, "abc"))
	reg.intercept(basicAuth("robot", secret))

	got, err := resolve(t, reg.ref("acme/app:v1"), WithKeychain(staticKeychain{"robot", secret}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != digest.String() || got.Revision != "abc" {
		t.Errorf("Resolve = %+v, want digest %s and revision abc", got, digest)
	}
}

func TestWithKeychainRejected(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(basicAuth("robot", "other"))

	_, err := resolve(t, reg.ref("acme/app:v1"), WithKeychain(staticKeychain{"robot", secret}))
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("errors.Is(%v, ErrUnauthorized) = false", err)
	}
	if msg := err.Error(); containsAny(msg, secret, "cm9ib3Q6") { // base64("robot:")
		t.Errorf("error leaks the credentials: %s", msg)
	}
}

func TestWithKeychainNilIsAnonymous(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(basicAuth("robot", secret))

	_, err := resolve(t, reg.ref("acme/app:v1"), WithKeychain(nil))
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("errors.Is(%v, ErrUnauthorized) = false", err)
	}
}

type countingTransport struct {
	n     atomic.Int64
	inner http.RoundTripper
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.inner.RoundTrip(req)
}

func TestWithTransport(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(nil)
	tr := &countingTransport{inner: http.DefaultTransport}

	if _, err := resolve(t, reg.ref("acme/app:v1"), WithTransport(tr)); err != nil {
		t.Fatal(err)
	}
	if tr.n.Load() < reg.requests.Load() || reg.requests.Load() == 0 {
		t.Errorf("transport saw %d requests, registry %d: the transport was not used", tr.n.Load(), reg.requests.Load())
	}
}

func TestDefaults(t *testing.T) {
	o := makeOptions(nil)
	if o.insecure || o.keychain != authn.DefaultKeychain || o.retries != 3 || o.backoff != defaultBackoff || o.timeout != defaultTimeout {
		t.Errorf("defaults = %+v", o)
	}
	o = makeOptions([]Option{WithRetries(-1), WithBackoff(-1), WithTimeout(-1), WithTransport(nil)})
	if o.retries != 0 || o.backoff != 0 || o.timeout != 0 || o.transport == nil {
		t.Errorf("negative options not clamped: %+v", o)
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
