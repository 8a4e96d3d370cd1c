package githubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/github"
)

// gqlFail answers a GraphQL request with one error, in a 200 answer as
// GitHub does.
func gqlFail(w http.ResponseWriter, field, typ, message string) {
	e := map[string]any{"path": []string{field}, "locations": []map[string]int{{"line": 2, "column": 3}}, "message": message}
	if typ != "" {
		e["type"] = typ
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{field: nil}, "errors": []any{e}})
}

// graphql serves POST /api/graphql for the mutations digestpin sends.
func (s *Server) graphql(w http.ResponseWriter, r *http.Request) {
	tok := s.tokenFrom(w, r)
	if tok == nil {
		return
	}
	var req struct {
		Query     string `json:"query"`
		Variables struct {
			Input json.RawMessage `json:"input"`
		} `json:"variables"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []map[string]string{{"message": "Problems parsing JSON"}}})
		return
	}
	for _, field := range []string{"createCommitOnBranch", "updateRefs", "enablePullRequestAutoMerge"} {
		if strings.Contains(req.Query, field+"(input: $input)") {
			s.mu.Lock()
			s.requests[len(s.requests)-1] += " " + field
			s.mu.Unlock()
			switch field {
			case "createCommitOnBranch":
				s.createCommitOnBranch(w, tok, req.Variables.Input)
			case "updateRefs":
				s.updateRefs(w, tok, req.Variables.Input)
			default:
				s.enableAutoMerge(w, tok, req.Variables.Input)
			}
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"errors": []map[string]string{{"message": "this test server implements createCommitOnBranch, updateRefs and enablePullRequestAutoMerge only"}}})
}

// gqlRepo returns the repository a GraphQL input names, if tok may see it.
func (s *Server) gqlRepo(w http.ResponseWriter, tok *token, field, nameWithOwner, nodeID string) *Repo {
	s.mu.Lock()
	var repo *Repo
	for _, r := range s.repos {
		if r.Owner+"/"+r.Name == nameWithOwner || (nodeID != "" && r.NodeID == nodeID) {
			repo = r
		}
	}
	s.mu.Unlock()
	if repo == nil || !tok.canSee(repo) {
		what := nameWithOwner
		if what == "" {
			what = nodeID
		}
		gqlFail(w, field, "NOT_FOUND", fmt.Sprintf("Could not resolve to a Repository with the name '%s'.", what))
		return nil
	}
	return repo
}

const ruleViolationMessage = "Repository rule violations found\n\nChanges must be made through a pull request.\n\n"

func (s *Server) createCommitOnBranch(w http.ResponseWriter, tok *token, raw json.RawMessage) {
	const field = "createCommitOnBranch"
	var in struct {
		Branch struct {
			RepositoryNameWithOwner string `json:"repositoryNameWithOwner"`
			BranchName              string `json:"branchName"`
		} `json:"branch"`
		ExpectedHeadOid string `json:"expectedHeadOid"`
		Message         struct {
			Headline string `json:"headline"`
			Body     string `json:"body"`
		} `json:"message"`
		FileChanges struct {
			Additions []struct{ Path, Contents string } `json:"additions"`
			Deletions []struct{ Path string }           `json:"deletions"`
		} `json:"fileChanges"`
	}
	if err := json.Unmarshal(raw, &in); err != nil || in.ExpectedHeadOid == "" || in.Message.Headline == "" {
		gqlFail(w, field, "", "Variable $input of type CreateCommitOnBranchInput! was provided invalid value")
		return
	}
	repo := s.gqlRepo(w, tok, field, in.Branch.RepositoryNameWithOwner, "")
	if repo == nil {
		return
	}
	if !tok.has("contents", "write") {
		gqlFail(w, field, "FORBIDDEN", msgNoAccess)
		return
	}
	branch := in.Branch.BranchName
	ref := "refs/heads/" + branch
	repo.lock.Lock()
	defer repo.lock.Unlock()
	head, err := s.run(repo.Dir, nil, nil, "rev-parse", "--verify", "--quiet", ref)
	if err != nil {
		gqlFail(w, field, "NOT_FOUND", fmt.Sprintf("Could not resolve to a Ref named %q.", ref))
		return
	}
	if s.isProtected(repo, branch, tok) {
		gqlFail(w, field, "UNPROCESSABLE", ruleViolationMessage)
		return
	}
	current := strings.TrimSpace(string(head))
	if current != in.ExpectedHeadOid {
		gqlFail(w, field, "STALE_DATA", fmt.Sprintf("Expected branch to point to %q but it did not.  Pull and try again.", in.ExpectedHeadOid))
		return
	}

	tmp, err := os.MkdirTemp("", "githubtest-index-")
	if err != nil {
		gqlFail(w, field, "INTERNAL", err.Error())
		return
	}
	defer os.RemoveAll(tmp)
	index := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	fail := func(err error) { gqlFail(w, field, "UNPROCESSABLE", err.Error()) }
	if _, err := s.run(repo.Dir, nil, index, "read-tree", current); err != nil {
		fail(err)
		return
	}
	for _, a := range in.FileChanges.Additions {
		data, err := base64.StdEncoding.DecodeString(a.Contents)
		if err != nil || a.Path == "" || path.Clean(a.Path) != a.Path || strings.HasPrefix(a.Path, "/") || strings.HasPrefix(a.Path, "../") {
			gqlFail(w, field, "UNPROCESSABLE", fmt.Sprintf("invalid file addition %q", a.Path))
			return
		}
		blob, err := s.run(repo.Dir, data, nil, "hash-object", "-w", "--stdin")
		if err != nil {
			fail(err)
			return
		}
		mode := "100644"
		if ls, _ := s.run(repo.Dir, nil, nil, "ls-tree", current, "--", a.Path); len(ls) > 0 && strings.HasPrefix(string(ls), "100755 ") {
			mode = "100755"
		}
		if _, err := s.run(repo.Dir, nil, index, "update-index", "--add", "--cacheinfo", mode+","+strings.TrimSpace(string(blob))+","+a.Path); err != nil {
			fail(err)
			return
		}
	}
	for _, d := range in.FileChanges.Deletions {
		if _, err := s.run(repo.Dir, nil, index, "update-index", "--force-remove", "--", d.Path); err != nil {
			fail(err)
			return
		}
	}
	tree, err := s.run(repo.Dir, nil, index, "write-tree")
	if err != nil {
		fail(err)
		return
	}
	msg := in.Message.Headline
	if in.Message.Body != "" {
		msg += "\n\n" + in.Message.Body
	}
	commit, err := s.run(repo.Dir, []byte(msg+"\n"), s.botEnv(tok), "commit-tree", strings.TrimSpace(string(tree)), "-p", current, "-F", "-")
	if err != nil {
		fail(err)
		return
	}
	oid := strings.TrimSpace(string(commit))
	if _, err := s.run(repo.Dir, nil, nil, "update-ref", ref, oid, current); err != nil {
		gqlFail(w, field, "STALE_DATA", fmt.Sprintf("Expected branch to point to %q but it did not.  Pull and try again.", in.ExpectedHeadOid))
		return
	}
	s.mu.Lock()
	s.verified[oid] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{field: map[string]any{
		"commit": map[string]string{"oid": oid, "url": fmt.Sprintf("%s/%s/%s/commit/%s", s.URL, repo.Owner, repo.Name, oid)},
	}}})
}

func (s *Server) updateRefs(w http.ResponseWriter, tok *token, raw json.RawMessage) {
	const field = "updateRefs"
	var in struct {
		RepositoryID string             `json:"repositoryId"`
		RefUpdates   []github.RefUpdate `json:"refUpdates"`
	}
	if err := json.Unmarshal(raw, &in); err != nil || len(in.RefUpdates) == 0 {
		gqlFail(w, field, "", "Variable $input of type UpdateRefsInput! was provided invalid value")
		return
	}
	repo := s.gqlRepo(w, tok, field, "", in.RepositoryID)
	if repo == nil {
		return
	}
	if !tok.has("contents", "write") {
		gqlFail(w, field, "FORBIDDEN", msgNoAccess)
		return
	}
	repo.lock.Lock()
	defer repo.lock.Unlock()
	var txn strings.Builder
	txn.WriteString("start\n")
	var deleted []string
	for _, u := range in.RefUpdates {
		branch, ok := strings.CutPrefix(u.Name, "refs/heads/")
		if !ok {
			gqlFail(w, field, "UNPROCESSABLE", fmt.Sprintf("%q is not a branch", u.Name))
			return
		}
		if s.isProtected(repo, branch, tok) {
			gqlFail(w, field, "UNPROCESSABLE", ruleViolationMessage)
			return
		}
		cur, _ := s.run(repo.Dir, nil, nil, "rev-parse", "--verify", "--quiet", u.Name)
		current := strings.TrimSpace(string(cur))
		if current == "" {
			current = github.ZeroOID
		}
		if u.Before != current {
			gqlFail(w, field, "STALE_DATA", fmt.Sprintf("Expected %s to point to %q but it did not.", u.Name, u.Before))
			return
		}
		if !u.Force && current != github.ZeroOID && u.After != github.ZeroOID {
			if _, err := s.run(repo.Dir, nil, nil, "merge-base", "--is-ancestor", current, u.After); err != nil {
				gqlFail(w, field, "UNPROCESSABLE", fmt.Sprintf("Update of %s is not a fast forward", u.Name))
				return
			}
		}
		switch {
		case u.After == github.ZeroOID:
			fmt.Fprintf(&txn, "delete %s %s\n", u.Name, current)
			deleted = append(deleted, branch)
		case current == github.ZeroOID:
			fmt.Fprintf(&txn, "create %s %s\n", u.Name, u.After)
		default:
			fmt.Fprintf(&txn, "update %s %s %s\n", u.Name, u.After, current)
		}
	}
	txn.WriteString("prepare\ncommit\n")
	if _, err := s.run(repo.Dir, []byte(txn.String()), nil, "update-ref", "--stdin"); err != nil {
		gqlFail(w, field, "STALE_DATA", "A ref was changed concurrently: "+err.Error())
		return
	}
	s.mu.Lock()
	for _, pr := range repo.prs {
		for _, b := range deleted {
			if pr.State == "open" && (pr.Head == b || pr.Base == b) {
				pr.State = "closed" // GitHub closes a pull request whose branch is deleted
			}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{field: map[string]any{"clientMutationId": nil}}})
}

func (s *Server) enableAutoMerge(w http.ResponseWriter, tok *token, raw json.RawMessage) {
	const field = "enablePullRequestAutoMerge"
	var in struct {
		PullRequestID string `json:"pullRequestId"`
		MergeMethod   string `json:"mergeMethod"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		gqlFail(w, field, "", "Variable $input of type EnablePullRequestAutoMergeInput! was provided invalid value")
		return
	}
	switch in.MergeMethod {
	case "MERGE", "SQUASH", "REBASE":
	default:
		gqlFail(w, field, "", fmt.Sprintf("Variable $input of type EnablePullRequestAutoMergeInput! was provided invalid value for mergeMethod (Expected %q to be one of: MERGE, SQUASH, REBASE)", in.MergeMethod))
		return
	}
	s.mu.Lock()
	var repo *Repo
	var pr *PullRequest
	for _, r := range s.repos {
		for _, p := range r.prs {
			if p.NodeID == in.PullRequestID && tok.canSee(r) {
				repo, pr = r, p
			}
		}
	}
	s.mu.Unlock()
	if pr == nil {
		gqlFail(w, field, "NOT_FOUND", fmt.Sprintf("Could not resolve to a node with the global id of '%s'", in.PullRequestID))
		return
	}
	if !tok.has("pull_requests", "write") || !tok.has("contents", "write") {
		gqlFail(w, field, "FORBIDDEN", msgNoAccess)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch rule, ok := repo.rules[pr.Base]; {
	case !repo.AllowAutoMerge:
		gqlFail(w, field, "UNPROCESSABLE", "Pull request Auto merge is not allowed for this repository")
	case pr.State != "open":
		gqlFail(w, field, "UNPROCESSABLE", "Pull request Pull request is closed")
	case !ok || rule.RequiredApprovals == 0:
		gqlFail(w, field, "UNPROCESSABLE", "Pull request Pull request is in clean status")
	default:
		pr.AutoMergeMethod = in.MergeMethod
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{field: map[string]any{"pullRequest": map[string]any{"number": pr.Number}}}})
	}
}

// Approve approves pull request number of r; when auto-merge is enabled on
// it, GitHub merges it then, as its app.
func (s *Server) Approve(t testing.TB, r *Repo, number int) {
	t.Helper()
	s.mu.Lock()
	var pr *PullRequest
	for _, p := range r.prs {
		if p.Number == number {
			pr = p
		}
	}
	var tok *token
	for _, tk := range s.tokens {
		if tk.installation.App.Bot() == pr.Author {
			tok = tk
		}
	}
	method := pr.AutoMergeMethod
	s.mu.Unlock()
	if method == "" {
		return
	}
	r.lock.Lock()
	defer r.lock.Unlock()
	if _, err := s.merge(r, pr, "", method, tok); err != nil {
		t.Fatalf("auto-merge of #%d: %s", number, err.msg)
	}
}
