package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	gitrepo "github.com/digestpin/digestpin/internal/git"
	"github.com/digestpin/digestpin/internal/promote"
	"github.com/digestpin/digestpin/internal/registry"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// envGitToken names the variable an HTTPS token for git comes from. A flag
// would show the token in process listings and CI logs.
const envGitToken = "DIGESTPIN_GIT_TOKEN"

func promoteCommand() *cli.Command {
	return &cli.Command{
		Name:  "promote",
		Usage: "resolve images' digests in the registry and commit them into the Git config, race-safe",
		Description: `promote fetches the branch, edits the kustomization's images: (or a manifest's
container images) on the fetched head, commits and pushes with a lease on that
exact head. Without --expect-head, a push that loses a race to another writer is
rebuilt on the new head and retried; with it, promote stops as superseded.
An HTTPS token for git may be given in $DIGESTPIN_GIT_TOKEN.
Exit status: 0 promoted or already pinned, 1 failed, 2 usage error, 3 superseded.`,
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "image", Usage: "image to pin: a tag (resolved now), a digest reference (checked), or a repository whose tag --semver picks; repeatable, one commit for all"},
			&cli.StringSliceFlag{Name: "semver", Usage: "pick the tag: the highest semantic version CONSTRAINT admits (~1.4, ^2, >=1.2 <2, 1.4.x); REPO=CONSTRAINT for one --image, CONSTRAINT for every --image without a tag"},
			&cli.StringSliceFlag{Name: "tag-regex", Usage: "with --semver, consider only tags matching the regular expression; REPO=RE or RE, as --semver"},
			&cli.StringFlag{Name: "path", Usage: "kustomization directory or YAML manifest, relative to the repository root"},
			&cli.StringFlag{Name: "source-revision", Usage: "commit the images were built from: recorded as a trailer, checked against the org.opencontainers.image.revision label"},
			&cli.StringFlag{Name: "source-repo-dir", Usage: "clone of the source repository, with history: refuse (exit 3) to replace a pin built from a newer commit than --source-revision"},
			&cli.StringFlag{Name: "output", Value: "text", Usage: "text, or json: one JSON object on stdout (also when superseded)"},
		}, append(publishFlags(), githubFlags()...)...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("promote takes no arguments (got %q); use --image and --path", c.Args().First()), exitUsage)
			}
			output, gh, err := outputAndGitHub(c)
			if err != nil {
				return err
			}
			rules, err := tagRules(c.StringSlice("semver"), c.StringSlice("tag-regex"), true)
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			opts := promote.Options{
				Images:         c.StringSlice("image"),
				TagRules:       rules,
				Path:           c.String("path"),
				SourceRevision: c.String("source-revision"),
				SourceRepoDir:  c.String("source-repo-dir"),
				Registry:       []registry.Option{registry.WithInsecure(c.Bool("insecure-registry"))},
				Publish:        publishOptions(c),
			}
			opts.Publish.GitHub = gh
			result, err := promote.Promote(c.Context, opts)
			var superseded *promote.SupersededError
			if output == "json" && result != nil && (err == nil || errors.As(err, &superseded)) {
				if werr := writeJSON(c.App.Writer, promoteRecord(result, opts, superseded != nil)); werr != nil {
					return werr
				}
			}
			if err != nil {
				return promoteExit(err)
			}
			if output == "json" {
				return nil
			}
			_, err = fmt.Fprint(c.App.Writer, report(result, opts))
			return err
		},
	}
}

// publishFlags are the flags promote and pin share: where and how the
// change reaches the branch, and how the registry is reached.
func publishFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "repo-dir", Value: ".", Usage: "clone of the config repository"},
		&cli.StringFlag{Name: "branch", Usage: "branch to commit to (default: the clone's current branch)"},
		&cli.StringFlag{Name: "remote", Value: "origin", Usage: "remote to fetch from and push to"},
		&cli.StringFlag{Name: "expect-head", Usage: "commit the branch must still be at (config in the source repository: the commit CI built); otherwise exit 3"},
		&cli.BoolFlag{Name: "dry-run", Usage: "print the diff and the commit message, change nothing"},
		&cli.BoolFlag{Name: "no-push", Usage: "commit and fast-forward the local branch, do not push"},
		&cli.StringFlag{Name: "message", Usage: "commit message, a Go template over .Images (.Reference .Repository .Tag .Digest), .Path, .Branch, .SourceRevision; trailers are always added"},
		&cli.BoolFlag{Name: "insecure-registry", Usage: "allow plain HTTP to the registry (localhost-style registries)"},
		&cli.IntFlag{Name: "attempts", Value: 20, Usage: "how often to rebuild and retry a push that lost a race"},
	}
}

// outputAndGitHub reads the --output and GitHub flags promote and pin
// share; a bad value is a usage error.
func outputAndGitHub(c *cli.Context) (string, *promote.GitHub, error) {
	output := c.String("output")
	if output != "text" && output != "json" {
		return "", nil, cli.Exit(fmt.Sprintf("--output %q: want text or json", output), exitUsage)
	}
	gh, err := githubOptions(c)
	if err != nil {
		return "", nil, cli.Exit(err.Error(), exitUsage)
	}
	return output, gh, nil
}

// publishOptions reads the flags promote and pin share: where and how the
// change reaches the branch.
func publishOptions(c *cli.Context) promote.Publish {
	return promote.Publish{
		RepoDir:    c.String("repo-dir"),
		Branch:     c.String("branch"),
		Remote:     c.String("remote"),
		ExpectHead: c.String("expect-head"),
		DryRun:     c.Bool("dry-run"),
		NoPush:     c.Bool("no-push"),
		Message:    c.String("message"),
		Token:      os.Getenv(envGitToken),
		Attempts:   c.Int("attempts"),
		Out:        c.App.ErrWriter,
	}
}

// promoteFlags spells the options promote's errors name as the flags that
// set them.
var promoteFlags = map[promote.Option]string{
	promote.OptImages:         "--image",
	promote.OptPath:           "--path",
	promote.OptSourceRevision: "--source-revision",
	promote.OptExpectHead:     "--expect-head",
	promote.OptDryRun:         "--dry-run",
	promote.OptNoPush:         "--no-push",
	promote.OptMessage:        "--message",
	promote.OptTagRules:       "--semver",
	promote.OptSourceRepoDir:  "--source-repo-dir",
}

func promoteFlag(o promote.Option) string {
	if flag, ok := promoteFlags[o]; ok {
		return flag
	}
	if flag, ok := githubFlagNames[o]; ok {
		return flag
	}
	return string(o)
}

// promoteExit maps promote's errors to a message in flag names and an exit
// status: 2 for a usage error, 3 when superseded, 1 otherwise.
func promoteExit(err error) error {
	// One line, whatever the repository, the registry or git wrote in it.
	return exitFor(err, untrusted.Text)
}

// exitFor is promoteExit with the message escaped by escape: pin's
// messages list one failure a line.
func exitFor(err error, escape func(string) string) error {
	msg := err.Error()
	if described, ok := err.(promote.Describer); ok {
		msg = described.Describe(promoteFlag)
	}
	msg = escape(msg)
	if errors.Is(err, gitrepo.ErrDetachedHEAD) {
		msg += "; pass --branch to name the branch to commit to"
	}
	var usage *promote.UsageError
	var superseded *promote.SupersededError
	switch {
	case errors.As(err, &superseded):
		return cli.Exit(msg, exitSuperseded)
	case errors.As(err, &usage):
		return cli.Exit(msg, exitUsage)
	default:
		return cli.Exit(msg+githubHint(err), exitRefused)
	}
}

func report(r *promote.Result, o promote.Options) string {
	var b strings.Builder
	pinned := make([]string, len(r.Images))
	for i, img := range r.Images {
		pinned[i] = img.Pinned()
	}
	where := fmt.Sprintf("%s on %s/%s", o.Path, o.Remote, r.Branch)
	choices(&b, r.Choices)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	switch {
	case r.AlreadyPinned:
		fmt.Fprintf(&b, "already pinned in %s: %s; nothing to commit\n", where, strings.Join(pinned, ", "))
	case o.DryRun:
		// The diff shows the repository's own lines, escaped.
		fmt.Fprintf(&b, "%scommit message:\n%s", untrusted.Lines(r.Diff), indent(r.Message))
		fmt.Fprintf(&b, "dry run: nothing committed (would build on %s)\n", r.Head)
	default:
		for _, p := range pinned {
			fmt.Fprintf(&b, "pinned %s\n", p)
		}
		switch pr := r.PullRequest; {
		case pr != nil:
			pullRequestReport(&b, pr, r.Outcome, where, o.Remote, mergeMethod(o.Publish))
		case r.Pushed:
			fmt.Fprintf(&b, "committed %s in %s (on top of %s)\n", r.Commit, where, r.Head)
		default:
			fmt.Fprintf(&b, "committed %s on local branch %s; not pushed\n", r.Commit, r.Branch)
		}
	}
	return b.String()
}

// pullRequestReport says which pull request carries the change, for
// promote and pin alike.
func pullRequestReport(b *strings.Builder, pr *promote.PullRequestResult, r promote.Outcome, where, remote, method string) {
	verb := "updated"
	if pr.Created {
		verb = "opened"
	}
	fmt.Fprintf(b, "%s pull request #%d %s\n", verb, pr.Number, pr.URL)
	fmt.Fprintf(b, "committed %s on %s/%s for %s (on top of %s)\n", r.Commit, remote, pr.Branch, where, r.Head)
	switch {
	case pr.AutoMerge:
		fmt.Fprintf(b, "auto-merge enabled (%s)\n", method)
	case pr.Merged:
		fmt.Fprintf(b, "merged pull request #%d (%s): nothing to wait for\n", pr.Number, method)
	}
}

func indent(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if line != "\n" {
			b.WriteString("    ")
		}
		b.WriteString(line)
	}
	return b.String()
}
