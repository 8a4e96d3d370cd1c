// Package promote records in Git the digest an image points to now: it
// resolves each image in the registry, edits a kustomization's images: or a
// manifest's container images on the freshly fetched branch head, commits,
// and pushes with a compare-and-swap lease. Either every image resolves and
// every edit applies and is pushed, or nothing changes.
package promote

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/digestpin/digestpin/internal/git"
	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/registry"
	"github.com/digestpin/digestpin/internal/retry"
	"github.com/digestpin/digestpin/internal/untrusted"
)

var (
	// ErrUsage marks a mistake in what was asked: a bad flag, a path that
	// does not exist or renders no such image.
	ErrUsage = errors.New("usage")
	// ErrSuperseded means the branch moved past the commit CI built, so a
	// newer pipeline owns the pin.
	ErrSuperseded = errors.New("superseded")
)

// Result says what Promote did.
type Result struct {
	Images []Image
	Branch string
	// Head is the branch head the change was built on.
	Head string
	// Commit is the new commit, "" when nothing was committed.
	Commit string
	// AlreadyPinned is true when Git already records every digest.
	AlreadyPinned bool
	Pushed        bool
	// Attempts counts the heads the change was built on (1 without races).
	Attempts int
	// Diff is the unified diff of the change; Message its commit message.
	Diff, Message string
}

// Promote pins opts.Images at opts.Path in the config repository.
func Promote(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	if err := validate(opts); err != nil {
		return nil, err
	}
	// Git writes object names in lowercase; so does the trailer.
	opts.SourceRevision = strings.ToLower(opts.SourceRevision)
	tmpl, err := parseMessage(opts.Message)
	if err != nil {
		return nil, err
	}
	repo, err := git.Open(ctx, opts.RepoDir, git.WithToken(opts.Token))
	if err != nil {
		return nil, err
	}
	branch := opts.Branch
	if branch == "" {
		if branch, err = repo.CurrentBranch(ctx); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUsage, err)
		}
	}
	// Every image resolves before Git is touched: a registry failure
	// leaves nothing to undo.
	images, err := resolveAll(ctx, opts)
	if err != nil {
		return nil, err
	}
	// The message depends on nothing Git holds: a bad one stops promote
	// before anything is fetched.
	msg, err := message(tmpl, Data{Images: images, Path: opts.Path, Branch: branch, SourceRevision: opts.SourceRevision})
	if err != nil {
		return nil, err
	}
	result := &Result{Images: images, Branch: branch}
	for attempt := 1; ; attempt++ {
		result.Attempts = attempt
		head, err := repo.Fetch(ctx, opts.Remote, branch)
		if err != nil {
			return nil, err
		}
		result.Head = head
		if opts.ExpectHead != "" && !sameCommit(head, opts.ExpectHead) {
			return nil, superseded(branch, opts.ExpectHead, head)
		}
		change, err := edit(ctx, repo, head, opts.Path, images)
		if err != nil {
			return nil, err
		}
		if change == nil {
			result.AlreadyPinned = true
			return result, nil
		}
		result.Diff = change.diff()
		result.Message = msg
		if opts.DryRun {
			return result, nil
		}
		commit, err := repo.Commit(ctx, head, map[string][]byte{change.path: change.after}, result.Message)
		if err != nil {
			return nil, err
		}
		result.Commit = commit
		if opts.NoPush {
			return result, repo.Advance(ctx, branch, commit)
		}
		err = repo.Push(ctx, opts.Remote, commit, branch, head)
		if err == nil {
			result.Pushed = true
			return result, nil
		}
		if !errors.Is(err, git.ErrPushRejected) {
			return nil, err
		}
		if opts.ExpectHead != "" {
			moved, ferr := repo.Fetch(ctx, opts.Remote, branch)
			if ferr != nil {
				return nil, fmt.Errorf("%w; fetching again: %w", err, ferr)
			}
			return nil, superseded(branch, head, moved)
		}
		if attempt == opts.Attempts {
			return nil, fmt.Errorf("gave up after %d attempts, other writers kept moving %s/%s: %w", attempt, opts.Remote, branch, err)
		}
		fmt.Fprintf(opts.Out, "%s/%s moved while pushing; rebuilding the change on the new head (attempt %d of %d)\n", opts.Remote, branch, attempt+1, opts.Attempts)
		// Jittered, so that concurrent writers spread out.
		if err := retry.Sleep(ctx, retry.Backoff(min(opts.Backoff, maxBackoff), maxBackoff, attempt)); err != nil {
			return nil, err
		}
	}
}

func validate(o Options) error {
	if len(o.Images) == 0 {
		return fmt.Errorf("%w: at least one --image is required", ErrUsage)
	}
	if o.Path == "" {
		return fmt.Errorf("%w: --path is required", ErrUsage)
	}
	clean := path.Clean(o.Path)
	if path.IsAbs(o.Path) || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("%w: --path %q must be relative to the repository root and inside it", ErrUsage, o.Path)
	}
	if strings.ContainsFunc(o.Path, isControl) {
		return fmt.Errorf("%w: --path %q contains control characters", ErrUsage, o.Path)
	}
	// The source revision is written into a trailer: anything but a full
	// object name could forge lines of the commit message.
	if o.SourceRevision != "" && !isHex(o.SourceRevision, 40, 40) && !isHex(o.SourceRevision, 64, 64) {
		return fmt.Errorf("%w: --source-revision %q is not a commit SHA (40 or 64 hex digits)", ErrUsage, o.SourceRevision)
	}
	if o.ExpectHead != "" && !isHex(o.ExpectHead, 7, 64) {
		return fmt.Errorf("%w: --expect-head %q is not a commit SHA (7 to 64 hex digits)", ErrUsage, o.ExpectHead)
	}
	if o.DryRun && o.NoPush {
		return fmt.Errorf("%w: --dry-run and --no-push exclude each other", ErrUsage)
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

func superseded(branch, from, to string) error {
	return fmt.Errorf("%w: branch %s advanced from %s to %s; the newer commit's pipeline will pin its own image", ErrSuperseded, branch, from, to)
}

// sameCommit compares full or abbreviated (7+ characters) object names.
func sameCommit(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == b || (len(a) >= 7 && strings.HasPrefix(b, a))
}

// maxBackoff bounds the wait between attempts to push.
const maxBackoff = 5 * time.Second

// resolveAll resolves every image and checks the source revision.
func resolveAll(ctx context.Context, opts Options) ([]Image, error) {
	var images []Image
	seen := map[string]bool{}
	for _, ref := range opts.Images {
		repo, tag := splitReference(ref)
		if seen[repo] {
			return nil, fmt.Errorf("%w: --image %s is given twice", ErrUsage, repo)
		}
		seen[repo] = true
		resolved, err := registry.Resolve(ctx, ref, opts.Registry...)
		if err != nil {
			if errors.Is(err, registry.ErrInvalidReference) {
				return nil, fmt.Errorf("%w: %w", ErrUsage, err)
			}
			return nil, err
		}
		if opts.SourceRevision != "" && resolved.Revision != "" && !sameCommit(resolved.Revision, opts.SourceRevision) {
			return nil, fmt.Errorf("image %s was built from revision %s (label org.opencontainers.image.revision), not from --source-revision %s: refusing to pin an artifact of another commit", ref, untrusted.Text(resolved.Revision), opts.SourceRevision)
		}
		images = append(images, Image{Reference: ref, Repository: repo, Tag: tag, Digest: resolved.Digest})
	}
	return images, nil
}

// splitReference returns the repository and tag as written: the tag is what
// follows a colon after the last slash, before any digest.
func splitReference(ref string) (repo, tag string) {
	repo, tag, _ = imageref.SplitDocker(ref)
	return repo, tag
}
