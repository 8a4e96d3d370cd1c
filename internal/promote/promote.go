// Package promote records in Git the digest an image points to now: it
// resolves each image in the registry, edits a kustomization's images: or a
// manifest's container images on the freshly fetched branch head, commits,
// and pushes with a compare-and-swap lease. Either every image resolves and
// every edit applies and is pushed, or nothing changes.
package promote

import (
	"context"
	"errors"
	"path"
	"strings"
	"unicode"

	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/registry"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// Result says what Promote did.
type Result struct {
	Images []Image
	// Choices are the tags TagRules picked, in the order of Images.
	Choices []Choice
	// Notes say what the out-of-order check could not judge, such as a pin
	// replaced that recorded no source revision.
	Notes []string
	Outcome
}

// Promote pins opts.Images at opts.Path in the config repository. With
// a *SupersededError it also returns the result so far (the
// images resolved and the head that superseded them).
func Promote(ctx context.Context, opts Options) (*Result, error) {
	if err := validate(opts); err != nil {
		return nil, err
	}
	// Git writes object names in lowercase; so does the trailer.
	opts.SourceRevision = strings.ToLower(opts.SourceRevision)
	session, err := Open(ctx, opts.Publish)
	if err != nil {
		return nil, err
	}
	ord, err := openOrder(ctx, opts)
	if err != nil {
		return nil, err
	}
	// Every image resolves before Git is touched: a registry failure
	// leaves nothing to undo.
	images, choices, err := resolveAll(ctx, opts)
	if err != nil {
		return nil, err
	}
	// The message depends on nothing Git holds: a bad one stops promote
	// before anything is fetched.
	msg, err := session.Message(Data{Images: images, Path: opts.Path, SourceRevision: opts.SourceRevision})
	if err != nil {
		return nil, err
	}
	var notes []string
	var lastHead string
	outcome, err := session.Publish(ctx, func(ctx context.Context, head string) (*Change, error) {
		lastHead = head
		c, err := edit(ctx, session.Repo, head, opts.Path, images)
		if err != nil || c == nil {
			return nil, err
		}
		if ord != nil {
			if notes, err = ord.check(ctx, session.Repo, head, c.path, c.before, images); err != nil {
				return nil, err
			}
		}
		return &Change{
			Files: []FileChange{{Path: c.path, Before: c.before, After: c.after}}, Message: msg,
			Topic: opts.Path, Title: prTitle(images, opts.Path), Summary: prSummary(images, opts.Path, session.Branch, opts.SourceRevision),
		}, nil
	})
	if se := (*SupersededError)(nil); errors.As(err, &se) {
		if outcome == nil {
			// Out of order: the builder stopped on this head.
			outcome = &Outcome{Branch: session.Branch, Head: lastHead}
		}
		return &Result{Images: images, Choices: choices, Outcome: *outcome}, err
	}
	if err != nil {
		return nil, err
	}
	return &Result{Images: images, Choices: choices, Notes: notes, Outcome: *outcome}, nil
}

func validate(o Options) error {
	if len(o.Images) == 0 {
		return usageError("at least one %s is required", OptImages)
	}
	if o.Path == "" {
		return usageError("%s is required", OptPath)
	}
	clean := path.Clean(o.Path)
	if path.IsAbs(o.Path) || clean == ".." || strings.HasPrefix(clean, "../") {
		return usageError("%s %q must be relative to the repository root and inside it", OptPath, o.Path)
	}
	if strings.ContainsFunc(o.Path, isControl) {
		return usageError("%s %q contains control characters", OptPath, o.Path)
	}
	// The source revision is written into a trailer: anything but a full
	// object name could forge lines of the commit message.
	if o.SourceRevision != "" && !isHex(o.SourceRevision, 40, 40) && !isHex(o.SourceRevision, 64, 64) {
		return usageError("%s %q is not a commit SHA (40 or 64 hex digits)", OptSourceRevision, o.SourceRevision)
	}
	return nil
}

// isHex reports whether s is between minLen and maxLen hex digits.
func isHex(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return unicode.IsControl(r) }

// resolveAll picks the tags TagRules ask for, resolves every image and
// checks the source revision.
func resolveAll(ctx context.Context, opts Options) ([]Image, []Choice, error) {
	rules, err := NewRules(opts.TagRules)
	if err != nil {
		return nil, nil, err
	}
	var repos []string
	for _, ref := range opts.Images {
		repo, _ := splitReference(ref)
		repos = append(repos, repo)
	}
	if unused := rules.Unused(repos, opts.TagRules); len(unused) > 0 {
		return nil, nil, usageError("%s: the rule for %s matches no %s", OptTagRules, unused[0].Repository, OptImages)
	}
	client := registry.NewClient(opts.Registry...)
	var images []Image
	var choices []Choice
	seen := map[string]bool{}
	for _, ref := range opts.Images {
		repo, tag := splitReference(ref)
		if seen[repo] {
			return nil, nil, usageError("%s %s is given twice", OptImages, repo)
		}
		seen[repo] = true
		if rule, ok := rules.For(repo); ok && (rule.Repository != "" || !strings.ContainsAny(ref[len(repo):], ":@")) {
			if ref != repo {
				return nil, nil, usageError("%s %s names a tag or digest, but %s picks its tag by version (%s); give the repository alone", OptImages, ref, OptTagRules, rule.Constraint)
			}
			choice, err := ChooseTag(ctx, client, repo, rule)
			if err != nil {
				return nil, nil, err
			}
			choices = append(choices, choice)
			tag = choice.Tag
			ref = repo + ":" + tag
		}
		resolved, err := client.Resolve(ctx, ref)
		if err != nil {
			if errors.Is(err, registry.ErrInvalidReference) {
				return nil, nil, usageError("%w", err)
			}
			return nil, nil, err
		}
		if opts.SourceRevision != "" && resolved.Revision != "" && !sameCommit(resolved.Revision, opts.SourceRevision) {
			return nil, nil, &RevisionError{
				phrase:   phrase{"image %s was built from revision %s (label org.opencontainers.image.revision), not from %s %s: refusing to pin an artifact of another commit", []any{ref, untrusted.Text(resolved.Revision), OptSourceRevision, opts.SourceRevision}},
				Image:    ref,
				Revision: resolved.Revision,
			}
		}
		images = append(images, Image{Reference: ref, Repository: repo, Tag: tag, Digest: resolved.Digest})
	}
	return images, choices, nil
}

// splitReference returns the repository and tag as written: the tag is what
// follows a colon after the last slash, before any digest.
func splitReference(ref string) (repo, tag string) {
	repo, tag, _ = imageref.SplitDocker(ref)
	return repo, tag
}
