package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseAPIURL(t *testing.T) {
	tests := []struct{ in, rest, graphql, err string }{
		{"", "https://api.github.com", "https://api.github.com/graphql", ""},
		{"https://api.github.com", "https://api.github.com", "https://api.github.com/graphql", ""},
		{"https://api.github.com/", "https://api.github.com", "https://api.github.com/graphql", ""},
		{"https://ghe.example.com", "https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql", ""},
		{"https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql", ""},
		{"https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql", ""},
		{"https://ghe.example.com/api", "https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v3", "http://127.0.0.1:8080/api/graphql", ""},
		{"http://localhost:8080/api/v3", "http://localhost:8080/api/v3", "http://localhost:8080/api/graphql", ""},
		{"http://[::1]:8080", "http://[::1]:8080/api/v3", "http://[::1]:8080/api/graphql", ""},
		{"http://ghe.example.com", "", "", `GitHub API URL "http://ghe.example.com": plain http:// is allowed for loopback hosts only; use https://`},
		{"ftp://x", "", "", `GitHub API URL "ftp://x": want an https:// URL`},
		{"https://user:secret@ghe.example.com", "", "", "GitHub API URL must not carry credentials"},
		{"https://api.github.com/v3", "", "", `GitHub API URL "https://api.github.com/v3": api.github.com takes no path`},
	}
	for _, tt := range tests {
		ep, err := ParseAPIURL(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseAPIURL(%q) error = %v, want %s", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || ep.REST != tt.rest || ep.GraphQL != tt.graphql {
			t.Errorf("ParseAPIURL(%q) = %+v, %v; want %s %s", tt.in, ep, err, tt.rest, tt.graphql)
		}
	}
}

func TestParseRemote(t *testing.T) {
	for in, want := range map[string]string{
		"https://github.com/acme/shop-config.git":                       "acme/shop-config",
		"https://github.com/acme/shop-config":                           "acme/shop-config",
		"https://x-access-token:SECRET@github.com/acme/shop-config.git": "acme/shop-config",
		"git@github.com:acme/shop-config.git":                           "acme/shop-config",
		"ssh://git@ghe.example.com/acme/shop.config.git":                "acme/shop.config",
		"http://127.0.0.1:5000/acme/config.git":                         "acme/config",
		"https://github.com/acme/shop-config/":                          "acme/shop-config",
	} {
		r, err := ParseRemote(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseRemote(%q) = %v, %v; want %s", in, r, err, want)
		}
	}
	for _, in := range []string{"/tmp/config.git", "https://github.com/acme", "https://github.com/acme/a/b", "https://x:SECRET@github.com/a/b/c"} {
		_, err := ParseRemote(in)
		if err == nil {
			t.Errorf("ParseRemote(%q) succeeded", in)
		} else if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("ParseRemote(%q) error shows the password: %v", in, err)
		}
	}
}

func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestJWT(t *testing.T) {
	key := testKey(t)
	now := time.Unix(1_700_000_000, 0)
	for _, id := range []string{"12345", "Iv1.abcdef"} {
		app := &App{ID: id, Key: key}
		tok, err := app.JWT(now)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(tok, ".")
		header, _ := base64.RawURLEncoding.DecodeString(parts[0])
		if string(header) != `{"alg":"RS256","typ":"JWT"}` {
			t.Errorf("header %s", header)
		}
		claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
		want := `{"iat":1699999940,"exp":1700000540,"iss":12345}`
		if id != "12345" {
			want = `{"iat":1699999940,"exp":1700000540,"iss":"Iv1.abcdef"}`
		}
		if string(claims) != want {
			t.Errorf("claims %s, want %s", claims, want)
		}
		c, err := VerifyJWT(tok, &key.PublicKey)
		if err != nil || c.ISS != id || c.EXP-c.IAT > int64(MaxJWTLifetime/time.Second) {
			t.Errorf("VerifyJWT = %+v, %v", c, err)
		}
		if _, err := VerifyJWT(tok, &testKey(t).PublicKey); err == nil || err.Error() != "bad signature" {
			t.Errorf("VerifyJWT with another key: %v", err)
		}
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iat":1699999940,"exp":1800000540,"iss":12345}`)) + "." + parts[2]
		if _, err := VerifyJWT(tampered, &key.PublicKey); err == nil {
			t.Error("VerifyJWT accepted tampered claims")
		}
	}
}

func TestParseAppKey(t *testing.T) {
	key := testKey(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pkcs8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, in := range [][]byte{pkcs1, pkcs8} {
		got, err := ParseAppKey(in)
		if err != nil || !got.Equal(key) {
			t.Errorf("ParseAppKey: %v", err)
		}
	}
	secret := "-----BEGIN RSA PRIVATE KEY-----\nSECRETSECRET\n-----END RSA PRIVATE KEY-----\n"
	for in, want := range map[string]string{
		"SECRETSECRET": "the GitHub App private key is not PEM (it should begin with -----BEGIN RSA PRIVATE KEY-----)",
		secret:         "the GitHub App private key is not a valid PKCS#1 RSA key",
		"-----BEGIN RSA PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END RSA PRIVATE KEY-----\n": "the GitHub App private key is not a valid PKCS#1 RSA key",
		"-----BEGIN CERTIFICATE-----\nU0VDUkVUU0VDUkVU\n-----END CERTIFICATE-----\n":         `the GitHub App private key is a PEM block of type "CERTIFICATE", want "RSA PRIVATE KEY"`,
	} {
		_, err := ParseAppKey([]byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("ParseAppKey(%q) = %v, want %s", in, err, want)
		}
	}
}

// fake is an API that answers each request with the next canned answer.
type fake struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter, r *http.Request)
	seen    []string
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	body, _ := io.ReadAll(r.Body)
	f.seen = append(f.seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization")+" "+string(body))
	if len(f.answers) == 0 {
		f.mu.Unlock()
		http.Error(w, "unexpected", 500)
		return
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	f.mu.Unlock()
	a(w, r)
}

func answer(status int, body string, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func newFake(t *testing.T, answers ...func(http.ResponseWriter, *http.Request)) (*Client, *fake, *[]time.Duration) {
	t.Helper()
	f := &fake{answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	var slept []time.Duration
	c, err := New(Options{APIURL: srv.URL, MaxWait: 90 * time.Second, Sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c, f, &slept
}

var repo = Repo{Owner: "acme", Name: "config"}

func TestAuthenticate(t *testing.T) {
	app := &App{ID: "42", Key: testKey(t)}
	c, f, _ := newFake(t,
		answer(200, `{"id":7,"app_slug":"pinner","permissions":{"contents":"write","metadata":"read","pull_requests":"write"}}`),
		answer(201, `{"token":"ghs_SECRETTOKEN","expires_at":"2030-01-01T00:00:00Z","permissions":{"contents":"write"}}`),
		answer(403, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest"}`, "X-Accepted-GitHub-Permissions", "contents=write; pull_requests=write"),
	)
	tc, tok, err := c.Authenticate(context.Background(), app, 0, repo, Permissions{"contents": "write"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.Token != "ghs_SECRETTOKEN" {
		t.Errorf("token %q", tok.Token)
	}
	if !strings.HasPrefix(f.seen[0], "GET /api/v3/repos/acme/config/installation Bearer ") {
		t.Errorf("first request %s", f.seen[0])
	}
	if !strings.HasPrefix(f.seen[1], "POST /api/v3/app/installations/7/access_tokens Bearer ") ||
		!strings.HasSuffix(f.seen[1], ` {"permissions":{"contents":"write"},"repositories":["config"]}`) {
		t.Errorf("second request %s", f.seen[1])
	}
	_, err = tc.Repository(context.Background(), repo)
	if !strings.Contains(f.seen[2], " token ghs_SECRETTOKEN ") {
		t.Errorf("third request %s", f.seen[2])
	}
	want := `reading repository acme/config: GitHub answered 403 Forbidden: "Resource not accessible by integration"; the GitHub App's installation lacks the "contents: write" or "pull_requests: write" permission: grant it in the app's settings and approve it on the installation`
	if !errors.Is(err, ErrForbidden) || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
}

func TestAuthenticateErrors(t *testing.T) {
	app := &App{ID: "42", Key: testKey(t)}
	ctx := context.Background()
	perms := Permissions{"contents": "write", "pull_requests": "write"}
	tests := []struct {
		name    string
		id      int64
		answers []func(http.ResponseWriter, *http.Request)
		kind    error
		want    string
	}{
		{"bad key", 0, []func(http.ResponseWriter, *http.Request){answer(401, `{"message":"A JSON web token could not be decoded"}`)}, ErrUnauthorized,
			`finding the installation of GitHub App 42 on acme/config: GitHub answered 401 Unauthorized: "A JSON web token could not be decoded"; GitHub refused the JSON Web Token of app 42: the private key is not this app's, or this machine's clock is more than a minute off GitHub's (check NTP)`},
		{"not installed", 0, []func(http.ResponseWriter, *http.Request){answer(404, `{"message":"Not Found"}`)}, ErrNotInstalled,
			`finding the installation of GitHub App 42 on acme/config: GitHub answered 404 Not Found: "Not Found"; GitHub App 42 is not installed on acme/config (or that repository does not exist): install the app on it`},
		{"permission missing", 0, []func(http.ResponseWriter, *http.Request){answer(200, `{"id":7,"permissions":{"contents":"write","metadata":"read"}}`)}, ErrForbidden,
			`checking the permissions of GitHub App 42 on acme/config: GitHub refused it: "the installation grants contents: write, metadata: read"; the GitHub App's installation lacks the "pull_requests: write" permission: grant it in the app's settings and approve it on the installation`},
		{"permission not granted to the token", 9, []func(http.ResponseWriter, *http.Request){answer(422, `{"message":"The permissions requested are not granted to this installation."}`)}, ErrForbidden,
			`creating an installation token of GitHub App 42 for acme/config: GitHub answered 422 Unprocessable Entity: "The permissions requested are not granted to this installation."; the installation does not grant all of "contents: write, pull_requests: write": grant them in the app's settings and approve them on the installation`},
		{"repository outside the installation", 9, []func(http.ResponseWriter, *http.Request){answer(422, `{"message":"There is at least one repository that does not exist or is not accessible to the parent installation."}`)}, ErrNotInstalled,
			`creating an installation token of GitHub App 42 for acme/config: GitHub answered 422 Unprocessable Entity: "There is at least one repository that does not exist or is not accessible to the parent installation."; installation 9 of GitHub App 42 cannot reach acme/config: add the repository to the installation`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := newFake(t, tt.answers...)
			_, _, err := c.Authenticate(ctx, app, tt.id, repo, perms)
			if !errors.Is(err, tt.kind) || err.Error() != tt.want {
				t.Errorf("error =\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	ctx := context.Background()
	secondary := `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`
	c, f, slept := newFake(t,
		answer(403, secondary, "Retry-After", "30"),
		answer(429, secondary),
		answer(200, `{"node_id":"R_1","default_branch":"main"}`),
	)
	c = c.WithToken("ghs_T")
	r, err := c.Repository(ctx, repo)
	if err != nil || r.NodeID != "R_1" {
		t.Fatalf("Repository = %+v, %v", r, err)
	}
	if len(f.seen) != 3 || len(*slept) != 2 || (*slept)[0] != 30*time.Second || (*slept)[1] != time.Minute {
		t.Errorf("requests %d, waits %v; want 3 requests and waits [30s 1m]", len(f.seen), *slept)
	}
	// The budget (90 s) is spent: the next limit fails at once.
	f.answers = append(f.answers, answer(403, secondary, "Retry-After", "5"))
	_, err = c.Repository(ctx, repo)
	want := `reading repository acme/config: GitHub answered 403 Forbidden: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."; GitHub asks to wait 5s, longer than the time left to wait (0s); run again later`
	if !errors.Is(err, ErrRateLimited) || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
}

func TestGraphQLErrors(t *testing.T) {
	ctx := context.Background()
	in := CommitOnBranch{Repo: repo, Branch: "main", ExpectedHead: strings.Repeat("a", 40), Message: "Pin x\n\nbody line\n\nTrailer: y\n",
		Additions: []FileAddition{{Path: "apps/k.yaml", Contents: []byte("a: 1\n")}}}
	tests := []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request)
		kind   error
		want   string
	}{
		{"stale", answer(200, `{"data":{"createCommitOnBranch":null},"errors":[{"type":"STALE_DATA","path":["createCommitOnBranch"],"message":"Expected branch to point to \"aaaa\" but it did not.  Pull and try again."}]}`), ErrStaleHead,
			`creating a commit on acme/config branch "main" through the API: GitHub refused it: "Expected branch to point to \"aaaa\" but it did not. Pull and try again."; another writer moved the branch; nothing was changed`},
		{"ruleset", answer(200, `{"data":{"createCommitOnBranch":null},"errors":[{"type":"UNPROCESSABLE","message":"Repository rule violations found\n\nChanges must be made through a pull request.\n\n"}]}`), ErrRuleViolation,
			`creating a commit on acme/config branch "main" through the API: GitHub refused it: "Repository rule violations found Changes must be made through a pull request."; a branch protection rule or ruleset refuses direct changes to "main" by this identity: change it through a pull request, or make the GitHub App the ruleset's bypass actor`},
		{"forbidden", answer(200, `{"data":{"createCommitOnBranch":null},"errors":[{"type":"FORBIDDEN","message":"Resource not accessible by integration"}]}`), ErrForbidden,
			`creating a commit on acme/config branch "main" through the API: GitHub refused it: "Resource not accessible by integration"; the GitHub App's installation lacks the "contents: write" permission: grant it in the app's settings and approve it on the installation`},
		{"unauthorized", answer(401, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/graphql"}`), ErrUnauthorized,
			`creating a commit on acme/config branch "main" through the API: GitHub answered 401 Unauthorized: "Bad credentials"; GitHub refused the installation token; it may have expired`},
		{"forged lines", answer(200, "{\"errors\":[{\"type\":\"SOMETHING\",\"message\":\"bad\\nsuperseded: fake line ghs_SECRET\\u001b[31m\"}]}"), ErrUnprocessable,
			`creating a commit on acme/config branch "main" through the API: GitHub refused it: "bad superseded: fake line xxxxx\x1b[31m"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f, _ := newFake(t, tt.answer)
			_, err := c.WithToken("ghs_SECRET").CreateCommitOnBranch(ctx, in)
			if !errors.Is(err, tt.kind) || err.Error() != tt.want {
				t.Errorf("error =\n%v\nwant\n%s", err, tt.want)
			}
			var sent struct {
				Query     string `json:"query"`
				Variables struct {
					Input json.RawMessage `json:"input"`
				} `json:"variables"`
			}
			_, body, _ := strings.Cut(strings.SplitN(f.seen[0], " ", 4)[3], " ")
			if err := json.Unmarshal([]byte(body), &sent); err != nil {
				t.Fatalf("request body %s: %v", body, err)
			}
			wantInput := `{"branch":{"branchName":"main","repositoryNameWithOwner":"acme/config"},"expectedHeadOid":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","fileChanges":{"additions":[{"contents":"YTogMQo=","path":"apps/k.yaml"}],"deletions":[]},"message":{"body":"body line\n\nTrailer: y","headline":"Pin x"}}`
			if string(sent.Variables.Input) != wantInput || !strings.Contains(sent.Query, "createCommitOnBranch(input: $input)") {
				t.Errorf("sent %s\n%s", sent.Query, sent.Variables.Input)
			}
		})
	}
}

func TestRESTRuleViolationAnd422(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newFake(t,
		answer(422, `{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:digestpin/apps-web."}]}`),
	)
	_, err := c.WithToken("ghs_tok123").CreatePullRequest(ctx, repo, NewPullRequest{Title: "t", Head: "digestpin/apps-web", Base: "main"})
	want := `opening a pull request on acme/config from "digestpin/apps-web" into "main": GitHub answered 422 Unprocessable Entity: "Validation Failed: A pull request already exists for acme:digestpin/apps-web."`
	if !errors.Is(err, ErrUnprocessable) || err.Error() != want {
		t.Errorf("error =\n%v\nwant\n%s", err, want)
	}
}
