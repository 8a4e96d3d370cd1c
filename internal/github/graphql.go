package github

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ZeroOID is the object name GitHub uses for "no such ref" in updateRefs.
const ZeroOID = "0000000000000000000000000000000000000000"

type gqlError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// graphql posts a query with variables and decodes its data into out.
func (c *Client) graphql(ctx context.Context, cl call, query string, vars map[string]any, out any) error {
	cl.method, cl.url = http.MethodPost, c.ep.GraphQL
	cl.body = map[string]any{"query": query, "variables": vars}
	for {
		var resp struct {
			Data   json.RawMessage `json:"data"`
			Errors []gqlError      `json:"errors"`
		}
		if err := c.do(ctx, cl, &resp); err != nil {
			return err
		}
		if len(resp.Errors) == 0 {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(resp.Data, out); err != nil {
				return &Error{Op: cl.op, Kind: ErrServer, Message: "the answer is not the JSON expected"}
			}
			return nil
		}
		e := c.gqlError(cl, resp.Errors)
		if e.Kind == ErrRateLimited {
			// GraphQL reports a primary rate limit in a 200 answer.
			if err := c.budget.take(ctx, time.Minute, c.sleep); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				e.RetryAfter, e.Hint = time.Minute, "GitHub's GraphQL rate limit still applied after waiting; run again later"
				return e
			}
			continue
		}
		return e
	}
}

func (c *Client) gqlError(cl call, errs []gqlError) *Error {
	var msgs []string
	typ := errs[0].Type
	for _, e := range errs {
		msgs = append(msgs, e.Message)
	}
	msg := oneLine(c.redact(strings.Join(msgs, "; ")))
	e := &Error{Op: cl.op, Message: msg}
	switch {
	case typ == "STALE_DATA":
		e.Kind = ErrStaleHead
		e.Hint = "another writer moved the branch; nothing was changed"
	case typ == "BRANCH_PROTECTION_RULE_VIOLATION" || isRuleViolation(msg):
		e.Kind, e.Hint = ErrRuleViolation, RuleViolationHint(cl.ruleBranch)
	case typ == "FORBIDDEN" || strings.Contains(msg, "Resource not accessible by integration"):
		e.Kind, e.Permission, e.Hint = ErrForbidden, cl.need, forbiddenHint(cl.need)
	case typ == "NOT_FOUND":
		e.Kind, e.Hint = ErrNotFound, cl.notFound
	case typ == "RATE_LIMITED":
		e.Kind = ErrRateLimited
	default:
		e.Kind = ErrUnprocessable
	}
	return e
}

// FileAddition is a file a commit adds or replaces.
type FileAddition struct {
	Path     string
	Contents []byte
}

// CommitOnBranch is the input of CreateCommitOnBranch.
type CommitOnBranch struct {
	Repo   Repo
	Branch string
	// ExpectedHead is the commit the branch must point at; the new commit's
	// parent.
	ExpectedHead string
	// Message is the whole commit message; its first line becomes GitHub's
	// headline and the rest (after blank lines) its body.
	Message   string
	Additions []FileAddition
	Deletions []string
}

// Commit is a commit GitHub created.
type Commit struct {
	OID string `json:"oid"`
	URL string `json:"url"`
}

const createCommitMutation = `mutation ($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid url } }
}`

// CreateCommitOnBranch creates a commit through GraphQL createCommitOnBranch,
// which GitHub signs (the commit shows as Verified and is attributed to
// the app). When the branch no longer points at in.ExpectedHead the error
// wraps ErrStaleHead and nothing changed.
func (c *Client) CreateCommitOnBranch(ctx context.Context, in CommitOnBranch) (*Commit, error) {
	headline, body := SplitMessage(in.Message)
	additions := make([]map[string]string, 0, len(in.Additions))
	for _, a := range in.Additions {
		additions = append(additions, map[string]string{"path": a.Path, "contents": base64.StdEncoding.EncodeToString(a.Contents)})
	}
	deletions := make([]map[string]string, 0, len(in.Deletions))
	for _, d := range in.Deletions {
		deletions = append(deletions, map[string]string{"path": d})
	}
	message := map[string]string{"headline": headline}
	if body != "" {
		message["body"] = body
	}
	input := map[string]any{
		"branch":          map[string]string{"repositoryNameWithOwner": in.Repo.String(), "branchName": in.Branch},
		"expectedHeadOid": in.ExpectedHead,
		"message":         message,
		"fileChanges":     map[string]any{"additions": additions, "deletions": deletions},
	}
	cl := call{
		op:         fmt.Sprintf("creating a commit on %s branch %q through the API", in.Repo, in.Branch),
		need:       `"contents: write"`,
		notFound:   fmt.Sprintf("%s has no branch %q, or the token cannot see it", in.Repo, in.Branch),
		ruleBranch: in.Branch,
	}
	var out struct {
		CreateCommitOnBranch *struct {
			Commit Commit `json:"commit"`
		} `json:"createCommitOnBranch"`
	}
	if err := c.graphql(ctx, cl, createCommitMutation, map[string]any{"input": input}, &out); err != nil {
		return nil, err
	}
	if out.CreateCommitOnBranch == nil || out.CreateCommitOnBranch.Commit.OID == "" {
		return nil, &Error{Op: cl.op, Kind: ErrServer, Message: "the answer has no commit"}
	}
	return &out.CreateCommitOnBranch.Commit, nil
}

// SplitMessage splits a commit message into GitHub's headline (the first
// line) and body (the rest, without the blank lines between and the final
// newline). GitHub joins them with a blank line again.
func SplitMessage(msg string) (headline, body string) {
	msg = strings.TrimRight(msg, "\n")
	headline, body, _ = strings.Cut(msg, "\n")
	return headline, strings.TrimLeft(body, "\n")
}

// RefUpdate is one update of UpdateRefs. Before and After are object names;
// ZeroOID as Before requires that the ref does not exist, as After deletes it.
type RefUpdate struct {
	Name   string `json:"name"` // fully qualified: refs/heads/<branch>
	Before string `json:"beforeOid"`
	After  string `json:"afterOid"`
	Force  bool   `json:"force"`
}

const updateRefsMutation = `mutation ($input: UpdateRefsInput!) {
  updateRefs(input: $input) { clientMutationId }
}`

// UpdateRefs applies updates atomically through GraphQL updateRefs: each
// ref must point at its Before, or nothing changes and the error wraps
// ErrStaleHead. repositoryID is the repository's node ID.
func (c *Client) UpdateRefs(ctx context.Context, repo Repo, repositoryID string, updates []RefUpdate) error {
	var names []string
	for _, u := range updates {
		names = append(names, strings.TrimPrefix(u.Name, "refs/heads/"))
	}
	cl := call{
		op:         fmt.Sprintf("updating %s branch %s", repo, strings.Join(names, ", ")),
		need:       `"contents: write"`,
		ruleBranch: strings.Join(names, ", "),
	}
	input := map[string]any{"repositoryId": repositoryID, "refUpdates": updates}
	return c.graphql(ctx, cl, updateRefsMutation, map[string]any{"input": input}, nil)
}

const autoMergeMutation = `mutation ($input: EnablePullRequestAutoMergeInput!) {
  enablePullRequestAutoMerge(input: $input) { pullRequest { number } }
}`

// EnableAutoMerge turns on auto-merge of a pull request (GraphQL
// enablePullRequestAutoMerge) with method "merge", "squash" or "rebase".
func (c *Client) EnableAutoMerge(ctx context.Context, repo Repo, pr *PullRequest, method string) error {
	cl := call{
		op:   fmt.Sprintf("enabling auto-merge of %s pull request #%d", repo, pr.Number),
		need: `"pull_requests: write" and "contents: write"`,
	}
	input := map[string]any{"pullRequestId": pr.NodeID, "mergeMethod": strings.ToUpper(method)}
	return c.graphql(ctx, cl, autoMergeMutation, map[string]any{"input": input}, nil)
}
