package promote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/digestpin/digestpin/internal/git"
	"github.com/digestpin/digestpin/internal/github"
)

// GitHub makes promote act the way GitHub teams govern change: as a GitHub
// App, with commits GitHub signs, through pull requests.
type GitHub struct {
	// AppID is the GitHub App's ID or client ID. With AppKey, promote
	// authenticates as the app's installation on the remote's repository;
	// without, the API is called with Options.Token.
	AppID string
	// AppKey is the app's private key (PEM). It is never printed.
	AppKey []byte
	// InstallationID is the app's installation; 0 finds it from the
	// repository.
	InstallationID int64
	// APIURL is GitHub's API (github.ParseAPIURL). Default api.github.com.
	APIURL string
	// CommitVia is "git" (default: the commit is built locally and pushed)
	// or "api" (GraphQL createCommitOnBranch: GitHub signs the commit).
	CommitVia string
	// PullRequest puts the change on the branch PullRequestBranch(path) and
	// opens a pull request into the target branch, or updates the open one.
	PullRequest bool
	// Labels are added to the pull request.
	Labels []string
	// AutoMerge enables auto-merge of the pull request, with MergeMethod
	// ("merge", "squash" or "rebase"; default "merge"). A pull request
	// GitHub could merge at once (nothing to wait for) is merged now, as
	// GitHub refuses to enable auto-merge on it.
	AutoMerge   bool
	MergeMethod string
	// HTTPClient sends API requests; default a client with a timeout.
	HTTPClient *http.Client
}

func (g *GitHub) viaAPI() bool { return g != nil && g.CommitVia == "api" }

func (g *GitHub) prMode() bool { return g != nil && g.PullRequest }

// usesAPI reports whether promote calls GitHub's API beyond authenticating.
func (g *GitHub) usesAPI() bool { return g != nil && (g.CommitVia == "api" || g.PullRequest) }

// The GitHub options errors can name.
const (
	OptGitHubAppID   Option = "GitHub.AppID"
	OptGitHubAppKey  Option = "GitHub.AppKey"
	OptGitHubAPIURL  Option = "GitHub.APIURL"
	OptCommitVia     Option = "GitHub.CommitVia"
	OptPullRequest   Option = "GitHub.PullRequest"
	OptPRLabels      Option = "GitHub.Labels"
	OptPRAutoMerge   Option = "GitHub.AutoMerge"
	OptPRMergeMethod Option = "GitHub.MergeMethod"
	OptToken         Option = "Token"
)

func (g *GitHub) validate(o Publish) error {
	switch g.CommitVia {
	case "", "git", "api":
	default:
		return usageError("%s %q: want git or api", OptCommitVia, g.CommitVia)
	}
	switch g.MergeMethod {
	case "", "merge", "squash", "rebase":
	default:
		return usageError("%s %q: want merge, squash or rebase", OptPRMergeMethod, g.MergeMethod)
	}
	if (g.AppID == "") != (len(g.AppKey) == 0) {
		return usageError("a GitHub App needs both %s and %s", OptGitHubAppID, OptGitHubAppKey)
	}
	if g.AppID != "" {
		if err := github.CheckAppID(g.AppID); err != nil {
			return usageError("%w", err)
		}
		if _, err := github.ParseAppKey(g.AppKey); err != nil {
			return usageError("%w", err)
		}
	}
	if _, err := github.ParseAPIURL(g.APIURL); err != nil {
		return usageError("%w", err)
	}
	if g.usesAPI() && g.AppID == "" && o.Token == "" {
		return usageError("%s api and %s call GitHub's API: give a GitHub App (%s and %s) or %s", OptCommitVia, OptPullRequest, OptGitHubAppID, OptGitHubAppKey, OptToken)
	}
	if (g.AutoMerge || len(g.Labels) > 0 || g.MergeMethod != "") && !g.PullRequest {
		return usageError("%s, %s and %s apply with %s only", OptPRLabels, OptPRAutoMerge, OptPRMergeMethod, OptPullRequest)
	}
	if o.NoPush && g.usesAPI() {
		return usageError("%s excludes %s api and %s", OptNoPush, OptCommitVia, OptPullRequest)
	}
	return nil
}

// PullRequestBranch is the branch promote's pull requests for path come
// from: "digestpin/" and the path with "/" replaced by "-", e.g.
// digestpin/apps-shop-prod.
func PullRequestBranch(p string) string {
	p = strings.Trim(path.Clean(p), "/")
	if p == "." || p == "" {
		p = "root"
	}
	return "digestpin/" + strings.ReplaceAll(p, "/", "-")
}

// PullRequestResult is the pull request promote opened or updated.
type PullRequestResult struct {
	Number int
	URL    string
	Branch string
	// Created is true for a new pull request, false for an updated one.
	Created bool
	// AutoMerge is true when auto-merge is enabled; Merged when the pull
	// request was merged at once instead.
	AutoMerge, Merged bool
}

// hub is an authenticated GitHub session for one repository.
type hub struct {
	gh   *github.Client
	repo github.Repo
	cfg  *GitHub
	info *github.Repository
}

// connect authenticates with GitHub for the repository of remote and
// returns the session and the token for git.
func connect(ctx context.Context, repo *git.Repo, opts Publish) (*hub, string, error) {
	g := opts.GitHub
	remoteURL, err := repo.RemoteURL(ctx, opts.Remote)
	if err != nil {
		return nil, "", err
	}
	ghRepo, err := github.ParseRemote(remoteURL)
	if err != nil {
		return nil, "", usageError("%w", err)
	}
	client, err := github.New(github.Options{APIURL: g.APIURL, HTTPClient: g.HTTPClient, UserAgent: "digestpin"})
	if err != nil {
		return nil, "", usageError("%w", err)
	}
	if err := sameHost(remoteURL, client.Endpoints()); err != nil {
		return nil, "", usageError("%w", err)
	}
	h := &hub{repo: ghRepo, cfg: g}
	if g.AppID == "" {
		h.gh = client.WithToken(opts.Token)
		return h, opts.Token, nil
	}
	key, err := github.ParseAppKey(g.AppKey)
	if err != nil {
		return nil, "", usageError("%w", err)
	}
	perms := github.Permissions{"contents": "write"}
	if g.PullRequest {
		perms["pull_requests"] = "write"
	}
	authed, tok, err := client.Authenticate(ctx, &github.App{ID: g.AppID, Key: key}, g.InstallationID, ghRepo, perms)
	if err != nil {
		return nil, "", err
	}
	h.gh = authed
	return h, tok.Token, nil
}

// sameHost refuses a remote on another host than the API: the installation
// token would be sent there.
func sameHost(remote string, ep github.Endpoints) error {
	u, err := url.Parse(remote)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil // ssh and local remotes never see the token
	}
	api, err := url.Parse(ep.REST)
	if err != nil {
		return err
	}
	want := api.Host
	if strings.EqualFold(api.Hostname(), "api.github.com") {
		want = "github.com"
	}
	if !strings.EqualFold(u.Host, want) {
		return fmt.Errorf("the remote is on %s but the GitHub API is on %s: the installation token would go to another host", u.Host, api.Host)
	}
	return nil
}

func (h *hub) repository(ctx context.Context) (*github.Repository, error) {
	if h.info != nil {
		return h.info, nil
	}
	info, err := h.gh.Repository(ctx, h.repo)
	if err != nil {
		return nil, err
	}
	h.info = info
	return info, nil
}

// publish delivers change, built on head of the session's branch, through
// the API or a pull request. A lost race wraps github.ErrStaleHead or
// git.ErrPushRejected; then nothing was changed.
func (h *hub) publish(ctx context.Context, s *Session, head string, ch *Change, out *Outcome) error {
	if !h.cfg.PullRequest {
		commit, err := h.gh.CreateCommitOnBranch(ctx, github.CommitOnBranch{
			Repo: h.repo, Branch: s.Branch, ExpectedHead: head, Message: ch.Message, Additions: additions(ch),
		})
		if err != nil {
			return err
		}
		out.Commit, out.Pushed = commit.OID, true
		return nil
	}
	return h.pullRequest(ctx, s, head, ch, out)
}

func additions(ch *Change) []github.FileAddition {
	var adds []github.FileAddition
	for _, f := range ch.Files {
		adds = append(adds, github.FileAddition{Path: f.Path, Contents: f.After})
	}
	return adds
}

// pullRequest puts the change, as one commit on baseHead, on the pull
// request branch (with a lease on that branch only) and opens or updates
// the pull request. On failure it undoes what it did.
func (h *hub) pullRequest(ctx context.Context, s *Session, baseHead string, ch *Change, out *Outcome) error {
	repo, remote, base := s.Repo, s.opts.Remote, s.Branch
	prBranch := PullRequestBranch(ch.Topic)
	if h.cfg.AutoMerge {
		// Asked before anything changes: a refusal after the pull request
		// is open would leave it behind.
		info, err := h.repository(ctx)
		if err != nil {
			return err
		}
		if !info.AllowAutoMerge {
			return fmt.Errorf("%s does not allow auto-merge: enable \"Allow auto-merge\" in the repository's settings (General, Pull Requests), or open the pull request without auto-merge", h.repo)
		}
	}
	prHead, err := repo.Fetch(ctx, remote, prBranch)
	if errors.Is(err, git.ErrRemoteBranchNotFound) {
		prHead, err = "", nil
	}
	if err != nil {
		return err
	}
	// The commit is built locally in both modes: in git mode it is what is
	// pushed; in either, its tree says whether the branch already holds
	// exactly this change on this base.
	local, err := repo.Commit(ctx, baseHead, ch.files(), ch.Message)
	if err != nil {
		return err
	}
	commit, err := h.updateBranch(ctx, repo, remote, prBranch, prHead, baseHead, local, ch)
	if err != nil {
		return err
	}
	moved := commit != prHead
	undoBranch := func() error {
		if !moved {
			return nil
		}
		return h.restoreBranch(ctx, prBranch, commit, prHead)
	}
	fail := func(err error, undo ...func() error) error {
		for _, u := range append(undo, undoBranch) {
			if uerr := u(); uerr != nil {
				err = fmt.Errorf("%w; undoing: %w", err, uerr)
			}
		}
		return err
	}

	pr, previous, err := h.openOrUpdate(ctx, prBranch, base, ch.Title, prBody(ch.Summary, out.Diff, ch.Topic, prBranch, base))
	if err != nil {
		return fail(err)
	}
	undoPR := func() error {
		if previous == nil {
			_, err := h.gh.UpdatePullRequest(ctx, h.repo, pr.Number, github.PullRequestUpdate{State: "closed"})
			return err
		}
		_, err := h.gh.UpdatePullRequest(ctx, h.repo, pr.Number, github.PullRequestUpdate{Title: previous.Title, Body: previous.Body})
		return err
	}
	res := &PullRequestResult{Number: pr.Number, URL: pr.HTMLURL, Branch: prBranch, Created: previous == nil}
	if len(h.cfg.Labels) > 0 {
		if err := h.gh.AddLabels(ctx, h.repo, pr.Number, h.cfg.Labels); err != nil {
			return fail(err, undoPR)
		}
	}
	if h.cfg.AutoMerge {
		method := h.cfg.MergeMethod
		if method == "" {
			method = "merge"
		}
		err := h.gh.EnableAutoMerge(ctx, h.repo, pr, method)
		var e *github.Error
		switch {
		case err == nil:
			res.AutoMerge = true
		case errors.As(err, &e) && e.Kind == github.ErrUnprocessable && strings.Contains(e.Message, "clean status"):
			// Nothing to wait for: GitHub refuses auto-merge and expects
			// the merge now, if the head is still what was checked.
			if err := h.gh.MergePullRequest(ctx, h.repo, pr.Number, commit, method); err != nil {
				return fail(err, undoPR)
			}
			res.Merged = true
		default:
			return fail(err, undoPR)
		}
	}
	out.Commit, out.Pushed, out.PullRequest = commit, true, res
	return nil
}

// updateBranch makes prBranch one commit with the change on baseHead,
// leasing prBranch at prHead ("" = must not exist), and returns that commit.
func (h *hub) updateBranch(ctx context.Context, repo *git.Repo, remote, prBranch, prHead, baseHead, local string, ch *Change) (string, error) {
	if prHead != "" {
		tree, parents, err := repo.CommitInfo(ctx, prHead)
		if err != nil {
			return "", err
		}
		localTree, _, err := repo.CommitInfo(ctx, local)
		if err != nil {
			return "", err
		}
		if tree == localTree && len(parents) == 1 && parents[0] == baseHead {
			return prHead, nil // already this change on this base
		}
	}
	if !h.cfg.viaAPI() {
		if err := repo.Push(ctx, remote, local, prBranch, prHead); err != nil {
			return "", err
		}
		return local, nil
	}
	// createCommitOnBranch commits onto a branch's head; the pull request
	// branch must become a commit on the base, whatever it holds now. So
	// the commit is made on a fresh temporary branch at the base and then
	// moved to the pull request branch, atomically with the temporary
	// branch's deletion and under a lease on the pull request branch.
	info, err := h.repository(ctx)
	if err != nil {
		return "", err
	}
	tmp := "refs/heads/digestpin-tmp/" + randomHex()
	if err := h.gh.UpdateRefs(ctx, h.repo, info.NodeID, []github.RefUpdate{{Name: tmp, Before: github.ZeroOID, After: baseHead}}); err != nil {
		return "", err
	}
	commit, err := h.gh.CreateCommitOnBranch(ctx, github.CommitOnBranch{
		Repo: h.repo, Branch: strings.TrimPrefix(tmp, "refs/heads/"), ExpectedHead: baseHead, Message: ch.Message, Additions: additions(ch),
	})
	if err != nil {
		return "", h.dropTemp(ctx, err, tmp, baseHead)
	}
	before := prHead
	if before == "" {
		before = github.ZeroOID
	}
	err = h.gh.UpdateRefs(ctx, h.repo, info.NodeID, []github.RefUpdate{
		{Name: "refs/heads/" + prBranch, Before: before, After: commit.OID, Force: true},
		{Name: tmp, Before: commit.OID, After: github.ZeroOID},
	})
	if err != nil {
		return "", h.dropTemp(ctx, err, tmp, commit.OID)
	}
	return commit.OID, nil
}

func (h *hub) dropTemp(ctx context.Context, err error, tmp, at string) error {
	if derr := h.gh.UpdateRefs(ctx, h.repo, h.info.NodeID, []github.RefUpdate{{Name: tmp, Before: at, After: github.ZeroOID}}); derr != nil {
		return fmt.Errorf("%w; deleting the temporary branch %s: %w", err, strings.TrimPrefix(tmp, "refs/heads/"), derr)
	}
	return err
}

// restoreBranch puts prBranch back where it was (deleting it when it did
// not exist), if it still points at commit.
func (h *hub) restoreBranch(ctx context.Context, prBranch, commit, prHead string) error {
	info, err := h.repository(ctx)
	if err != nil {
		return err
	}
	after := prHead
	if after == "" {
		after = github.ZeroOID
	}
	return h.gh.UpdateRefs(ctx, h.repo, info.NodeID, []github.RefUpdate{{Name: "refs/heads/" + prBranch, Before: commit, After: after, Force: true}})
}

// openOrUpdate opens the pull request, or updates the open one; previous
// is the open one as it was, nil when a new one was opened.
func (h *hub) openOrUpdate(ctx context.Context, head, base, title, body string) (pr, previous *github.PullRequest, err error) {
	for range 2 {
		existing, err := h.gh.FindPullRequest(ctx, h.repo, head, base)
		if err != nil {
			return nil, nil, err
		}
		if existing != nil {
			pr, err := h.gh.UpdatePullRequest(ctx, h.repo, existing.Number, github.PullRequestUpdate{Title: title, Body: body})
			return pr, existing, err
		}
		pr, err = h.gh.CreatePullRequest(ctx, h.repo, github.NewPullRequest{Title: title, Head: head, Base: base, Body: body})
		var e *github.Error
		if errors.As(err, &e) && e.Kind == github.ErrUnprocessable && strings.Contains(e.Message, "already exists") {
			continue // opened concurrently: update that one
		}
		return pr, nil, err
	}
	return nil, nil, fmt.Errorf("a pull request from %s was opened and closed concurrently", head)
}

func randomHex() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// prTitle names the images.
func prTitle(images []Image, p string) string {
	refs := make([]string, len(images))
	for i, img := range images {
		refs[i] = img.Reference
	}
	return "Pin " + strings.Join(refs, ", ") + " in " + p
}

// prSummary lists image, tag, digest and source revision.
func prSummary(images []Image, p, base, sourceRevision string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digestpin pins these images in `%s` on `%s`:\n\n", p, base)
	b.WriteString("| image | tag | digest |\n|---|---|---|\n")
	for _, img := range images {
		tag := img.Tag
		if tag == "" {
			tag = "(none)"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | `%s` |\n", img.Repository, tag, img.Digest)
	}
	if sourceRevision != "" {
		fmt.Fprintf(&b, "\nSource revision: `%s`\n", sourceRevision)
	}
	return b.String()
}

// prBody is the summary and the diff, fenced so that nothing in the diff
// can close the fence.
func prBody(summary, diff, topic, prBranch, base string) string {
	var b strings.Builder
	b.WriteString(summary)
	fence := "```"
	for strings.Contains(diff, fence) {
		fence += "`"
	}
	fmt.Fprintf(&b, "\n%sdiff\n%s%s\n", fence, diff, fence)
	fmt.Fprintf(&b, "\nA later promote of `%s` updates this pull request; it rebuilds `%s` on the newest `%s`.\n", topic, prBranch, base)
	return b.String()
}
