package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/digestpin/digestpin/internal/retry"
)

const internalError = `{"errors":[{"code":"UNKNOWN","message":"boom"}]}`

func TestResolveRetriesServerErrors(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.push("acme/app:v1", labeledImage(t, "abc"))
	reg.intercept(failManifests(2, http.StatusInternalServerError, internalError))

	got, err := resolve(t, reg.ref("acme/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != digest.String() || got.Revision != "abc" {
		t.Errorf("Resolve = %+v, want digest %s and revision abc", got, digest)
	}
	if n := reg.manifestRequests.Load(); n != 3 {
		t.Errorf("made %d manifest requests, want 3: two failures, then success", n)
	}
}

func TestResolveGivesUpOnServerErrors(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(failManifests(-1, http.StatusInternalServerError, internalError))
	ref := reg.ref("acme/app:v1")

	_, err := resolve(t, ref, WithRetries(2))
	wantErr(t, err, ErrUnavailable, fmt.Sprintf(
		`resolving %q: registry %q is unavailable (HTTP 500 Internal Server Error), gave up after 3 attempts: `+
			`GET http://%s/v2/acme/app/manifests/v1: UNKNOWN: boom`,
		ref, reg.host, reg.host))
	if n := reg.manifestRequests.Load(); n != 3 {
		t.Errorf("made %d manifest requests, want 3", n)
	}
}

func TestResolveWithoutRetries(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(failManifests(-1, http.StatusBadGateway, ""))
	ref := reg.ref("acme/app:v1")

	_, err := resolve(t, ref, WithRetries(0))
	wantErr(t, err, ErrUnavailable, fmt.Sprintf(
		`resolving %q: registry %q is unavailable (HTTP 502 Bad Gateway), gave up after 1 attempt: `+
			`GET http://%s/v2/acme/app/manifests/v1: unexpected status code 502 Bad Gateway`,
		ref, reg.host, reg.host))
	if n := reg.manifestRequests.Load(); n != 1 {
		t.Errorf("made %d manifest requests, want 1", n)
	}
}

func TestResolveAttemptTimeout(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	// The registry hangs on manifests until the client gives up.
	reg.intercept(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method == http.MethodGet && req.URL.Path == "/v2/acme/app/manifests/v1" {
				<-req.Context().Done()
				return
			}
			next.ServeHTTP(w, req)
		})
	})
	ref := reg.ref("acme/app:v1")

	_, err := resolve(t, ref, WithRetries(1), WithTimeout(200*time.Millisecond))
	wantErr(t, err, ErrNetwork, fmt.Sprintf(
		`resolving %q: registry %q did not answer within 200ms, gave up after 2 attempts: `+
			`Get "http://%s/v2/acme/app/manifests/v1": context deadline exceeded`,
		ref, reg.host, reg.host))
	if n := reg.manifestRequests.Load(); n != 2 {
		t.Errorf("made %d manifest requests, want 2", n)
	}
}

func TestResolveCanceledWhileWaitingToRetry(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(failManifests(-1, http.StatusServiceUnavailable, ""))
	ref := reg.ref("acme/app:v1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waited time.Duration
	cancelWhileWaiting := func(o *options) {
		o.sleep = func(ctx context.Context, d time.Duration) error {
			waited = d
			cancel()
			return retry.Sleep(ctx, d)
		}
	}

	_, err := Resolve(ctx, ref, WithInsecure(true), WithBackoff(time.Hour), cancelWhileWaiting)
	msg := fmt.Sprintf(
		`resolving %q: registry %q is unavailable (HTTP 503 Service Unavailable): `+
			`GET http://%s/v2/acme/app/manifests/v1: unexpected status code 503 Service Unavailable; stopped retrying after 1 attempt: context canceled`,
		ref, reg.host, reg.host)
	if err == nil || err.Error() != msg {
		t.Fatalf("error:\n got: %v\nwant: %s", err, msg)
	}
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("error should match both ErrUnavailable and context.Canceled")
	}
	if waited < 30*time.Minute {
		t.Errorf("waited %s before the retry, want about an hour", waited)
	}
}

func TestDelay(t *testing.T) {
	r := &resolver{o: options{backoff: 100 * time.Millisecond}}
	for _, tc := range []struct {
		attempt int
		base    time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{10, maxBackoff},
		{100, maxBackoff},
	} {
		for range 20 {
			if d := r.delay(tc.attempt); d < tc.base/2 || d >= tc.base*3/2 {
				t.Errorf("delay(%d) = %s, want within ±50%% of %s", tc.attempt, d, tc.base)
			}
		}
	}

	// An initial wait above the cap is taken as given, and not doubled.
	r = &resolver{o: options{backoff: time.Minute}}
	for _, tc := range []struct {
		attempt int
		base    time.Duration
	}{
		{1, time.Minute},
		{3, time.Minute},
	} {
		for range 20 {
			if d := r.delay(tc.attempt); d < tc.base/2 || d >= tc.base*3/2 {
				t.Errorf("delay(%d) = %s, want within ±50%% of %s", tc.attempt, d, tc.base)
			}
		}
	}
}
