package registry

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// pushTags tags one image n times in repo, "t0000" to "t<n-1>", plus extra.
func pushTags(t *testing.T, reg *testRegistry, repo string, n int, extra ...string) []string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.ref(repo + ":seed"))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	tags := []string{"seed"}
	for i := range n {
		tags = append(tags, fmt.Sprintf("t%04d", i))
	}
	tags = append(tags, extra...)
	pusher, err := remote.NewPusher()
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags[1:] {
		if err := remote.Tag(ref.Context().Tag(tag), img, remote.Reuse(pusher)); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(tags)
	return tags
}

// withLinks makes the registry paginate as the distribution registry does:
// a full page carries a Link header to the page after its last tag.
func withLinks(link func(repo, last string, n int) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if !strings.HasSuffix(req.URL.Path, "/tags/list") {
				next.ServeHTTP(w, req)
				return
			}
			rec := &recorder{header: http.Header{}}
			next.ServeHTTP(rec, req)
			var n int
			fmt.Sscan(req.URL.Query().Get("n"), &n)
			var page struct{ Tags []string }
			if err := jsonUnmarshal(rec.body.Bytes(), &page); err == nil && n > 0 && len(page.Tags) == n {
				w.Header().Set("Link", link(strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, "/v2/"), "/tags/list"), page.Tags[n-1], n))
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(rec.status)
			w.Write(rec.body.Bytes())
		})
	}
}

func listTags(t *testing.T, reg *testRegistry, repo string, opts ...Option) ([]string, error) {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return NewClient(fast(opts...)...).Tags(ctx, reg.ref(repo))
}

func TestTagsFollowsLinkHeaders(t *testing.T) {
	reg := newTestRegistry(t)
	want := pushTags(t, reg, "acme/many", 2500)
	var pages atomic.Int64
	reg.intercept(func(next http.Handler) http.Handler {
		linked := withLinks(func(repo, last string, n int) string {
			return fmt.Sprintf(`</v2/%s/tags/list?n=%d&last=%s>; rel="next"`, repo, n, url.QueryEscape(last))
		})(next)
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.HasSuffix(req.URL.Path, "/tags/list") {
				pages.Add(1)
			}
			linked.ServeHTTP(w, req)
		})
	})
	got, err := listTags(t, reg, "acme/many")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d tags (%s ... %s), want %d", len(got), got[0], got[len(got)-1], len(want))
	}
	if n := pages.Load(); n != 3 {
		t.Errorf("asked for %d pages, want 3 of 1000", n)
	}
}

func TestTagsAsksPastAFullPageWithoutLink(t *testing.T) {
	// go-containerregistry's registry honours n and last but sends no Link.
	reg := newTestRegistry(t)
	want := pushTags(t, reg, "acme/many", 2000, "v1.0.0")
	var queries []string
	reg.intercept(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.HasSuffix(req.URL.Path, "/tags/list") {
				queries = append(queries, req.URL.RawQuery)
			}
			next.ServeHTTP(w, req)
		})
	})
	got, err := listTags(t, reg, "acme/many")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d tags, want %d", len(got), len(want))
	}
	wantQueries := []string{"n=1000", "last=t0998&n=1000", "last=t1998&n=1000"}
	if !slices.Equal(queries, wantQueries) {
		t.Errorf("queries = %q, want %q", queries, wantQueries)
	}
}

func TestTagsRefusesALinkToAnotherHost(t *testing.T) {
	reg := newTestRegistry(t)
	pushTags(t, reg, "acme/many", 1000)
	reg.intercept(withLinks(func(repo, last string, n int) string {
		return `<http://169.254.169.254/latest/meta-data>; rel="next"`
	}))
	_, err := listTags(t, reg, "acme/many")
	want := fmt.Sprintf(`listing the tags of %q: the registry's Link header sends the next page of tags to http://169.254.169.254, not to the registry %s`, reg.ref("acme/many"), reg.host)
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got: %v\nwant: %s", err, want)
	}
}

func TestTagsOfAMissingRepository(t *testing.T) {
	reg := newTestRegistry(t)
	_, err := listTags(t, reg, "acme/nope")
	wantErr(t, err, ErrNotFound, fmt.Sprintf(`listing the tags of %q: repository %q does not exist (or is not visible with the credentials used): GET http://%s/v2/acme/nope/tags/list?n=1000: NAME_UNKNOWN: Unknown name`, reg.ref("acme/nope"), reg.ref("acme/nope"), reg.host))
}

func TestTagsResumesAfterAFailedPage(t *testing.T) {
	reg := newTestRegistry(t)
	want := pushTags(t, reg, "acme/many", 1500)
	var lists atomic.Int64
	reg.intercept(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.HasSuffix(req.URL.Path, "/tags/list") && lists.Add(1) == 2 {
				http.Error(w, "flaky", http.StatusBadGateway)
				return
			}
			next.ServeHTTP(w, req)
		})
	})
	got, err := listTags(t, reg, "acme/many")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %d tags, want %d", len(got), len(want))
	}
	if n := lists.Load(); n != 3 {
		t.Errorf("asked %d times, want 3: page 1, page 2 failing, page 2 again", n)
	}
}

func TestNextLink(t *testing.T) {
	base, _ := url.Parse("https://r.example.com/v2/a/tags/list?n=10")
	tests := []struct {
		headers []string
		want    string
		err     string
	}{
		{nil, "", ""},
		{[]string{`</v2/a/tags/list?n=10&last=b>; rel="next"`}, "https://r.example.com/v2/a/tags/list?n=10&last=b", ""},
		{[]string{`<https://r.example.com/v2/a/tags/list?last=b,c>; rel=next`}, "https://r.example.com/v2/a/tags/list?last=b,c", ""},
		{[]string{`</first>; rel="first", </next>; rel="prev next"`}, "https://r.example.com/next", ""},
		{[]string{`</prev>; rel="prev"`, `</next>; title="x"; REL="Next"`}, "https://r.example.com/next", ""},
		{[]string{`</prev>; rel="prev"`}, "", ""},
		{[]string{`garbage`}, "", ""},
		{[]string{`<http://r.example.com/x>; rel="next"`}, "", "the registry's Link header sends the next page of tags to http://r.example.com, not to the registry r.example.com"},
		{[]string{`<https://evil.example.com/x>; rel="next"`}, "", "the registry's Link header sends the next page of tags to https://evil.example.com, not to the registry r.example.com"},
	}
	for _, tt := range tests {
		u, err := nextLink(tt.headers, base)
		got := ""
		if u != nil {
			got = u.String()
		}
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.err {
			t.Errorf("nextLink(%q) = %q, %q; want %q, %q", tt.headers, got, gotErr, tt.want, tt.err)
		}
	}
}
