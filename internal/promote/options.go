package promote

import (
	"io"
	"time"

	"github.com/digestpin/digestpin/internal/registry"
)

// Options say what to promote and where.
type Options struct {
	// Images are the references to pin: tags, resolved to the digest they
	// point to now, or digest references, checked to exist. Required.
	Images []string
	// Path is the kustomization directory or YAML manifest to edit,
	// relative to the repository root. Required.
	Path string
	// SourceRevision is the commit the images were built from. It is
	// recorded in a Source-Revision trailer, and an image whose
	// org.opencontainers.image.revision label names another commit is
	// refused.
	SourceRevision string
	// SourceRepoDir is a clone of the repository the images are built
	// from, with history. With it, promote refuses to go back: before
	// replacing a pin, it finds the newest commit on the branch that
	// changed the file with a Digestpin-Image trailer for the repository,
	// and when that commit's Source-Revision descends from SourceRevision
	// in this clone, promote stops with a *SupersededError. Requires
	// SourceRevision.
	SourceRepoDir string
	// TagRules pick the tag of images given as a repository alone: the
	// highest version the rule admits among the repository's tags. A rule
	// naming a repository is for that image only, and the image must be
	// given without a tag; a rule without one is for every image given
	// without a tag.
	TagRules []TagRule
	// Registry options: insecure registries, keychain, transport, retries.
	Registry []registry.Option
	// Publish says how the change reaches the branch.
	Publish
}

// Publish says how a change reaches the branch of the config repository:
// which clone, branch and remote, the race rules, and the commit message.
// promote and pin share it, so that both publish the same way.
type Publish struct {
	// RepoDir is a clone of the config repository. Default ".".
	RepoDir string
	// Branch to publish to. Default: the clone's current branch.
	Branch string
	// Remote to fetch from and push to. Default "origin".
	Remote string
	// ExpectHead, when set, is the commit the branch must still be at: for
	// config that lives in the source repository, the commit CI built. If
	// the branch moved, publishing stops with a *SupersededError.
	ExpectHead string
	// DryRun computes the diff and the commit message and changes nothing.
	DryRun bool
	// NoPush commits and fast-forwards the local branch, without pushing.
	NoPush bool
	// Message is a text/template for the commit message over Data; the
	// trailers are always appended. Default: DefaultMessage.
	Message string
	// Token is an HTTPS token for git, from the environment, never a flag.
	Token string
	// Attempts bounds how often a push that lost a race to another writer
	// is rebuilt on the new head and retried. Default 20.
	Attempts int
	// Backoff is the first wait between such attempts; it doubles up to
	// 5 s, with jitter. Default 250 ms.
	Backoff time.Duration
	// GitHub, when set, authenticates as a GitHub App and can commit
	// through GitHub's API and open pull requests.
	GitHub *GitHub
	// Out receives progress lines. Default io.Discard.
	Out io.Writer
}

func (o *Publish) defaults() {
	if o.RepoDir == "" {
		o.RepoDir = "."
	}
	if o.Remote == "" {
		o.Remote = "origin"
	}
	if o.Message == "" {
		o.Message = DefaultMessage
	}
	if o.Attempts <= 0 {
		o.Attempts = 20
	}
	if o.Backoff <= 0 {
		o.Backoff = 250 * time.Millisecond
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
}
