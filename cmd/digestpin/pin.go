package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/digestpin/digestpin/internal/pin"
	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/promote"
	"github.com/digestpin/digestpin/internal/registry"
	"github.com/digestpin/digestpin/internal/untrusted"
)

func pinCommand() *cli.Command {
	return &cli.Command{
		Name:      "pin",
		Usage:     "pin every image a tree's kustomizations and manifests lack a digest for, as one commit",
		ArgsUsage: "PATH...",
		Description: `pin finds every image the operator policy (DIGESTPIN_* variables, as for
generate and check) refuses for lacking a digest in each PATH, relative to the
repository root: a kustomization directory, a manifest, or a directory of them.
It resolves them all in the registry, concurrently, and records each digest in
the PATH's own kustomization images: (newTag and digest) or on the manifest's
image line; a base is edited only when it is itself a PATH. Either every image
resolves and every PATH renders with nothing left to refuse, or nothing is
written. The commit is published as promote publishes: fetch, lease, retry.
Exit status: 0 pinned or nothing to pin, 1 failed (or --keep-going left images
unpinned), 2 usage error, 3 superseded.`,
		Flags: append([]cli.Flag{
			&cli.IntFlag{Name: "concurrency", Value: 8, Usage: "registry requests in flight at most"},
			&cli.BoolFlag{Name: "keep-going", Usage: "pin what resolved, list the rest, exit 1"},
			&cli.StringSliceFlag{Name: "semver", Usage: "REPO=CONSTRAINT: pin REPO's images to the highest semantic version tag CONSTRAINT admits (~1.4, ^2, 1.4.x); repeatable"},
			&cli.StringSliceFlag{Name: "tag-regex", Usage: "REPO=RE: with --semver for REPO, consider only tags matching the regular expression"},
			&cli.StringFlag{Name: "output", Value: "text", Usage: "text, or json: one JSON object on stdout (also when superseded or --keep-going left images unpinned)"},
		}, append(publishFlags(), githubFlags()...)...),
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.Exit("pin needs at least one PATH: a kustomization directory, a manifest, or a directory of them, relative to the repository root", exitUsage)
			}
			if c.Int("concurrency") < 1 {
				return cli.Exit(fmt.Sprintf("--concurrency %d: want at least 1", c.Int("concurrency")), exitUsage)
			}
			output, gh, err := outputAndGitHub(c)
			if err != nil {
				return err
			}
			pol, err := policy.FromEnv(os.LookupEnv)
			if err != nil {
				return cli.Exit("configuration: "+err.Error(), exitUsage)
			}
			rules, err := tagRules(c.StringSlice("semver"), c.StringSlice("tag-regex"), false)
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			opts := pin.Options{
				Paths:       c.Args().Slice(),
				Policy:      pol,
				TagRules:    rules,
				Concurrency: c.Int("concurrency"),
				KeepGoing:   c.Bool("keep-going"),
				Registry:    []registry.Option{registry.WithInsecure(c.Bool("insecure-registry"))},
				Progress:    c.App.ErrWriter,
				Publish:     publishOptions(c),
			}
			opts.Publish.GitHub = gh
			result, err := pin.Pin(c.Context, opts)
			var superseded *promote.SupersededError
			if output == "json" && result != nil && (err == nil || errors.As(err, &superseded)) {
				if werr := writeJSON(c.App.Writer, pinRecord(result, opts, superseded != nil)); werr != nil {
					return werr
				}
			}
			if err != nil {
				return pinExit(err)
			}
			if output == "text" {
				if _, err := fmt.Fprint(c.App.Writer, pinReport(result, opts)); err != nil {
					return err
				}
			}
			if len(result.Failures) > 0 {
				var b strings.Builder
				fmt.Fprintf(&b, "not pinned (--keep-going):")
				for _, f := range result.Failures {
					b.WriteString("\n  - " + f.String())
				}
				return cli.Exit(b.String(), exitRefused)
			}
			return nil
		},
	}
}

// pinExit maps pin's errors to an exit status: 2 for a usage error, 3
// when superseded, 1 otherwise.
func pinExit(err error) error {
	var usage *pin.UsageError
	var promoteUsage *promote.UsageError
	switch {
	case errors.As(err, &usage):
		return cli.Exit(err.Error(), exitUsage)
	case errors.As(err, &promoteUsage):
		return cli.Exit(promoteUsage.Describe(promoteFlag), exitUsage)
	}
	// One failure a line; pin escapes what each holds.
	return exitFor(err, untrusted.Lines)
}

func pinReport(r *pin.Result, o pin.Options) string {
	var b strings.Builder
	paths := strings.Join(o.Paths, ", ")
	choices(&b, r.Choices)
	if len(r.Pins) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "IMAGE\tTAG\tDIGEST\tFILE")
		for _, p := range r.Pins {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", untrusted.Text(p.Image), p.Tag, p.Digest, untrusted.Text(p.File))
		}
		tw.Flush()
	}
	where := fmt.Sprintf("%s on %s/%s", paths, o.Remote, r.Branch)
	switch {
	case r.AlreadyPinned && len(r.Failures) == 0:
		fmt.Fprintf(&b, "nothing to pin in %s: every image has a digest or is exempt\n", where)
	case r.AlreadyPinned:
		fmt.Fprintf(&b, "nothing pinned in %s\n", where)
	case o.DryRun:
		fmt.Fprintf(&b, "%scommit message:\n%s", untrusted.Lines(r.Diff), indent(r.Message))
		fmt.Fprintf(&b, "dry run: nothing committed (would build on %s)\n", r.Head)
	case r.PullRequest != nil:
		pullRequestReport(&b, r.PullRequest, r.Outcome, where, o.Remote, mergeMethod(o.Publish))
	case r.Pushed:
		fmt.Fprintf(&b, "committed %s in %s (on top of %s)\n", r.Commit, where, r.Head)
	default:
		fmt.Fprintf(&b, "committed %s on local branch %s; not pushed\n", r.Commit, r.Branch)
	}
	return b.String()
}
