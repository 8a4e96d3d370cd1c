// Package githubtest is an in-process GitHub for tests, serving exactly the
// parts of GitHub's API digestpin calls, as GitHub documents them, over real
// bare Git repositories. GitHub cannot be reached from where digestpin is
// developed; this server is how its GitHub code is tested end to end.
//
// It verifies App JWTs (RS256 signature with the app's public key; expired,
// future-dated and over-long tokens refused with GitHub's messages), issues
// installation tokens limited to the repositories and permissions asked for
// and enforces them on every call, serves Git's smart HTTP protocol through
// `git http-backend` to holders of a token (x-access-token basic auth),
// implements GraphQL createCommitOnBranch (a real commit written with git
// plumbing, recorded as signed so the REST commit endpoint reports it
// verified; a stale expectedHeadOid refused), updateRefs and
// enablePullRequestAutoMerge, the REST pull request endpoints (create, list,
// edit, label, merge) on real branches, and branch rules that refuse pushes
// and commits by actors not on the bypass list, worded as GitHub words them.
//
// GraphQL documents are not parsed: a request is recognised by the one
// mutation it names and its input is taken from the variables, which is how
// digestpin sends them. The package is for tests only.
package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digestpin/digestpin/internal/github"
)

// Server is an in-process GitHub. Its URL serves both the API (Enterprise
// Server layout: URL/api/v3 and URL/api/graphql, which is what
// github.ParseAPIURL makes of URL) and Git (URL/<owner>/<name>.git).
type Server struct {
	// URL is the base URL, http://127.0.0.1:<port>.
	URL string
	// Root holds the bare repositories, Root/<owner>/<name>.git.
	Root string

	// Now is the server's clock, used to judge JWTs and token expiry.
	// Default time.Now. Set before requests are made.
	Now func() time.Time
	// Intercept, when set, sees every request first and may answer it (to
	// inject rate limits or outages); it returns true when it answered.
	Intercept func(w http.ResponseWriter, r *http.Request) bool

	srv    *httptest.Server
	gitExe string
	home   string

	mu            sync.Mutex
	apps          map[string]*App
	installations map[int64]*Installation
	tokens        map[string]*token
	repos         map[string]*Repo
	verified      map[string]bool
	nextID        int64
	requests      []string
}

// App is a registered GitHub App.
type App struct {
	ID        int64
	Slug      string
	BotUserID int64
	Key       *rsa.PrivateKey
	// PEM is the private key as GitHub hands it out (PKCS#1).
	PEM []byte
}

// Bot is the app's bot account name, "<slug>[bot]".
func (a *App) Bot() string { return a.Slug + "[bot]" }

// IDString is the app ID in decimal.
func (a *App) IDString() string { return strconv.FormatInt(a.ID, 10) }

// Installation is an installation of an app on an account.
type Installation struct {
	ID          int64
	App         *App
	Account     string
	Repos       []string // repository names; nil means all of the account's
	Permissions github.Permissions
}

// Rule is a branch ruleset: changes to the branch must go through a pull
// request, except by the apps on the bypass list.
type Rule struct {
	// Bypass lists the IDs of apps that may push and commit directly.
	Bypass []int64
	// RequiredApprovals > 0 makes pull requests into the branch wait for
	// reviews (mergeStateStatus BLOCKED), so auto-merge can be enabled;
	// with 0 they are CLEAN and GitHub refuses to enable auto-merge.
	RequiredApprovals int
}

// Repo is a repository on the server.
type Repo struct {
	Owner, Name string
	// Dir is the bare repository.
	Dir    string
	NodeID string
	// AllowAutoMerge is the repository setting "Allow auto-merge".
	AllowAutoMerge bool

	rules  map[string]Rule
	prs    []*PullRequest
	lock   sync.Mutex // serialises API writes
	labels []string
}

// PullRequest is a pull request on the server.
type PullRequest struct {
	Number          int
	NodeID          string
	Title, Body     string
	Head, Base      string // branch names
	State           string // open or closed
	Merged          bool
	MergeCommit     string
	Labels          []string
	AutoMergeMethod string // "", MERGE, SQUASH or REBASE
	Author          string
}

type token struct {
	value        string
	installation *Installation
	repos        []string
	perms        github.Permissions
	expires      time.Time
}

// New starts a server that stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	gitExe, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		Root:          t.TempDir(),
		home:          t.TempDir(),
		gitExe:        gitExe,
		apps:          map[string]*App{},
		installations: map[int64]*Installation{},
		tokens:        map[string]*token{},
		repos:         map[string]*Repo{},
		verified:      map[string]bool{},
		nextID:        100,
	}
	s.srv = httptest.NewServer(s.routes())
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	return s
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

// NewApp registers an app with a fresh 2048-bit key.
func (s *Server) NewApp(t testing.TB, slug string) *App {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app := &App{ID: s.id(), Slug: slug, BotUserID: 41000000 + s.id(), Key: key,
		PEM: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})}
	s.apps[app.IDString()] = app
	return app
}

// Install installs app on account's repositories (nil: all of them) with
// the given permissions; metadata: read is always granted.
func (s *Server) Install(app *App, account string, repos []string, perms github.Permissions) *Installation {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := github.Permissions{"metadata": "read"}
	for k, v := range perms {
		p[k] = v
	}
	inst := &Installation{ID: s.id(), App: app, Account: account, Repos: repos, Permissions: p}
	s.installations[inst.ID] = inst
	return inst
}

// CreateRepo creates owner/name with files committed on main.
func (s *Server) CreateRepo(t testing.TB, owner, name string, files map[string]string) *Repo {
	t.Helper()
	dir := filepath.Join(s.Root, owner, name+".git")
	s.git(t, "", nil, "init", "--quiet", "--bare", "--initial-branch=main", dir)
	seed := t.TempDir()
	for p, content := range files {
		full := filepath.Join(seed, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.git(t, seed, nil, "init", "--quiet", "--initial-branch=main")
	s.git(t, seed, nil, "add", "--all")
	s.git(t, seed, nil, "-c", "user.name=Seed", "-c", "user.email=seed@example.com", "commit", "--quiet", "--allow-empty", "-m", "seed")
	s.git(t, seed, nil, "push", "--quiet", dir, "main")
	r := &Repo{Owner: owner, Name: name, Dir: dir, rules: map[string]Rule{},
		NodeID: "R_" + base64.RawStdEncoding.EncodeToString([]byte(owner+"/"+name))}
	s.mu.Lock()
	s.repos[owner+"/"+name] = r
	s.mu.Unlock()
	return r
}

// Protect sets the rule of a branch of r.
func (s *Server) Protect(r *Repo, branch string, rule Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.rules[branch] = rule
}

// CloneURL is the HTTP URL of r.
func (s *Server) CloneURL(r *Repo) string { return s.URL + "/" + r.Owner + "/" + r.Name + ".git" }

// Verified reports whether GitHub signed commit sha (it was made through
// the API).
func (s *Server) Verified(sha string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.verified[sha]
}

// Tokens returns every installation token issued so far.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v := range s.tokens {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// Grant is what an installation token was issued for.
type Grant struct {
	App         int64
	Repos       []string
	Permissions github.Permissions
}

// Grants returns what every token issued so far may do, in no order.
func (s *Server) Grants() []Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Grant
	for _, t := range s.tokens {
		out = append(out, Grant{App: t.installation.App.ID, Repos: slices.Clone(t.repos), Permissions: t.perms})
	}
	return out
}

// Requests returns "METHOD path" of every request so far (GraphQL requests
// as "POST /api/graphql <mutation>").
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// PullRequests returns copies of r's pull requests.
func (s *Server) PullRequests(r *Repo) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PullRequest
	for _, pr := range r.prs {
		cp := *pr
		cp.Labels = slices.Clone(pr.Labels)
		out = append(out, cp)
	}
	return out
}

// Head returns the commit r's branch points at, "" when it does not exist.
func (s *Server) Head(t testing.TB, r *Repo, branch string) string {
	t.Helper()
	out, err := s.run(r.Dir, nil, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func (s *Server) git(t testing.TB, dir string, stdin []byte, args ...string) string {
	t.Helper()
	out, err := s.run(dir, stdin, nil, args...)
	if err != nil {
		t.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// run runs git in dir (a bare repository or a work tree) with the server's
// isolated configuration.
func (s *Server) run(dir string, stdin []byte, env []string, args ...string) ([]byte, error) {
	cmd := exec.Command(s.gitExe, args...)
	cmd.Dir = dir
	cmd.Env = append(s.gitEnv(), env...)
	if stdin != nil {
		cmd.Stdin = strings.NewReader(string(stdin))
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return out, nil
}

func (s *Server) gitEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + s.home,
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C",
	}
}

func newToken() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "ghs_" + hex.EncodeToString(b)
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// restError answers as GitHub's REST API fails.
func restError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"message": message, "documentation_url": "https://docs.github.com/rest"})
}
