package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Repository is what digestpin needs to know of a repository.
type Repository struct {
	NodeID         string `json:"node_id"`
	FullName       string `json:"full_name"`
	DefaultBranch  string `json:"default_branch"`
	AllowAutoMerge bool   `json:"allow_auto_merge"`
}

func (c *Client) repoURL(repo Repo) string {
	return c.ep.REST + "/repos/" + pathEscape(repo.Owner) + "/" + pathEscape(repo.Name)
}

// Repository returns repo (GET /repos/{owner}/{repo}).
func (c *Client) Repository(ctx context.Context, repo Repo) (*Repository, error) {
	cl := call{
		op: "reading repository " + repo.String(), method: http.MethodGet, url: c.repoURL(repo),
		notFound:         fmt.Sprintf("%s does not exist, or the token cannot see it", repo),
		retryUnavailable: true,
	}
	var r Repository
	if err := c.do(ctx, cl, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// PullRequest is a pull request as the REST API returns it.
type PullRequest struct {
	Number  int    `json:"number"`
	NodeID  string `json:"node_id"`
	HTMLURL string `json:"html_url"`
	State   string `json:"state"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	Merged  bool   `json:"merged"`
	Head    struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	} `json:"base"`
	Labels []struct {
		Name string `json:"name"`
	} `json:"labels"`
	AutoMerge *struct {
		MergeMethod string `json:"merge_method"`
	} `json:"auto_merge"`
}

// FindPullRequest returns the open pull request from branch head of repo
// into base, or nil when there is none
// (GET /repos/{owner}/{repo}/pulls?state=open&head=owner:head&base=base).
func (c *Client) FindPullRequest(ctx context.Context, repo Repo, head, base string) (*PullRequest, error) {
	q := url.Values{"state": {"open"}, "head": {repo.Owner + ":" + head}, "base": {base}, "per_page": {"100"}}
	cl := call{
		op: fmt.Sprintf("looking for an open pull request of %s from %q", repo, head), method: http.MethodGet,
		url:              c.repoURL(repo) + "/pulls?" + q.Encode(),
		need:             `"pull_requests: read"`,
		notFound:         fmt.Sprintf("%s does not exist, or the token cannot see it", repo),
		retryUnavailable: true,
	}
	var prs []PullRequest
	if err := c.do(ctx, cl, &prs); err != nil {
		return nil, err
	}
	for i := range prs {
		if prs[i].Head.Ref == head && prs[i].Base.Ref == base && prs[i].State == "open" {
			return &prs[i], nil
		}
	}
	return nil, nil
}

// NewPullRequest is the input of CreatePullRequest.
type NewPullRequest struct {
	Title string `json:"title"`
	Head  string `json:"head"`
	Base  string `json:"base"`
	Body  string `json:"body"`
}

// CreatePullRequest opens a pull request (POST /repos/{owner}/{repo}/pulls).
func (c *Client) CreatePullRequest(ctx context.Context, repo Repo, in NewPullRequest) (*PullRequest, error) {
	cl := call{
		op: fmt.Sprintf("opening a pull request on %s from %q into %q", repo, in.Head, in.Base), method: http.MethodPost,
		url: c.repoURL(repo) + "/pulls", body: in,
		need:     `"pull_requests: write"`,
		notFound: fmt.Sprintf("%s does not exist, or the token cannot see it", repo),
	}
	var pr PullRequest
	if err := c.do(ctx, cl, &pr); err != nil {
		return nil, err
	}
	return &pr, nil
}

// PullRequestUpdate is the input of UpdatePullRequest; empty fields are
// left as they are.
type PullRequestUpdate struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	State string `json:"state,omitempty"` // "open" or "closed"
}

// UpdatePullRequest edits a pull request
// (PATCH /repos/{owner}/{repo}/pulls/{number}).
func (c *Client) UpdatePullRequest(ctx context.Context, repo Repo, number int, in PullRequestUpdate) (*PullRequest, error) {
	cl := call{
		op: fmt.Sprintf("editing %s pull request #%d", repo, number), method: http.MethodPatch,
		url: c.repoURL(repo) + "/pulls/" + strconv.Itoa(number), body: in,
		need:     `"pull_requests: write"`,
		notFound: fmt.Sprintf("%s has no pull request #%d", repo, number),
	}
	var pr PullRequest
	if err := c.do(ctx, cl, &pr); err != nil {
		return nil, err
	}
	return &pr, nil
}

// AddLabels adds labels to a pull request
// (POST /repos/{owner}/{repo}/issues/{number}/labels); GitHub creates
// labels that do not exist yet.
func (c *Client) AddLabels(ctx context.Context, repo Repo, number int, labels []string) error {
	cl := call{
		op: fmt.Sprintf("labelling %s pull request #%d", repo, number), method: http.MethodPost,
		url:      c.repoURL(repo) + "/issues/" + strconv.Itoa(number) + "/labels",
		body:     map[string][]string{"labels": labels},
		need:     `"pull_requests: write"`,
		notFound: fmt.Sprintf("%s has no pull request #%d", repo, number),
	}
	return c.do(ctx, cl, nil)
}

// MergePullRequest merges a pull request now, if its head is still sha
// (PUT /repos/{owner}/{repo}/pulls/{number}/merge).
func (c *Client) MergePullRequest(ctx context.Context, repo Repo, number int, sha, method string) error {
	cl := call{
		op: fmt.Sprintf("merging %s pull request #%d", repo, number), method: http.MethodPut,
		url:      c.repoURL(repo) + "/pulls/" + strconv.Itoa(number) + "/merge",
		body:     map[string]string{"sha": sha, "merge_method": method},
		need:     `"contents: write"`,
		notFound: fmt.Sprintf("%s has no pull request #%d", repo, number),
	}
	return c.do(ctx, cl, nil)
}
