package registry

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// tamper serves manifests with a byte appended (still valid JSON), keeping
// the registry's Docker-Content-Digest header unless dropHeader is set; the
// result is what a rewriting proxy or a corrupt cache would serve.
func tamper(dropHeader bool, served *[]byte) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/manifests/") {
				next.ServeHTTP(w, req)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, req)
			body := append(rec.Body.Bytes(), '\n')
			*served = body
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			if dropHeader {
				w.Header().Del("Docker-Content-Digest")
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	}
}

func sha256Of(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

func TestResolveTamperedTag(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.push("acme/app:v1", labeledImage(t, ""))
	var served []byte
	reg.intercept(tamper(false, &served))
	ref := reg.ref("acme/app:v1")

	_, err := resolve(t, ref)
	wantErr(t, err, ErrDigestMismatch, fmt.Sprintf(
		`resolving %q: registry %q served a manifest that does not match its digest: `+
			`the manifest served for "v1" hashes to %s, but the Docker-Content-Digest header is %s`,
		ref, reg.host, sha256Of(served), digest))
	if n := reg.manifestRequests.Load(); n != 1 {
		t.Errorf("made %d manifest requests, want 1: a mismatch is not retried", n)
	}
}

func TestResolveTamperedDigest(t *testing.T) {
	for _, dropHeader := range []bool{false, true} {
		t.Run(fmt.Sprintf("dropHeader=%v", dropHeader), func(t *testing.T) {
			reg := newTestRegistry(t)
			digest := reg.push("acme/app:v1", labeledImage(t, ""))
			var served []byte
			reg.intercept(tamper(dropHeader, &served))
			ref := reg.ref("acme/app@" + digest.String())

			_, err := resolve(t, ref)
			wantErr(t, err, ErrDigestMismatch, fmt.Sprintf(
				`resolving %q: registry %q served a manifest that does not match its digest: `+
					`the manifest served for %q hashes to %s, but the requested digest is %s`,
				ref, reg.host, digest, sha256Of(served), digest))
		})
	}
}

// Without a header to contradict them, the served bytes define the digest:
// it is what a client pulling by tag now would get and verify.
func TestResolveDigestIsHashOfServedBytes(t *testing.T) {
	reg := newTestRegistry(t)
	pushed := reg.push("acme/app:v1", labeledImage(t, ""))
	var served []byte
	reg.intercept(tamper(true, &served))

	got, err := resolve(t, reg.ref("acme/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != sha256Of(served) || got.Digest == pushed.String() {
		t.Errorf("Digest = %s, want the hash of the served bytes %s", got.Digest, sha256Of(served))
	}
}

func TestManifestIdentifier(t *testing.T) {
	for _, tc := range []struct {
		path, want string
		ok         bool
	}{
		{"/v2/acme/app/manifests/v1", "v1", true},
		{"/v2/a/b/c/manifests/sha256:abc", "sha256:abc", true},
		{"/v2/manifests/manifests/v1", "v1", true},
		{"/v2/", "", false},
		{"/v2/acme/app/blobs/sha256:abc", "", false},
		{"/v2/acme/app/manifests/", "", false},
		{"/token/manifests/v1", "", false},
	} {
		got, ok := manifestIdentifier(tc.path)
		if got != tc.want || ok != tc.ok {
			t.Errorf("manifestIdentifier(%q) = %q, %v; want %q, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}
