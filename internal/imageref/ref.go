// Package imageref parses container image references, judges whether they
// are pinned by a sha256 digest, and finds them inside Kubernetes objects.
package imageref

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/google/go-containerregistry/pkg/name"
)

// Ref is a parsed image reference.
type Ref struct {
	// Original is the reference exactly as written.
	Original string
	// Repository is the fully qualified repository, with Docker Hub written
	// as "docker.io" (for example "docker.io/library/nginx").
	Repository string
	// Tag is the tag as written, "" when the reference has none.
	Tag string
	// Digest is "sha256:<hex>" as written, "" when the reference has none.
	Digest string
}

// Pinned reports whether the reference carries a digest.
func (r Ref) Pinned() bool { return r.Digest != "" }

var sha256Digest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Parse parses an image reference. A digest, when present, must be
// "sha256:" followed by 64 lowercase hex characters: the form container
// runtimes pull by and the only one digestpin accepts as a pin.
// "name:tag@sha256:..." is accepted; the runtime ignores the tag.
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("image is empty")
	}
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		return Ref{}, fmt.Errorf("image contains whitespace")
	}
	base, digest, hasDigest := strings.Cut(s, "@")
	if hasDigest {
		if err := checkDigest(digest); err != nil {
			return Ref{}, err
		}
	}
	tag, err := name.NewTag(base, name.WeakValidation)
	if err != nil {
		return Ref{}, fmt.Errorf("not a valid image reference: %w", err)
	}
	// The tag as written: "" for the implicit "latest".
	_, written, _ := SplitDocker(base)
	return Ref{Original: s, Repository: familiarRegistry(tag.Context().Name()), Tag: written, Digest: digest}, nil
}

func checkDigest(d string) error {
	if sha256Digest.MatchString(d) {
		return nil
	}
	algorithm, hex, ok := strings.Cut(d, ":")
	switch {
	case !ok || algorithm == "":
		return fmt.Errorf("digest %q has no algorithm; use sha256:<64 hex>", d)
	case algorithm != "sha256":
		return fmt.Errorf("digest algorithm %q is not allowed; use sha256", algorithm)
	case strings.ToLower(hex) != hex:
		return fmt.Errorf("digest hex must be lowercase")
	case len(hex) != 64:
		return fmt.Errorf("sha256 digest must have 64 hex characters, has %d", len(hex))
	default:
		return fmt.Errorf("digest %q is not hex", d)
	}
}

// familiarRegistry writes Docker Hub as people write it in policies.
func familiarRegistry(repo string) string {
	if rest, ok := strings.CutPrefix(repo, name.DefaultRegistry+"/"); ok {
		return "docker.io/" + rest
	}
	return repo
}

// NormalizeRepository returns the fully qualified repository for a
// repository name as users write it ("nginx" → "docker.io/library/nginx").
func NormalizeRepository(repo string) (string, error) {
	r, err := name.NewRepository(repo, name.WeakValidation)
	if err != nil {
		return "", fmt.Errorf("not a valid repository %q: %w", repo, err)
	}
	return familiarRegistry(r.Name()), nil
}

// RequireDigest returns nil when s is a reference pinned by a valid sha256
// digest, and otherwise an error that says what is wrong with it.
func RequireDigest(s string) error {
	r, err := Parse(s)
	if err != nil {
		return err
	}
	if r.Pinned() {
		return nil
	}
	if r.Tag == "" {
		return fmt.Errorf("no digest and no tag (pulls whatever :latest points to)")
	}
	return fmt.Errorf("no digest (tag %q can be moved in the registry)", r.Tag)
}
