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
