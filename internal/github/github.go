// Package github is the part of the GitHub API digestpin needs to change a
// repository the way GitHub teams govern change: it authenticates as a GitHub
// App (an RS256 JSON Web Token exchanged for an installation token limited
// to one repository and the permissions asked for), creates commits through
// GraphQL createCommitOnBranch with expectedHeadOid (so GitHub signs them and
// a concurrent writer is detected, never overwritten), moves refs with a
// compare-and-swap (GraphQL updateRefs), and opens, finds, edits, labels and
// auto-merges pull requests.
//
// Every failure is an *Error that names the operation and wraps one of the
// sentinel errors below (test with errors.Is), so callers can tell a bad key
// from a missing permission, a ruleset, a missing installation, a refused
// input, a rate limit and a lost race. The private key, the JWT and the
// installation token never appear in an error: messages are built from
// GitHub's answers with the secrets this client knows replaced, and from
// text this package writes itself. GitHub's texts are reduced to one line,
// so that they cannot forge lines of digestpin's output.
//
// The package knows nothing of digestpin's command line.
package github

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"

	"github.com/digestpin/digestpin/internal/redact"
)

// DefaultAPIURL is the REST API of github.com.
const DefaultAPIURL = "https://api.github.com"

// Endpoints are the base URLs of GitHub's REST and GraphQL APIs.
type Endpoints struct {
	// REST is the base of the REST API, without a trailing slash, such as
	// "https://api.github.com" or "https://ghe.example.com/api/v3".
	REST string
	// GraphQL is the GraphQL endpoint, such as
	// "https://api.github.com/graphql" or "https://ghe.example.com/api/graphql".
	GraphQL string
}

// ParseAPIURL returns the endpoints for an API URL as users give it, following
// GitHub's layout: on github.com, REST is at https://api.github.com and
// GraphQL at https://api.github.com/graphql; on GitHub Enterprise Server
// (any other host), REST is at <host>/api/v3 and GraphQL at <host>/api/graphql.
// raw may be the host ("https://ghe.example.com") or the REST base
// ("https://ghe.example.com/api/v3"); "" means github.com. Plain http:// is
// accepted only for loopback hosts (tests, air-gapped mirrors on the same
// machine): anywhere else it would send the token in the clear.
func ParseAPIURL(raw string) (Endpoints, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = DefaultAPIURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoints{}, fmt.Errorf("GitHub API URL %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return Endpoints{}, fmt.Errorf("GitHub API URL %q: want an https:// URL", raw)
	case u.Host == "":
		return Endpoints{}, fmt.Errorf("GitHub API URL %q has no host", raw)
	case u.User != nil:
		return Endpoints{}, fmt.Errorf("GitHub API URL must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return Endpoints{}, fmt.Errorf("GitHub API URL %q must not have a query or fragment", raw)
	case u.Scheme == "http" && !IsLoopback(u.Hostname()):
		return Endpoints{}, fmt.Errorf("GitHub API URL %q: plain http:// is allowed for loopback hosts only; use https://", raw)
	}
	base := u.Scheme + "://" + u.Host
	p := strings.TrimSuffix(path.Clean("/"+u.Path), "/")
	if strings.EqualFold(u.Hostname(), "api.github.com") {
		if p != "" {
			return Endpoints{}, fmt.Errorf("GitHub API URL %q: api.github.com takes no path", raw)
		}
		return Endpoints{REST: base, GraphQL: base + "/graphql"}, nil
	}
	// Enterprise Server: the host, optionally below a path prefix, then
	// /api/v3 (REST) and /api/graphql.
	prefix, _ := strings.CutSuffix(p, "/api/v3")
	prefix = strings.TrimSuffix(prefix, "/api")
	return Endpoints{REST: base + prefix + "/api/v3", GraphQL: base + prefix + "/api/graphql"}, nil
}

// IsLoopback reports whether host (a name or an address, without port) is
// localhost or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Repo names a repository on GitHub.
type Repo struct {
	Owner, Name string
}

// String returns "owner/name".
func (r Repo) String() string { return r.Owner + "/" + r.Name }

// ParseRemote returns the repository a Git remote URL points to:
// https://github.com/owner/name(.git), ssh://git@host/owner/name.git,
// git@host:owner/name.git, and the same forms on an Enterprise Server or
// loopback host. Credentials in the URL are ignored and never echoed.
func ParseRemote(remote string) (Repo, error) {
	remote = strings.TrimSpace(remote)
	var p string
	if strings.Contains(remote, "://") {
		u, err := url.Parse(remote)
		if err != nil {
			return Repo{}, errors.New("the remote URL does not parse")
		}
		p = u.Path
	} else if at := strings.Index(remote, ":"); at > 0 && !strings.Contains(remote[:at], "/") {
		p = remote[at+1:] // scp-like: [user@]host:owner/name.git
	} else {
		return Repo{}, fmt.Errorf("remote %q is not a URL of a GitHub repository", remote)
	}
	p = strings.Trim(p, "/")
	p = strings.TrimSuffix(p, ".git")
	owner, name, ok := strings.Cut(p, "/")
	if !ok || !validName(owner) || !validName(name) {
		return Repo{}, fmt.Errorf("remote %s is not a URL of a GitHub repository (want .../OWNER/REPO)", redactURL(remote))
	}
	return Repo{Owner: owner, Name: name}, nil
}

// validName accepts GitHub owner and repository names: letters, digits,
// '-', '_' and '.', not "." or "..".
func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// redactURL drops the userinfo of a URL for messages.
func redactURL(s string) string {
	var none redact.Secrets
	return none.Text(s)
}
