package pin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/digestpin/digestpin/internal/promote"
	"github.com/digestpin/digestpin/internal/registry"
)

// A real registry that holds repos, answers manifests slowly and records
// how many manifest requests it served at once.
func slowRegistry(t *testing.T, repos int) (host string, peak *atomic.Int64, served *atomic.Int64) {
	t.Helper()
	handler := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	var inFlight atomic.Int64
	peak, served = &atomic.Int64{}, &atomic.Int64{}
	var slow atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() && strings.Contains(r.URL.Path, "/manifests/") {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			served.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range repos {
		ref, err := name.ParseReference(fmt.Sprintf("%s/acme/app%02d:v1", host, i))
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	slow.Store(true)
	return host, peak, served
}

func TestResolverBoundsRequestsAndResolvesEachImageOnce(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	host, peak, served := slowRegistry(t, 24)
	rules, err := promote.NewRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	res := newResolver(Options{Concurrency: 3, ProgressEvery: time.Hour, Progress: &progress, Registry: []registry.Option{registry.WithInsecure(true)}}, rules)
	ctx := context.Background()
	var jobs []*job
	for i := range 24 {
		// Asking twice for an image gives the one job.
		j := res.get(ctx, fmt.Sprintf("%s/acme/app%02d", host, i), "v1")
		if again := res.get(ctx, fmt.Sprintf("%s/acme/app%02d", host, i), "v1"); again != j {
			t.Fatal("one image, two jobs")
		}
		jobs = append(jobs, j)
	}
	if err := res.wait(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	for i, j := range jobs {
		if j.err != nil || !strings.HasPrefix(j.digest, "sha256:") || j.tag != "v1" {
			t.Errorf("job %d: %+v", i, j)
		}
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("at most %d manifest requests at once, want 3 (and some concurrency)", p)
	}
	if n := served.Load(); n != 24 {
		t.Errorf("served %d manifest requests, want 24", n)
	}
	if progress.String() != "resolved 24/24\n" {
		t.Errorf("progress = %q", progress.String())
	}

	// An image without a tag is latest.
	j := res.get(ctx, host+"/acme/app00", "")
	if err := res.wait(ctx, []*job{j}); err != nil {
		t.Fatal(err)
	}
	if j.tag != "latest" || j == jobs[0] || j.err == nil || !strings.Contains(j.err.Error(), `tag "latest" does not exist`) {
		t.Errorf("untagged job: tag %q, %v", j.tag, j.err)
	}
}
