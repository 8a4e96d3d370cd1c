// Package pin migrates whole trees to digests. For each path (a
// kustomization directory, a manifest, or a directory of them) it finds
// every image the operator policy refuses for lacking a digest, resolves
// them all in the registry, concurrently and within a bound, and records
// each digest where the path itself says so: in a kustomization's own
// images: (newTag and digest, newName kept), or on a manifest's image line.
// A base is never edited unless it is itself a path.
//
// Its guarantee is promote's, for a whole tree: every image resolves, every
// path renders with nothing left to refuse and with exactly the digests
// resolved, and the change is published as one commit with promote's race
// rules; or nothing is written. With KeepGoing, what resolved is pinned and
// the rest is reported.
package pin

import (
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/promote"
	"github.com/digestpin/digestpin/internal/registry"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// Options say what to pin and where.
type Options struct {
	// Paths are kustomization directories, YAML manifests, or directories
	// of manifests (walked as check walks them: a directory holding a
	// kustomization is rendered as one), relative to the repository root.
	// Required.
	Paths []string
	// Policy is the operator policy: the images it refuses for lacking a
	// digest are pinned, exempt images are left alone, and an image from a
	// registry it does not allow is a failure.
	Policy policy.Policy
	// TagRules pick tags by version for the images of their repositories,
	// instead of the tag the path names. A rule must name its repository.
	TagRules []promote.TagRule
	// Concurrency bounds the registry requests in flight. Default 8.
	Concurrency int
	// KeepGoing pins what resolved and reports the rest in
	// Result.Failures, instead of writing nothing.
	KeepGoing bool
	// Registry options: insecure registries, keychain, transport, retries.
	Registry []registry.Option
	// Progress receives "resolved N/M" lines while images resolve, at most
	// one per ProgressEvery (default 1 s) and always the last. Default
	// io.Discard.
	Progress      io.Writer
	ProgressEvery time.Duration
	// Publish says how the change reaches the branch, as for promote.
	promote.Publish
}

// Pinned is one image pinned in one file.
type Pinned struct {
	// Image is the image as the path renders it, e.g. "ghcr.io/acme/web:v1"
	// or "nginx".
	Image string
	// Name is its repository as written ("nginx"), Tag the tag recorded
	// ("latest" for an image without one, the chosen one under a TagRule),
	// Digest what the registry serves for it.
	Name, Tag, Digest string
	// File is the file edited: the kustomization or the manifest.
	File string
	// Target is the kustomization directory or manifest the image is in.
	Target string
}

// Reference is name:tag@digest, as the render shows it after the edit.
func (p Pinned) Reference() string { return p.Name + ":" + p.Tag + "@" + p.Digest }

// Failure is an image, or a whole path, that could not be pinned.
type Failure struct {
	// Target is the kustomization directory or manifest.
	Target string
	// Image is the image as rendered, "" when the whole target failed.
	Image string
	Err   error
}

func (f Failure) String() string {
	// One line, whatever a render or a registry error quotes.
	if f.Image == "" {
		return fmt.Sprintf("%s: %s", untrusted.Text(f.Target), untrusted.Text(f.Err.Error()))
	}
	return fmt.Sprintf("%s: %s: %s", untrusted.Text(f.Target), untrusted.Text(f.Image), untrusted.Text(f.Err.Error()))
}

// Result says what Pin did.
type Result struct {
	// Pins are the images pinned, by file and image.
	Pins []Pinned
	// Choices are the tags TagRules picked.
	Choices []promote.Choice
	// Failures, with KeepGoing, are what was not pinned.
	Failures []Failure
	// Images counts the distinct images the paths needed pinned.
	Images int
	promote.Outcome
}

// Error says what could not be pinned; nothing was written.
type Error struct {
	Failures []Failure
	// Images counts the distinct images the paths needed pinned.
	Images int
}

func (e *Error) Error() string {
	var b strings.Builder
	images := 0
	for _, f := range e.Failures {
		if f.Image != "" {
			images++
		}
	}
	switch {
	case images == len(e.Failures):
		fmt.Fprintf(&b, "nothing written: %d of %d images could not be pinned:", images, e.Images)
	default:
		fmt.Fprintf(&b, "nothing written: %s could not be pinned:", plural(len(e.Failures), "image or path", "images or paths"))
	}
	for _, f := range e.Failures {
		b.WriteString("\n  - ")
		b.WriteString(f.String())
	}
	return b.String()
}

// VerifyError says the edit would not render as intended: an images: entry
// that does not reach an image, or reaches one it must not change. Nothing
// was written, KeepGoing or not.
type VerifyError struct {
	Problems []string
}

func (e *VerifyError) Error() string {
	problems := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		problems[i] = untrusted.Text(p) // one line each
	}
	return "nothing written: after the edit, the paths would not render as intended:\n  - " + strings.Join(problems, "\n  - ")
}

// UsageError is a mistake in what was asked, such as a path that does not
// exist. Nothing was changed.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usage(format string, args ...any) error {
	return &UsageError{fmt.Sprintf(format, args...)}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (o *Options) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = time.Second
	}
}

func validate(o Options) error {
	if len(o.Paths) == 0 {
		return usage("name at least one path to pin")
	}
	for _, p := range o.Paths {
		clean := path.Clean(p)
		switch {
		case strings.ContainsFunc(p, unicode.IsControl):
			return usage("path %q contains control characters", p)
		case path.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, "../"):
			return usage("path %q must be relative to the repository root and inside it", p)
		}
	}
	for _, r := range o.TagRules {
		if r.Repository == "" {
			return usage("a tag rule (%s) must name the repository it is for", r.Constraint)
		}
	}
	return nil
}

// Pin pins every image opts.Paths need pinned, as one commit.
func Pin(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	if err := validate(opts); err != nil {
		return nil, err
	}
	rules, err := promote.NewRules(opts.TagRules)
	if err != nil {
		return nil, err
	}
	session, err := promote.Open(ctx, opts.Publish)
	if err != nil {
		return nil, err
	}
	res := newResolver(opts, rules)
	var result *Result
	outcome, err := session.Publish(ctx, func(ctx context.Context, head string) (*promote.Change, error) {
		tree, err := promote.Checkout(ctx, session.Repo, head)
		if err != nil {
			return nil, err
		}
		defer tree.Close()
		run := &run{opts: opts, tree: tree, res: res}
		change, r, err := run.build(ctx)
		if err != nil {
			return nil, err
		}
		if change != nil {
			paths := strings.Join(cleanPaths(opts.Paths), ", ")
			if change.Message, err = session.Message(promote.Data{Images: r.images(), Path: paths}); err != nil {
				return nil, err
			}
			change.Topic = strings.Join(cleanPaths(opts.Paths), "_")
			change.Title = fmt.Sprintf("Pin %s in %s", plural(len(r.images()), "image", "images"), paths)
			change.Summary = r.summary()
		}
		result = r
		return change, nil
	})
	if err != nil {
		return nil, err
	}
	result.Outcome = *outcome
	return result, nil
}

func cleanPaths(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = path.Clean(p)
	}
	return out
}

// images are the distinct references pinned, for the commit message.
func (r *Result) images() []promote.Image {
	var images []promote.Image
	seen := map[string]bool{}
	for _, p := range r.Pins {
		if seen[p.Reference()] {
			continue
		}
		seen[p.Reference()] = true
		images = append(images, promote.Image{Reference: p.Name + ":" + p.Tag, Repository: p.Name, Tag: p.Tag, Digest: p.Digest})
	}
	slices.SortFunc(images, func(a, b promote.Image) int { return strings.Compare(a.Pinned(), b.Pinned()) })
	return images
}

// summary is the pull request's table: image, tag, digest, file.
func (r *Result) summary() string {
	var b strings.Builder
	b.WriteString("| image | tag | digest | file |\n|---|---|---|---|\n")
	for _, p := range r.Pins {
		fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | `%s` |\n", untrusted.Text(p.Image), p.Tag, p.Digest, untrusted.Text(p.File))
	}
	return b.String()
}
