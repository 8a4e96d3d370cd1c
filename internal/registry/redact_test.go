package registry

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const secret = "s3cr3t-t0ken"

func TestResolveReferenceWithCredentials(t *testing.T) {
	for _, tc := range []struct{ ref, msg string }{
		{
			ref: "robot:" + secret + "@ghcr.io/acme/app:v1",
			msg: `parsing image reference "xxxxx@ghcr.io/acme/app:v1": could not parse reference: xxxxx@ghcr.io/acme/app:v1`,
		},
		{
			ref: "https://robot:" + secret + "@ghcr.io/acme/app:v1",
			msg: `parsing image reference "https://xxxxx@ghcr.io/acme/app:v1": image reference must not contain a URL scheme (http:// or https://): https://xxxxx@ghcr.io/acme/app:v1; to connect to a registry over plain HTTP, use name.Insecure`,
		},
		{
			ref: "robot:" + secret + "@ghcr.io/acme/app@sha256:" + strings.Repeat("a", 64),
			msg: `parsing image reference "xxxxx@ghcr.io/acme/app@sha256:` + strings.Repeat("a", 64) + `": could not parse reference: xxxxx@ghcr.io/acme/app@sha256:` + strings.Repeat("a", 64),
		},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			_, err := resolve(t, tc.ref)
			wantErr(t, err, ErrInvalidReference, tc.msg)
		})
	}
}

// A registry may redirect manifests to storage with signed URLs; when that
// storage is unreachable, the error must not carry the signature.
func TestResolveRedirectSecretsRedacted(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedHost := strings.TrimPrefix(closed.URL, "http://")
	closed.Close()

	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.Contains(req.URL.Path, "/manifests/") {
				http.Redirect(w, req, "http://robot:"+secret+"@"+closedHost+"/m?X-Amz-Signature="+secret+"&digest=sha256:1", http.StatusTemporaryRedirect)
				return
			}
			next.ServeHTTP(w, req)
		})
	})
	ref := reg.ref("acme/app:v1")

	_, err := resolve(t, ref, WithRetries(0))
	if err == nil {
		t.Fatal("Resolve succeeded")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error leaks the secret: %s", err)
	}
	prefix := fmt.Sprintf(`resolving %q: cannot connect to registry %q, gave up after 1 attempt: Get "http://xxxxx@%s/m?X-Amz-Signature=xxxxx&digest=sha256%%3A1": dial tcp %s: connect: connection refused`, ref, reg.host, closedHost, closedHost)
	if err.Error() != prefix {
		t.Errorf("error:\n got: %s\nwant: %s", err, prefix)
	}
	if !errors.Is(err, ErrNetwork) {
		t.Errorf("errors.Is(err, ErrNetwork) = false")
	}
}

func TestRedactReference(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct{ in, shown, secret string }{
		{"ghcr.io/acme/app:v1", "ghcr.io/acme/app:v1", ""},
		{"alpine" + digest, "alpine" + digest, ""},
		{"ghcr.io/acme/app:v1" + digest, "ghcr.io/acme/app:v1" + digest, ""},
		{"u:p@ghcr.io/acme/app:v1", "xxxxx@ghcr.io/acme/app:v1", "u:p"},
		{"u:p@ghcr.io/acme/app" + digest, "xxxxx@ghcr.io/acme/app" + digest, "u:p"},
		{"u:p/@x@ghcr.io/acme/app", "xxxxx@ghcr.io/acme/app", "u:p/@x"},
		{"oci://token@ghcr.io/app", "oci://xxxxx@ghcr.io/app", "token"},
		{"u:p@ghcr.io", "xxxxx@ghcr.io", "u:p"},
	} {
		shown, secret := redactReference(tc.in)
		if shown != tc.shown || secret != tc.secret {
			t.Errorf("redactReference(%q) = %q, %q; want %q, %q", tc.in, shown, secret, tc.shown, tc.secret)
		}
	}
}

func TestRedactMessage(t *testing.T) {
	for _, tc := range []struct{ ref, in, want string }{
		{
			ref:  "ghcr.io/acme/app:v1",
			in:   `GET https://ghcr.io/v2/acme/app/manifests/v1: MANIFEST_UNKNOWN: unknown`,
			want: `GET https://ghcr.io/v2/acme/app/manifests/v1: MANIFEST_UNKNOWN: unknown`,
		},
		{
			ref:  "ghcr.io/acme/app:v1",
			in:   `Get "https://u:pw@storage.example/blob?sig=abc&scope=repository%3Aacme%2Fapp%3Apull": EOF`,
			want: `Get "https://xxxxx@storage.example/blob?scope=repository%3Aacme%2Fapp%3Apull&sig=xxxxx": EOF`,
		},
		{
			ref:  "ghcr.io/acme/app:v1",
			in:   `GET https://auth.example/token?access_token=abc: denied`,
			want: `GET https://auth.example/token?access_token=xxxxx: denied`,
		},
		{
			ref:  "ghcr.io/acme/app:v1",
			in:   "no token in bearer response:\n{\"refresh_token\": \"abc\", \"expires_in\": 300}",
			want: "no token in bearer response:\n{\"refresh_token\": \"xxxxx\", \"expires_in\": 300}",
		},
		{
			ref:  "ghcr.io/acme/app:v1",
			in:   "request had Authorization: Bearer abc.def\nnext line",
			want: "request had Authorization: xxxxx\nnext line",
		},
		{
			ref:  "robot:hunter22@ghcr.io/acme/app:v1",
			in:   `registries must be valid RFC 3986 URI authorities: robot:hunter22@ghcr.io; tag "hunter22"`,
			want: `registries must be valid RFC 3986 URI authorities: xxxxx@ghcr.io; tag "xxxxx"`,
		},
	} {
		if got := redactMessage(tc.in, tc.ref); got != tc.want {
			t.Errorf("redactMessage(%q):\n got: %s\nwant: %s", tc.in, got, tc.want)
		}
	}
}
