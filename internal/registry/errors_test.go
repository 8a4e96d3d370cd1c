package registry

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestResolveInvalidReference(t *testing.T) {
	for _, tc := range []struct{ ref, msg string }{
		{ref: "", msg: `parsing image reference "": could not parse reference: `},
		{ref: "ghcr.io/Acme/App:v1", msg: `parsing image reference "ghcr.io/Acme/App:v1": could not parse reference: ghcr.io/Acme/App:v1`},
		{ref: "ghcr.io/acme/app@sha256:abc", msg: `parsing image reference "ghcr.io/acme/app@sha256:abc": could not parse reference: ghcr.io/acme/app@sha256:abc`},
		{ref: "https://ghcr.io/acme/app:v1", msg: `parsing image reference "https://ghcr.io/acme/app:v1": image reference must not contain a URL scheme (http:// or https://): https://ghcr.io/acme/app:v1; to connect to a registry over plain HTTP, use name.Insecure`},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			_, err := resolve(t, tc.ref)
			wantErr(t, err, ErrInvalidReference, tc.msg)
		})
	}
}

func TestResolveTagNotFound(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(nil)
	ref := reg.ref("acme/app:v9")

	_, err := resolve(t, ref)
	wantErr(t, err, ErrNotFound, fmt.Sprintf(
		`resolving %q: tag "v9" does not exist in repository %q: GET http://%s/v2/acme/app/manifests/v9: MANIFEST_UNKNOWN: Unknown manifest`,
		ref, reg.ref("acme/app"), reg.host))
	if n := reg.manifestRequests.Load(); n != 1 {
		t.Errorf("made %d manifest requests, want 1: not found is not retried", n)
	}
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
		t.Errorf("errors.As(err, *transport.Error) does not give the 404: %#v", terr)
	}
}

func TestResolveDigestNotFound(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	missing := "sha256:" + strings.Repeat("0", 64)
	ref := reg.ref("acme/app@" + missing)

	_, err := resolve(t, ref)
	wantErr(t, err, ErrNotFound, fmt.Sprintf(
		`resolving %q: digest %s does not exist in repository %q: GET http://%s/v2/acme/app/manifests/%s: MANIFEST_UNKNOWN: Unknown manifest`,
		ref, missing, reg.ref("acme/app"), reg.host, missing))
}

func TestResolveRepositoryNotFound(t *testing.T) {
	reg := newTestRegistry(t)
	ref := reg.ref("acme/nothing:v1")

	_, err := resolve(t, ref)
	wantErr(t, err, ErrNotFound, fmt.Sprintf(
		`resolving %q: repository %q does not exist (or is not visible with the credentials used): GET http://%s/v2/acme/nothing/manifests/v1: NAME_UNKNOWN: Unknown name`,
		ref, reg.ref("acme/nothing"), reg.host))
}

// requireAuth answers every request with status unless it carries
// credentials, which the tests never have.
func requireAuth(status int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Header.Get("Authorization") != "" {
				next.ServeHTTP(w, req)
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			code := "UNAUTHORIZED"
			if status == http.StatusForbidden {
				code = "DENIED"
			}
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"no entry"}]}`, code)
		})
	}
}

func TestResolveUnauthorized(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(requireAuth(http.StatusUnauthorized))
	ref := reg.ref("acme/app:v1")

	_, err := resolve(t, ref, WithRetries(5))
	wantErr(t, err, ErrUnauthorized, fmt.Sprintf(
		`resolving %q: registry %q requires authentication for repository %q: credentials were missing or rejected (HTTP 401 Unauthorized); `+
			`provide credentials with "docker login %s" or a Docker credential helper for %s (read from $DOCKER_CONFIG/config.json, default ~/.docker/config.json): `+
			`GET http://%s/v2/acme/app/manifests/v1: UNAUTHORIZED: no entry`,
		ref, reg.host, reg.ref("acme/app"), reg.host, reg.host, reg.host))
	// The ping that finds the challenge, then the manifest; no retries.
	if n := reg.requests.Load(); n != 2 {
		t.Errorf("registry saw %d requests, want 2: unauthorized is not retried", n)
	}
}

func TestResolveForbidden(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.Contains(req.URL.Path, "/manifests/") {
				requireAuth(http.StatusForbidden)(next).ServeHTTP(w, req)
				return
			}
			next.ServeHTTP(w, req)
		})
	})
	ref := reg.ref("acme/app:v1")

	_, err := resolve(t, ref, WithRetries(5))
	wantErr(t, err, ErrUnauthorized, fmt.Sprintf(
		`resolving %q: registry %q denied access to repository %q: the credentials were rejected or lack permission to pull (HTTP 403 Forbidden); `+
			`provide credentials with "docker login %s" or a Docker credential helper for %s (read from $DOCKER_CONFIG/config.json, default ~/.docker/config.json): `+
			`GET http://%s/v2/acme/app/manifests/v1: DENIED: no entry`,
		ref, reg.host, reg.ref("acme/app"), reg.host, reg.host, reg.host))
	if n := reg.manifestRequests.Load(); n != 1 {
		t.Errorf("made %d manifest requests, want 1: forbidden is not retried", n)
	}
}

func TestResolveRateLimited(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(failManifests(-1, http.StatusTooManyRequests,
		`{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`))
	ref := reg.ref("acme/app:v1")

	_, err := resolve(t, ref, WithRetries(2))
	wantErr(t, err, ErrRateLimited, fmt.Sprintf(
		`resolving %q: registry %q is rate limiting requests (HTTP 429 Too Many Requests), gave up after 3 attempts; wait before trying again, or authenticate for a higher limit: `+
			`GET http://%s/v2/acme/app/manifests/v1: TOOMANYREQUESTS: slow down`,
		ref, reg.host, reg.host))
	if n := reg.manifestRequests.Load(); n != 3 {
		t.Errorf("made %d manifest requests, want 3", n)
	}
}

func TestResolveUnavailable(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(failManifests(-1, http.StatusServiceUnavailable, "upstream down\n"))
	ref := reg.ref("acme/app:v1")

	_, err := resolve(t, ref) // default retries: 4 attempts
	wantErr(t, err, ErrUnavailable, fmt.Sprintf(
		`resolving %q: registry %q is unavailable (HTTP 503 Service Unavailable), gave up after 4 attempts: `+
			`GET http://%s/v2/acme/app/manifests/v1: unexpected status code 503 Service Unavailable: upstream down`,
		ref, reg.host, reg.host))
	if n := reg.manifestRequests.Load(); n != 4 {
		t.Errorf("made %d manifest requests, want 4", n)
	}
}

func TestResolveConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	ref := host + "/acme/app:v1"

	_, err := resolve(t, ref, WithRetries(1))
	if err == nil {
		t.Fatal("Resolve succeeded against a closed server")
	}
	prefix := fmt.Sprintf(`resolving %q: cannot connect to registry %q, gave up after 2 attempts: `, ref, host)
	if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error = %q, want prefix %q and the cause", err, prefix)
	}
	wantErr(t, err, ErrNetwork, err.Error())
}

func TestResolveIncompleteImage(t *testing.T) {
	reg := newTestRegistry(t)
	img := labeledImage(t, "abc")
	reg.push("acme/app:v1", img)
	config, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	reg.intercept(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.Contains(req.URL.Path, "/blobs/") {
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `{"errors":[{"code":"BLOB_UNKNOWN","message":"Unknown blob"}]}`)
				return
			}
			next.ServeHTTP(w, req)
		})
	})
	ref := reg.ref("acme/app:v1")

	_, err = resolve(t, ref)
	// Not ErrNotFound: the tag exists, the image behind it is broken.
	wantErr(t, err, nil, fmt.Sprintf(
		`resolving %q: repository %q is missing content the image refers to: reading image config %s: `+
			`GET http://%s/v2/acme/app/blobs/%s: BLOB_UNKNOWN: Unknown blob`,
		ref, reg.ref("acme/app"), config, reg.host, config))
}
