package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/digestpin/digestpin/internal/github"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}/installation", s.getInstallation)
	mux.HandleFunc("POST /api/v3/app/installations/{id}/access_tokens", s.createToken)
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}", s.getRepo)
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}/commits/{sha}", s.getCommit)
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}/pulls", s.listPulls)
	mux.HandleFunc("POST /api/v3/repos/{owner}/{repo}/pulls", s.createPull)
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}/pulls/{number}", s.getPull)
	mux.HandleFunc("PATCH /api/v3/repos/{owner}/{repo}/pulls/{number}", s.updatePull)
	mux.HandleFunc("PUT /api/v3/repos/{owner}/{repo}/pulls/{number}/merge", s.mergePull)
	mux.HandleFunc("POST /api/v3/repos/{owner}/{repo}/issues/{number}/labels", s.addLabels)
	mux.HandleFunc("POST /api/graphql", s.graphql)
	mux.HandleFunc("GET /{owner}/{repo}/info/refs", s.serveGit)
	mux.HandleFunc("POST /{owner}/{repo}/{service}", s.serveGit)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		if s.Intercept != nil && s.Intercept(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) installationJSON(inst *Installation) map[string]any {
	return map[string]any{
		"id": inst.ID, "app_id": inst.App.ID, "app_slug": inst.App.Slug,
		"account":              map[string]any{"login": inst.Account},
		"permissions":          inst.Permissions,
		"repository_selection": map[bool]string{true: "all", false: "selected"}[inst.Repos == nil],
	}
}

// GET /repos/{owner}/{repo}/installation, authenticated as the app.
func (s *Server) getInstallation(w http.ResponseWriter, r *http.Request) {
	app := s.appFromJWT(w, r)
	if app == nil {
		return
	}
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[owner+"/"+name]; ok {
		for _, inst := range s.sortedInstallations() {
			if inst.App == app && strings.EqualFold(inst.Account, owner) && (inst.Repos == nil || slices.Contains(inst.Repos, name)) {
				writeJSON(w, http.StatusOK, s.installationJSON(inst))
				return
			}
		}
	}
	restError(w, http.StatusNotFound, "Not Found")
}

func (s *Server) sortedInstallations() []*Installation {
	var out []*Installation
	for _, inst := range s.installations {
		out = append(out, inst)
	}
	slices.SortFunc(out, func(a, b *Installation) int { return int(a.ID - b.ID) })
	return out
}

// POST /app/installations/{id}/access_tokens, authenticated as the app.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	app := s.appFromJWT(w, r)
	if app == nil {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var in struct {
		Repositories []string           `json:"repositories"`
		Permissions  github.Permissions `json:"permissions"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			restError(w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.installations[id]
	if inst == nil || inst.App != app {
		restError(w, http.StatusNotFound, "Not Found")
		return
	}
	var account []string
	for _, repo := range s.repos {
		if strings.EqualFold(repo.Owner, inst.Account) && (inst.Repos == nil || slices.Contains(inst.Repos, repo.Name)) {
			account = append(account, repo.Name)
		}
	}
	repos := in.Repositories
	if repos == nil {
		repos = account
	}
	for _, name := range repos {
		if !slices.Contains(account, name) {
			restError(w, http.StatusUnprocessableEntity, "There is at least one repository that does not exist or is not accessible to the parent installation.")
			return
		}
	}
	perms := github.Permissions{}
	for k, v := range inst.Permissions {
		perms[k] = v
	}
	if in.Permissions != nil {
		perms = github.Permissions{"metadata": "read"}
		rank := map[string]int{"read": 1, "write": 2, "admin": 3}
		for k, v := range in.Permissions {
			if rank[v] == 0 || rank[inst.Permissions[k]] < rank[v] {
				restError(w, http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation.")
				return
			}
			perms[k] = v
		}
	}
	tok := &token{value: newToken(), installation: inst, repos: repos, perms: perms, expires: s.now().Add(time.Hour)}
	s.tokens[tok.value] = tok
	var list []map[string]any
	for _, name := range repos {
		list = append(list, map[string]any{"name": name, "full_name": inst.Account + "/" + name})
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": tok.value, "expires_at": tok.expires.UTC().Format(time.RFC3339),
		"permissions": perms, "repository_selection": "selected", "repositories": list,
	})
}

// GET /repos/{owner}/{repo}
func (s *Server) getRepo(w http.ResponseWriter, r *http.Request) {
	tok := s.tokenFrom(w, r)
	if tok == nil {
		return
	}
	repo := s.repoFor(w, tok, r.PathValue("owner"), r.PathValue("repo"))
	if repo == nil {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"node_id": repo.NodeID, "name": repo.Name, "full_name": repo.Owner + "/" + repo.Name,
		"default_branch": "main", "allow_auto_merge": repo.AllowAutoMerge,
		"html_url": s.URL + "/" + repo.Owner + "/" + repo.Name,
	})
}

// GET /repos/{owner}/{repo}/commits/{sha}: the commit and whether GitHub
// verified its signature.
func (s *Server) getCommit(w http.ResponseWriter, r *http.Request) {
	tok := s.tokenFrom(w, r)
	if tok == nil {
		return
	}
	repo := s.repoFor(w, tok, r.PathValue("owner"), r.PathValue("repo"))
	if repo == nil || !require(w, tok, "contents=read") {
		return
	}
	out, err := s.run(repo.Dir, nil, nil, "log", "-1", "--format=%H%x00%an%x00%ae%x00%cn%x00%ce%x00%B", "--end-of-options", r.PathValue("sha")+"^{commit}")
	if err != nil {
		restError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+r.PathValue("sha"))
		return
	}
	f := strings.SplitN(string(out), "\x00", 6)
	verified := s.Verified(f[0])
	reason := "unsigned"
	if verified {
		reason = "valid"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sha": f[0],
		"commit": map[string]any{
			"author":       map[string]string{"name": f[1], "email": f[2]},
			"committer":    map[string]string{"name": f[3], "email": f[4]},
			"message":      strings.TrimRight(f[5], "\n"),
			"verification": map[string]any{"verified": verified, "reason": reason},
		},
	})
}

func (s *Server) prJSON(repo *Repo, pr *PullRequest) map[string]any {
	head, _ := s.run(repo.Dir, nil, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+pr.Head)
	base, _ := s.run(repo.Dir, nil, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+pr.Base)
	var labels []map[string]string
	for _, l := range pr.Labels {
		labels = append(labels, map[string]string{"name": l})
	}
	var auto any
	if pr.AutoMergeMethod != "" {
		auto = map[string]string{"merge_method": strings.ToLower(pr.AutoMergeMethod)}
	}
	return map[string]any{
		"number": pr.Number, "node_id": pr.NodeID, "state": pr.State, "title": pr.Title, "body": pr.Body,
		"merged":   pr.Merged,
		"html_url": fmt.Sprintf("%s/%s/%s/pull/%d", s.URL, repo.Owner, repo.Name, pr.Number),
		"head":     map[string]string{"ref": pr.Head, "sha": strings.TrimSpace(string(head)), "label": repo.Owner + ":" + pr.Head},
		"base":     map[string]string{"ref": pr.Base, "sha": strings.TrimSpace(string(base)), "label": repo.Owner + ":" + pr.Base},
		"labels":   labels, "auto_merge": auto,
		"user": map[string]string{"login": pr.Author},
	}
}

// pullRequest finds the pull request of the path, or answers 404.
func (s *Server) pullRequest(w http.ResponseWriter, r *http.Request, perms ...string) (*Repo, *PullRequest, *token) {
	tok := s.tokenFrom(w, r)
	if tok == nil {
		return nil, nil, nil
	}
	repo := s.repoFor(w, tok, r.PathValue("owner"), r.PathValue("repo"))
	if repo == nil || !require(w, tok, perms...) {
		return nil, nil, nil
	}
	n, _ := strconv.Atoi(r.PathValue("number"))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pr := range repo.prs {
		if pr.Number == n {
			return repo, pr, tok
		}
	}
	restError(w, http.StatusNotFound, "Not Found")
	return nil, nil, nil
}

// GET /repos/{owner}/{repo}/pulls?state=&head=owner:branch&base=
func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	tok := s.tokenFrom(w, r)
	if tok == nil {
		return
	}
	repo := s.repoFor(w, tok, r.PathValue("owner"), r.PathValue("repo"))
	if repo == nil || !require(w, tok, "pull_requests=read") {
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	s.mu.Lock()
	prs := slices.Clone(repo.prs)
	s.mu.Unlock()
	out := []map[string]any{}
	for _, pr := range slices.Backward(prs) { // newest first
		if state != "all" && pr.State != state {
			continue
		}
		if h := q.Get("head"); h != "" && h != repo.Owner+":"+pr.Head {
			continue
		}
		if b := q.Get("base"); b != "" && b != pr.Base {
			continue
		}
		out = append(out, s.prJSON(repo, pr))
	}
	writeJSON(w, http.StatusOK, out)
}

func validationFailed(w http.ResponseWriter, errs ...map[string]string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Validation Failed", "errors": errs,
		"documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
	})
}

// POST /repos/{owner}/{repo}/pulls
func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	tok := s.tokenFrom(w, r)
	if tok == nil {
		return
	}
	repo := s.repoFor(w, tok, r.PathValue("owner"), r.PathValue("repo"))
	if repo == nil || !require(w, tok, "pull_requests=write") {
		return
	}
	var in struct{ Title, Head, Base, Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		restError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	in.Head = strings.TrimPrefix(in.Head, repo.Owner+":")
	head, _ := s.run(repo.Dir, nil, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+in.Head)
	base, _ := s.run(repo.Dir, nil, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+in.Base)
	switch {
	case in.Title == "":
		validationFailed(w, map[string]string{"resource": "PullRequest", "field": "title", "code": "missing_field"})
		return
	case len(head) == 0:
		validationFailed(w, map[string]string{"resource": "PullRequest", "field": "head", "code": "invalid"})
		return
	case len(base) == 0:
		validationFailed(w, map[string]string{"resource": "PullRequest", "field": "base", "code": "invalid"})
		return
	case string(head) == string(base):
		validationFailed(w, map[string]string{"resource": "PullRequest", "code": "custom", "message": fmt.Sprintf("No commits between %s and %s", in.Base, in.Head)})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pr := range repo.prs {
		if pr.State == "open" && pr.Head == in.Head && pr.Base == in.Base {
			validationFailed(w, map[string]string{"resource": "PullRequest", "code": "custom", "message": fmt.Sprintf("A pull request already exists for %s:%s.", repo.Owner, in.Head)})
			return
		}
	}
	pr := &PullRequest{Number: len(repo.prs) + 1, Title: in.Title, Body: in.Body, Head: in.Head, Base: in.Base, State: "open", Author: tok.installation.App.Bot()}
	pr.NodeID = fmt.Sprintf("PR_%s_%d", repo.NodeID, pr.Number)
	repo.prs = append(repo.prs, pr)
	writeJSON(w, http.StatusCreated, s.prJSON(repo, pr))
}

// GET /repos/{owner}/{repo}/pulls/{number}
func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	repo, pr, _ := s.pullRequest(w, r, "pull_requests=read")
	if pr == nil {
		return
	}
	s.mu.Lock()
	cp := *pr
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.prJSON(repo, &cp))
}

// PATCH /repos/{owner}/{repo}/pulls/{number}
func (s *Server) updatePull(w http.ResponseWriter, r *http.Request) {
	repo, pr, _ := s.pullRequest(w, r, "pull_requests=write")
	if pr == nil {
		return
	}
	var in struct {
		Title, Body *string
		State       string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		restError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	if in.Title != nil {
		pr.Title = *in.Title
	}
	if in.Body != nil {
		pr.Body = *in.Body
	}
	if in.State == "open" || in.State == "closed" {
		pr.State = in.State
	}
	cp := *pr
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.prJSON(repo, &cp))
}

// POST /repos/{owner}/{repo}/issues/{number}/labels
func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	tok := s.tokenFrom(w, r)
	if tok == nil {
		return
	}
	if !tok.has("pull_requests", "write") && !tok.has("issues", "write") {
		w.Header().Set("X-Accepted-GitHub-Permissions", "issues=write; pull_requests=write")
		restError(w, http.StatusForbidden, msgNoAccess)
		return
	}
	repo, pr, _ := s.pullRequest(w, r)
	if pr == nil {
		return
	}
	var in struct{ Labels []string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		restError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	var out []map[string]string
	for _, l := range in.Labels {
		if !slices.Contains(pr.Labels, l) {
			pr.Labels = append(pr.Labels, l)
		}
		if !slices.Contains(repo.labels, l) {
			repo.labels = append(repo.labels, l)
		}
	}
	for _, l := range pr.Labels {
		out = append(out, map[string]string{"name": l})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// PUT /repos/{owner}/{repo}/pulls/{number}/merge
func (s *Server) mergePull(w http.ResponseWriter, r *http.Request) {
	repo, pr, tok := s.pullRequest(w, r, "contents=write")
	if pr == nil {
		return
	}
	var in struct {
		SHA         string `json:"sha"`
		MergeMethod string `json:"merge_method"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		restError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	repo.lock.Lock()
	defer repo.lock.Unlock()
	s.mu.Lock()
	state := pr.State
	s.mu.Unlock()
	if state != "open" {
		restError(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	}
	sha, err := s.merge(repo, pr, in.SHA, in.MergeMethod, tok)
	if err != nil {
		restError(w, err.status, err.msg)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sha": sha, "merged": true, "message": "Pull Request successfully merged"})
}

type httpErr struct {
	status int
	msg    string
}

// merge merges pr into its base with method, as the app, and records the
// commit as signed by GitHub. The caller holds repo.lock.
func (s *Server) merge(repo *Repo, pr *PullRequest, sha, method string, tok *token) (string, *httpErr) {
	head := strings.TrimSpace(s.mustRun(repo.Dir, "rev-parse", "refs/heads/"+pr.Head))
	base := strings.TrimSpace(s.mustRun(repo.Dir, "rev-parse", "refs/heads/"+pr.Base))
	if sha != "" && sha != head {
		return "", &httpErr{http.StatusConflict, "Head branch was modified. Review and try the merge again."}
	}
	out, err := s.run(repo.Dir, nil, nil, "merge-tree", "--write-tree", base, head)
	if err != nil {
		return "", &httpErr{http.StatusMethodNotAllowed, "Pull Request is not mergeable"}
	}
	tree := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	parents := []string{"-p", base}
	msg := fmt.Sprintf("%s (#%d)\n\n%s\n", pr.Title, pr.Number, pr.Body)
	switch strings.ToLower(method) {
	case "", "merge":
		parents = append(parents, "-p", head)
		msg = fmt.Sprintf("Merge pull request #%d from %s/%s\n\n%s\n", pr.Number, repo.Owner, pr.Head, pr.Title)
	case "squash":
	case "rebase":
		msg = s.mustRun(repo.Dir, "log", "-1", "--format=%B", head)
	default:
		return "", &httpErr{http.StatusUnprocessableEntity, "Invalid merge method"}
	}
	commit, err := s.run(repo.Dir, []byte(msg), s.botEnv(tok), append(append([]string{"commit-tree", tree}, parents...), "-F", "-")...)
	if err != nil {
		return "", &httpErr{http.StatusInternalServerError, err.Error()}
	}
	c := strings.TrimSpace(string(commit))
	if _, err := s.run(repo.Dir, nil, nil, "update-ref", "refs/heads/"+pr.Base, c, base); err != nil {
		return "", &httpErr{http.StatusConflict, "Base branch was modified. Review and try the merge again."}
	}
	s.mu.Lock()
	s.verified[c] = true
	pr.State, pr.Merged, pr.MergeCommit = "closed", true, c
	s.mu.Unlock()
	return c, nil
}

func (s *Server) mustRun(dir string, args ...string) string {
	out, _ := s.run(dir, nil, nil, args...)
	return string(out)
}

// botEnv is the identity GitHub gives commits it makes for an app: the
// app's bot as author, GitHub as committer.
func (s *Server) botEnv(tok *token) []string {
	app := tok.installation.App
	return []string{
		"GIT_AUTHOR_NAME=" + app.Bot(),
		fmt.Sprintf("GIT_AUTHOR_EMAIL=%d+%s@users.noreply.github.com", app.BotUserID, app.Bot()),
		"GIT_COMMITTER_NAME=GitHub", "GIT_COMMITTER_EMAIL=noreply@github.com",
	}
}

func (s *Server) isProtected(repo *Repo, branch string, tok *token) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return repo.protected(branch, tok)
}
