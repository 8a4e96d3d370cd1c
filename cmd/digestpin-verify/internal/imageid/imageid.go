// Package imageid reads what a node says it runs: the image ID a container
// runtime reports in a Pod's status.containerStatuses[].imageID, and the
// image references Kubernetes objects name.
//
// Runtimes spell the same fact differently. Docker through dockershim or
// cri-dockerd reports "docker-pullable://repo@sha256:…", containerd and
// CRI-O report "repo@sha256:…", and a runtime that knows no repository
// digest for an image (built locally, or loaded from a tarball) reports only
// "sha256:…" — then the image's ID, usually its config digest. Parse tells
// the three apart so that a comparison never mistakes one for another.
package imageid

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ID is a parsed runtime image ID.
type ID struct {
	// Raw is the imageID exactly as the node reported it.
	Raw string
	// Repository is the repository the runtime pulled from, normalized
	// (Docker Hub as "index.docker.io/library/nginx"); "" when the runtime
	// reported a bare digest.
	Repository string
	// Digest is "<algorithm>:<hex>".
	Digest string
}

// Bare reports whether the runtime named no repository: the digest may be
// the image's ID (its config digest) rather than a manifest digest.
func (id ID) Bare() bool { return id.Repository == "" }

var digestRE = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$`)

// runtimePrefixes are the URL-like schemes runtimes put in front of an
// image ID.
var runtimePrefixes = []string{"docker-pullable://", "docker://", "containerd://", "cri-o://"}

// Parse reads an imageID. It accepts "docker-pullable://repo@sha256:…",
// "repo@sha256:…" (a tag before the "@" is ignored, as runtimes do), and a
// bare "sha256:…", each with or without one of the runtime prefixes.
func Parse(raw string) (ID, error) {
	s := raw
	for _, p := range runtimePrefixes {
		if strings.HasPrefix(s, p) {
			s = s[len(p):]
			break
		}
	}
	if s == "" {
		return ID{}, fmt.Errorf("the node reports no image ID")
	}
	at := strings.LastIndex(s, "@")
	if at < 0 {
		if !digestRE.MatchString(s) {
			return ID{}, fmt.Errorf("image ID %q names no digest", raw)
		}
		return ID{Raw: raw, Digest: s}, nil
	}
	repo, digest := s[:at], s[at+1:]
	if !digestRE.MatchString(digest) {
		return ID{}, fmt.Errorf("image ID %q has a malformed digest", raw)
	}
	tag, err := name.NewTag(repo, name.WeakValidation, name.WithDefaultTag(""))
	if err != nil {
		return ID{}, fmt.Errorf("image ID %q names no valid repository", raw)
	}
	return ID{Raw: raw, Repository: tag.Context().Name(), Digest: digest}, nil
}

// Ref is a parsed image reference from an object: what a Pod or a pod
// template asks for.
type Ref struct {
	// Raw is the reference as written.
	Raw string
	// Repository is normalized like ID.Repository.
	Repository string
	// Tag is the tag as written, "" when there is none.
	Tag string
	// Digest is "<algorithm>:<hex>", "" when the reference names none.
	Digest string
}

// Pinned reports whether the reference names a digest.
func (r Ref) Pinned() bool { return r.Digest != "" }

// ParseRef reads an image reference: "repo", "repo:tag", "repo@digest" or
// "repo:tag@digest".
func ParseRef(raw string) (Ref, error) {
	base, digest, hasDigest := strings.Cut(raw, "@")
	if hasDigest && !digestRE.MatchString(digest) {
		return Ref{}, fmt.Errorf("image %q has a malformed digest", raw)
	}
	tag, err := name.NewTag(base, name.WeakValidation, name.WithDefaultTag(""))
	if err != nil {
		// go-containerregistry's message repeats the input unquoted.
		return Ref{}, fmt.Errorf("image %q is not a valid reference", raw)
	}
	return Ref{Raw: raw, Repository: tag.Context().Name(), Tag: tag.TagStr(), Digest: digest}, nil
}

// Repository normalizes a repository name the way go-containerregistry
// does, so that "nginx", "docker.io/library/nginx" and
// "index.docker.io/library/nginx" compare equal.
func Repository(repo string) (string, error) {
	r, err := name.NewRepository(repo, name.WeakValidation)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid repository", repo)
	}
	return r.Name(), nil
}

// Host returns the registry host of a normalized repository.
func Host(repo string) string {
	host, _, _ := strings.Cut(repo, "/")
	return host
}

// Path returns a normalized repository without its registry host.
func Path(repo string) string {
	_, path, _ := strings.Cut(repo, "/")
	return path
}
