package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/digestpin/digestpin/internal/redact"
)

const (
	// tagsPageSize is the n asked of the registry per page, as
	// go-containerregistry asks.
	tagsPageSize = 1000
	// maxTagsPages and maxTagsPageBytes bound a listing: a million tags,
	// each page far above what a thousand tags take.
	maxTagsPages     = 1000
	maxTagsPageBytes = 16 << 20
)

// Tags lists every tag of repository repo ("ghcr.io/acme/web", "nginx"),
// in the registry's order, following its pagination: the Link header of
// each page (same scheme and host only), or, from a registry that returns
// a full page without one, the page after the last tag (the
// distribution-spec's "last" parameter), until a page brings nothing new.
// Failures are retried and reported as Resolve's are.
func (c *Client) Tags(ctx context.Context, repo string) ([]string, error) {
	shown, _ := redact.Reference(repo)
	var nameOpts []name.Option
	if c.o.insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	parsed, err := name.NewRepository(repo, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("parsing repository %q: %w", shown, &kindError{kind: ErrInvalidReference, err: clean(err, repo)})
	}
	r := &resolver{input: repo, shown: shown, verb: "listing the tags of", repo: parsed, o: c.o}
	l := &lister{repo: parsed, o: c.o, seen: map[string]bool{}}
	if err := r.run(ctx, l.list); err != nil {
		return nil, err
	}
	return l.tags, nil
}

// lister keeps its place across attempts, so that a page that failed is
// asked for again, not the whole listing.
type lister struct {
	repo   name.Repository
	o      options
	client *http.Client
	next   string // the page to ask for, "" for the first
	pages  int
	tags   []string
	seen   map[string]bool
}

func (l *lister) list(ctx context.Context) error {
	if l.client == nil {
		auth, err := authn.Resolve(ctx, l.o.keychain, l.repo)
		if err != nil {
			return err
		}
		tr, err := transport.NewWithContext(ctx, l.repo.Registry, auth, transport.NewUserAgent(l.o.transport, userAgent), []string{l.repo.Scope(transport.PullScope)})
		if err != nil {
			return err
		}
		l.client = &http.Client{Transport: tr}
	}
	base := url.URL{Scheme: l.repo.Scheme(), Host: l.repo.RegistryStr(), Path: "/v2/" + l.repo.RepositoryStr() + "/tags/list"}
	if l.next == "" {
		first := base
		first.RawQuery = fmt.Sprintf("n=%d", tagsPageSize)
		l.next = first.String()
	}
	for l.next != "" {
		if l.pages == maxTagsPages {
			return &contentError{fmt.Errorf("repository %q lists more than %d pages of tags", l.repo.Name(), maxTagsPages)}
		}
		page, link, err := l.page(ctx, l.next)
		if err != nil {
			return err
		}
		l.pages++
		fresh := 0
		for _, tag := range page {
			if !l.seen[tag] {
				l.seen[tag] = true
				l.tags = append(l.tags, tag)
				fresh++
			}
		}
		switch {
		case link != nil:
			l.next = link.String()
		case len(page) >= tagsPageSize && fresh > 0:
			// A full page and no Link: ask for what follows the last tag.
			after := base
			after.RawQuery = url.Values{"n": {fmt.Sprint(tagsPageSize)}, "last": {page[len(page)-1]}}.Encode()
			l.next = after.String()
		default:
			l.next = ""
		}
		if link != nil && fresh == 0 && len(page) > 0 {
			return &contentError{fmt.Errorf("repository %q: the registry's next page of tags repeats the previous ones", l.repo.Name())}
		}
	}
	return nil
}

// page fetches one page of tags and the next page's URL from its Link
// header, if any.
func (l *lister) page(ctx context.Context, u string) ([]string, *url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTagsPageBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(body) > maxTagsPageBytes {
		return nil, nil, &contentError{fmt.Errorf("a page of tags is larger than %d bytes", maxTagsPageBytes)}
	}
	var parsed struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(body, &parsed); err != nil {
		return nil, nil, &contentError{fmt.Errorf("parsing the list of tags: %w", err)}
	}
	link, err := nextLink(resp.Header.Values("Link"), req.URL)
	if err != nil {
		return nil, nil, &contentError{err}
	}
	return parsed.Tags, link, nil
}

// nextLink finds the rel="next" target among Link headers (RFC 8288) and
// resolves it against the request's URL. A target on another scheme or
// host is refused: a registry must not send digestpin, with its
// credentials, elsewhere.
func nextLink(headers []string, base *url.URL) (*url.URL, error) {
	for _, h := range headers {
		for _, link := range splitLinks(h) {
			target, params, ok := strings.Cut(link, ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			if !isNextRel(params) {
				continue
			}
			u, err := base.Parse(target[1 : len(target)-1])
			if err != nil {
				return nil, fmt.Errorf("the registry's Link header names %q, which is not a URL", target)
			}
			if u.Scheme != base.Scheme || u.Host != base.Host {
				return nil, fmt.Errorf("the registry's Link header sends the next page of tags to %s://%s, not to the registry %s", u.Scheme, u.Host, base.Host)
			}
			return u, nil
		}
	}
	return nil, nil
}

// splitLinks splits a Link header at the commas between links, not at those
// inside a <URL>.
func splitLinks(h string) []string {
	var links []string
	depth, start := 0, 0
	for i := 0; i < len(h); i++ {
		switch h[i] {
		case '<':
			depth++
		case '>':
			depth = max(depth-1, 0)
		case ',':
			if depth == 0 {
				links = append(links, h[start:i])
				start = i + 1
			}
		}
	}
	return append(links, h[start:])
}

// isNextRel reports whether link parameters hold rel="next" (rel may list
// several relation types).
func isNextRel(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		key, value, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(key), "rel") {
			continue
		}
		for rel := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(value), `"`)) {
			if strings.EqualFold(rel, "next") {
				return true
			}
		}
	}
	return false
}
