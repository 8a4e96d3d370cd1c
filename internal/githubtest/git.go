package githubtest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/url"
	"strconv"
	"strings"
)

// serveGit serves Git's smart HTTP protocol for /<owner>/<name>.git/...
// through git http-backend, to holders of an installation token that can
// see the repository: contents read to fetch, contents write to push, and
// no push to a protected branch unless the app bypasses its rule.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request) {
	owner, name := r.PathValue("owner"), strings.TrimSuffix(r.PathValue("repo"), ".git")
	service := r.URL.Query().Get("service")
	if r.Method == http.MethodPost {
		service = r.PathValue("service")
	}
	if service != "git-upload-pack" && service != "git-receive-pack" {
		http.Error(w, "Not Found", http.StatusNotFound)
		return
	}
	tok := s.basicToken(r)
	if tok == nil {
		// GitHub asks for credentials; git has none to give (no prompt),
		// so it reports the failed authentication.
		w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		http.Error(w, "Invalid username or token. Password authentication is not supported for Git operations.", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	repo := s.repos[owner+"/"+name]
	s.mu.Unlock()
	if repo == nil || !tok.canSee(repo) || !tok.has("contents", "read") {
		http.Error(w, "Repository not found.", http.StatusNotFound)
		return
	}
	if service == "git-receive-pack" && !tok.has("contents", "write") {
		http.Error(w, fmt.Sprintf("Permission to %s/%s.git denied to %s.", repo.Owner, repo.Name, tok.installation.App.Bot()), http.StatusForbidden)
		return
	}
	if r.Method == http.MethodPost && service == "git-receive-pack" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if s.refusePush(w, r, repo, tok, body) {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	h := &cgi.Handler{
		Path: s.gitExe,
		Args: []string{"http-backend"},
		Env: append(s.gitEnv(),
			"GIT_PROJECT_ROOT="+s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER="+tok.installation.App.Bot()),
	}
	h.ServeHTTP(w, r)
}

// basicToken returns the installation token of a Git request, sent as the
// password of HTTP basic authentication (any user name; GitHub's convention
// is x-access-token).
func (s *Server) basicToken(r *http.Request) *token {
	h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Basic ")
	if !ok {
		return nil
	}
	dec, err := base64.StdEncoding.DecodeString(h)
	if err != nil {
		return nil
	}
	_, pass, _ := strings.Cut(string(dec), ":")
	return s.lookupToken(pass)
}

// refusePush answers a push that updates a protected branch, as GitHub's
// rulesets refuse it, and reports whether it did.
func (s *Server) refusePush(w http.ResponseWriter, r *http.Request, repo *Repo, tok *token, body []byte) bool {
	plain := body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return false
		}
		if plain, err = io.ReadAll(zr); err != nil {
			return false
		}
	}
	cmds, caps := receiveCommands(plain)
	var refused []string
	for _, c := range cmds {
		branch, ok := strings.CutPrefix(c, "refs/heads/")
		if ok && s.isProtected(repo, branch, tok) {
			refused = append(refused, c)
		}
	}
	if len(refused) == 0 {
		return false
	}
	var msgs strings.Builder
	for _, ref := range refused {
		fmt.Fprintf(&msgs, "error: GH013: Repository rule violations found for %s.\n", ref)
		fmt.Fprintf(&msgs, "Review all repository rules at %s/%s/%s/rules?ref=%s\n", s.URL, repo.Owner, repo.Name, url.QueryEscape(ref))
		msgs.WriteString("\n- Changes must be made through a pull request.\n\n")
	}
	var report bytes.Buffer
	report.WriteString(pkt("unpack ok\n"))
	for _, c := range cmds {
		reason := "atomic push failed"
		for _, ref := range refused {
			if ref == c {
				reason = "push declined due to repository rule violations"
			}
		}
		report.WriteString(pkt("ng " + c + " " + reason + "\n"))
	}
	report.WriteString("0000")
	w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
	w.Header().Set("Cache-Control", "no-cache")
	if strings.Contains(caps, "side-band-64k") || strings.Contains(caps, "side-band") {
		for line := range strings.Lines(msgs.String()) {
			io.WriteString(w, pkt("\x02"+line))
		}
		io.WriteString(w, pkt("\x01"+report.String()))
		io.WriteString(w, "0000")
	} else {
		w.Write(report.Bytes())
	}
	return true
}

// receiveCommands parses the ref update commands at the start of a
// receive-pack request: the refs updated and the capabilities.
func receiveCommands(b []byte) (refs []string, caps string) {
	for len(b) >= 4 {
		n, err := strconv.ParseUint(string(b[:4]), 16, 16)
		if err != nil || n == 0 || int(n) > len(b) || n < 4 {
			break
		}
		line := string(b[4:n])
		b = b[n:]
		line, c, hasCaps := strings.Cut(strings.TrimSuffix(line, "\n"), "\x00")
		if hasCaps {
			caps = c
		}
		if strings.HasPrefix(line, "shallow ") {
			continue
		}
		if f := strings.Fields(line); len(f) == 3 {
			refs = append(refs, f[2])
		}
	}
	return refs, caps
}

func pkt(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }
