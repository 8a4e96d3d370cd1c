// Package policy holds the operator's image policy (which registries are
// allowed, which images may go without a digest, which extra fields hold
// images) and judges the images of rendered objects against it.
package policy

import (
	"fmt"
	"strings"

	"github.com/digestpin/digestpin/internal/imageref"
)

// Environment variables an operator sets on the sidecar container. App
// teams cannot change them: Argo CD prefixes every per-Application variable
// with ARGOCD_ENV_.
const (
	EnvAllowedRegistries = "DIGESTPIN_ALLOWED_REGISTRIES"
	EnvExemptImages      = "DIGESTPIN_EXEMPT_IMAGES"
	EnvImageFields       = "DIGESTPIN_IMAGE_FIELDS"
)

// Policy is what an image must satisfy to be rendered.
type Policy struct {
	// AllowedRegistries, when not empty, lists the only repositories images
	// may come from, digest or not. Empty allows every registry.
	AllowedRegistries []Pattern
	// Exempt lists images that may be rendered without a digest.
	Exempt []Pattern
	// ImageFields are image fields beyond the containers lists.
	ImageFields []imageref.FieldSpec
}

// FromEnv reads the operator policy. A malformed value is an error naming
// the variable, never a silent default.
func FromEnv(lookup func(string) (string, bool)) (Policy, error) {
	var p Policy
	var err error
	if p.AllowedRegistries, err = patternsFromEnv(lookup, EnvAllowedRegistries, false); err != nil {
		return Policy{}, err
	}
	if p.Exempt, err = patternsFromEnv(lookup, EnvExemptImages, true); err != nil {
		return Policy{}, err
	}
	for _, item := range listFromEnv(lookup, EnvImageFields) {
		spec, err := imageref.ParseFieldSpec(item)
		if err != nil {
			return Policy{}, fmt.Errorf("%s: %w", EnvImageFields, err)
		}
		p.ImageFields = append(p.ImageFields, spec)
	}
	return p, nil
}

func listFromEnv(lookup func(string) (string, bool), name string) []string {
	value, _ := lookup(name)
	var items []string
	for _, item := range strings.Split(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func patternsFromEnv(lookup func(string) (string, bool), name string, allowTag bool) ([]Pattern, error) {
	var patterns []Pattern
	for _, item := range listFromEnv(lookup, name) {
		pattern, err := ParsePattern(item, allowTag)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		patterns = append(patterns, pattern)
	}
	return patterns, nil
}

// Judge returns nil when image may be rendered, and otherwise the reason it
// may not.
func (p Policy) Judge(image string) error {
	ref, err := imageref.Parse(image)
	if err != nil {
		return err
	}
	if len(p.AllowedRegistries) > 0 && !matchAny(p.AllowedRegistries, ref) {
		return &RegistryError{Repository: ref.Repository}
	}
	if ref.Pinned() || matchAny(p.Exempt, ref) {
		return nil
	}
	return imageref.RequireDigest(image)
}

// RegistryError says an image comes from outside the allowed registries.
type RegistryError struct{ Repository string }

func (e *RegistryError) Error() string {
	return fmt.Sprintf("repository %s is not in the allowed registries", e.Repository)
}

func matchAny(patterns []Pattern, ref imageref.Ref) bool {
	for _, p := range patterns {
		if p.Match(ref) {
			return true
		}
	}
	return false
}
