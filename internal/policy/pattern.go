package policy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/digestpin/digestpin/internal/imageref"
)

// Pattern matches image repositories. Every pattern names a repository, or
// a registry or path prefix, and matches it and everything below it at a
// path boundary: "ghcr.io/acme" matches "ghcr.io/acme/app" but not
// "ghcr.io/acme-evil/app".
//
// "*" alone matches every image. Otherwise a "*" in the registry host (the
// first segment, when the pattern has a "/" and that segment starts with
// "*" or looks like a host, or when a pattern without "/" looks like a
// host) matches any run of characters within the host, never a "/", so
// "*.example.com/*" cannot match "evil.io/x.example.com/app"; a "*" after
// the host matches any run of characters, "/" included.
//
// Docker Hub names are normalized as a container runtime would: "nginx"
// means "docker.io/library/nginx", "bitnami/*" means "docker.io/bitnami/*",
// and "index.docker.io" means "docker.io". An exemption may end in ":tag" to exempt only that
// tag.
//
// A pattern that could never match, or whose meaning would be a guess, is
// an error rather than a pattern that silently matches something else.
type Pattern struct {
	raw string
	all bool
	// repo is the normalized prefix of a pattern without "*".
	repo string
	glob *regexp.Regexp
	tag  string
}

var patternChars = regexp.MustCompile(`^[a-z0-9._\-/:*]+$`)

// ParsePattern parses one entry of an operator list. allowTag permits a
// ":tag" suffix, which only makes sense for exemptions.
func ParsePattern(s string, allowTag bool) (Pattern, error) {
	if !patternChars.MatchString(s) {
		return Pattern{}, fmt.Errorf("%q is not a registry or repository pattern (lowercase letters, digits, . _ - / : and * only)", s)
	}
	p := Pattern{raw: s}
	repo, tag := splitTag(s)
	if strings.HasSuffix(s, ":") {
		return Pattern{}, fmt.Errorf("%q has an empty tag", s)
	}
	if tag != "" && !allowTag {
		return Pattern{}, fmt.Errorf("%q names a tag; list registries or repositories", s)
	}
	if strings.Contains(tag, "*") {
		return Pattern{}, fmt.Errorf("%q: a tag cannot be a glob; list each tag, or exempt the repository", s)
	}
	if _, err := name.NewTag("example.com/x:"+tag, name.StrictValidation); tag != "" && err != nil {
		return Pattern{}, fmt.Errorf("%q: %q is not a valid tag, so it could never match", s, tag)
	}
	p.tag = tag
	repo = strings.TrimSuffix(repo, "/")
	if repo == "*" {
		p.all = true
		return p, nil
	}
	host, path, hasPath := strings.Cut(repo, "/")
	hostGlob := strings.Contains(host, "*") && (isHost(host) || hasPath && strings.HasPrefix(host, "*"))
	if !hostGlob && !hasPath && strings.Contains(host, "*") {
		return Pattern{}, fmt.Errorf("%q is ambiguous: a glob without \"/\" is \"*\" (every image) or names registries (\"*.example.com\"); for Docker Hub write \"docker.io/library/%s\"", s, repo)
	}
	if !hostGlob {
		repo = normalize(repo)
		host, path, hasPath = strings.Cut(repo, "/")
	}
	if err := checkParts(host, path, hasPath); err != nil {
		return Pattern{}, fmt.Errorf("%q %w, so it could never match", s, err)
	}
	if !strings.Contains(repo, "*") {
		p.repo = repo
		return p, nil
	}
	// The host's "*" stays within the host; the path's crosses "/".
	expr := "^" + globExpr(host, "[^/]*")
	if hasPath {
		expr += "/" + globExpr(path, ".*")
	}
	p.glob = regexp.MustCompile(expr + "(?:/.*)?$")
	return p, nil
}

func globExpr(glob, star string) string {
	parts := strings.Split(glob, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return strings.Join(parts, star)
}

// checkParts refuses what no image reference can hold: a host that is not
// one, an empty path segment, a colon after the host.
func checkParts(host, path string, hasPath bool) error {
	if _, err := name.NewRegistry(strings.ReplaceAll(host, "*", "0"), name.StrictValidation); err != nil || host == "" {
		return fmt.Errorf("has no valid registry host (%q)", host)
	}
	if !hasPath {
		return nil
	}
	for _, seg := range strings.Split(path, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("has an empty path segment")
		case strings.Contains(seg, ":"):
			return fmt.Errorf("has a colon after the registry host (%q)", seg)
		}
	}
	return nil
}

// splitTag splits "repo:tag" as a runtime reads a reference. A colon before
// the last slash, or in a lone "host:port", belongs to the registry.
func splitTag(s string) (repo, tag string) {
	repo, tag, _ = imageref.SplitDocker(s)
	if !strings.Contains(s, "/") && isHost(repo) {
		return s, ""
	}
	return repo, tag
}

func isHost(s string) bool { return strings.ContainsAny(s, ".:") || s == "localhost" }

// normalize writes Docker Hub shorthand in full, as image references are:
// a first segment without ".", ":" or "localhost" is not a registry host.
func normalize(repo string) string {
	first, rest, hasSlash := strings.Cut(repo, "/")
	switch {
	case first == "index.docker.io" && !hasSlash:
		return "docker.io"
	case first == "index.docker.io":
		return "docker.io/" + rest
	case isHost(first):
		return repo
	case !hasSlash:
		return "docker.io/library/" + repo
	default:
		return "docker.io/" + repo
	}
}

// Match reports whether ref's repository (and tag, for a tagged pattern)
// matches.
func (p Pattern) Match(ref imageref.Ref) bool {
	if p.tag != "" && p.tag != ref.Tag {
		return false
	}
	switch {
	case p.all:
		return true
	case p.glob != nil:
		return p.glob.MatchString(ref.Repository)
	}
	return ref.Repository == p.repo || strings.HasPrefix(ref.Repository, p.repo+"/")
}

func (p Pattern) String() string { return p.raw }
