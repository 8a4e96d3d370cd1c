package githubtest

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/digestpin/digestpin/internal/github"
)

// GitHub's answers to a bad JWT.
const (
	msgJWTUndecodable = "A JSON web token could not be decoded"
	msgJWTExpired     = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	msgJWTTooFar      = "'Expiration time' claim ('exp') is too far in the future"
	msgJWTIssuedAt    = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	msgBadCredentials = "Bad credentials"
	msgNoAccess       = "Resource not accessible by integration"
)

// appFromJWT authenticates a request as an app, or answers 401 as GitHub
// does and returns nil.
func (s *Server) appFromJWT(w http.ResponseWriter, r *http.Request) *App {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		restError(w, http.StatusUnauthorized, msgJWTUndecodable)
		return nil
	}
	// The issuer is read before the signature is checked, to know whose
	// public key checks it; nothing is trusted until then.
	var app *App
	s.mu.Lock()
	for _, a := range s.apps {
		if _, err := github.VerifyJWT(raw, &a.Key.PublicKey); err == nil {
			app = a
			break
		}
	}
	s.mu.Unlock()
	if app == nil {
		restError(w, http.StatusUnauthorized, msgJWTUndecodable)
		return nil
	}
	c, _ := github.VerifyJWT(raw, &app.Key.PublicKey)
	now := s.now().Unix()
	switch {
	case c.ISS != app.IDString():
		restError(w, http.StatusUnauthorized, msgJWTUndecodable)
	case c.IAT > now:
		restError(w, http.StatusUnauthorized, msgJWTIssuedAt)
	case c.EXP <= now:
		restError(w, http.StatusUnauthorized, msgJWTExpired)
	case c.EXP > now+int64(github.MaxJWTLifetime/time.Second) || c.EXP-c.IAT > int64(github.MaxJWTLifetime/time.Second):
		restError(w, http.StatusUnauthorized, msgJWTTooFar)
	default:
		return app
	}
	return nil
}

// tokenFrom returns the installation token of an API request ("token X"
// or "Bearer X"), or answers 401.
func (s *Server) tokenFrom(w http.ResponseWriter, r *http.Request) *token {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "token ")
	if !ok {
		raw, ok = strings.CutPrefix(h, "Bearer ")
	}
	if tok := s.lookupToken(raw); ok && tok != nil {
		return tok
	}
	restError(w, http.StatusUnauthorized, msgBadCredentials)
	return nil
}

func (s *Server) lookupToken(raw string) *token {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.tokens[raw]
	if tok == nil || !s.now().Before(tok.expires) {
		return nil
	}
	return tok
}

// repoFor returns the repository owner/name if tok may see it; otherwise it
// answers 404, as GitHub hides what a token cannot see.
func (s *Server) repoFor(w http.ResponseWriter, tok *token, owner, name string) *Repo {
	s.mu.Lock()
	repo := s.repos[owner+"/"+name]
	s.mu.Unlock()
	if repo == nil || !tok.canSee(repo) {
		restError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	return repo
}

func (t *token) canSee(r *Repo) bool {
	return strings.EqualFold(t.installation.Account, r.Owner) && slices.Contains(t.repos, r.Name)
}

// has reports whether the token grants permission at level or above.
func (t *token) has(permission, level string) bool {
	rank := map[string]int{"read": 1, "write": 2, "admin": 3}
	return rank[t.perms[permission]] >= rank[level]
}

// require answers 403 as GitHub does unless tok grants every permission
// ("contents=write"); it returns whether the request may go on.
func require(w http.ResponseWriter, tok *token, perms ...string) bool {
	for _, p := range perms {
		k, v, _ := strings.Cut(p, "=")
		if !tok.has(k, v) {
			w.Header().Set("X-Accepted-GitHub-Permissions", strings.Join(perms, ","))
			restError(w, http.StatusForbidden, msgNoAccess)
			return false
		}
	}
	return true
}

// bypasses reports whether the token's app may change branch directly.
func (r *Repo) protected(branch string, tok *token) bool {
	rule, ok := r.rules[branch]
	return ok && !slices.Contains(rule.Bypass, tok.installation.App.ID)
}
