package policy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/digestpin/digestpin/internal/imageref"
)

// Pattern matches image repositories. Without "*" it is a repository
// prefix that matches at a path boundary: "ghcr.io/acme" matches
// "ghcr.io/acme/app" but not "ghcr.io/acme-evil/app". With "*" it is a glob
// whose "*" matches any run of characters, "/" included. Docker Hub names
// are normalized as a container runtime would: "nginx" means
// "docker.io/library/nginx". An exemption may end in ":tag" to exempt only
// that tag.
type Pattern struct {
	raw  string
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
	p.repo, p.tag = splitTag(s)
	if p.tag != "" && !allowTag {
		return Pattern{}, fmt.Errorf("%q names a tag; list registries or repositories", s)
	}
	if strings.HasSuffix(s, ":") {
		return Pattern{}, fmt.Errorf("%q has an empty tag", s)
	}
	p.repo = normalize(strings.TrimSuffix(p.repo, "/"))
	if strings.Contains(p.repo, "*") {
		parts := strings.Split(p.repo, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		p.glob = regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
	}
	return p, nil
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
	case first == "index.docker.io":
		return "docker.io/" + rest
	case isHost(first):
		return repo
	case !hasSlash && !strings.Contains(first, "*"):
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
	if p.glob != nil {
		return p.glob.MatchString(ref.Repository)
	}
	return ref.Repository == p.repo || strings.HasPrefix(ref.Repository, p.repo+"/")
}

func (p Pattern) String() string { return p.raw }
