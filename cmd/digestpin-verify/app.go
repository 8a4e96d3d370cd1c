package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/argoproj/argo-cd/v2/pkg/apiclient"
	log "github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/argocd"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/compare"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/escape"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/report"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/verifier"
	"github.com/digestpin/digestpin/internal/registry"
)

// Exit codes, documented in the README.
const (
	exitVerified   = 0
	exitDrift      = 1
	exitUsage      = 2 // usage error, or Argo CD cannot be asked
	exitSuperseded = 3
	exitTimedOut   = 4
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Argo CD's client logs through logrus (a gRPC-Web fallback warning);
	// verify says what matters itself.
	log.SetOutput(io.Discard)
	code := exitVerified
	app := &cli.App{
		Name:      "digestpin verify",
		HelpName:  "digestpin verify",
		Usage:     "prove that an Argo CD Application's pods run exactly the digests Git pins",
		UsageText: "digestpin verify --app NAME (--revision SHA | --promote-result FILE) [--timeout 10m] [--refresh] [--sync] [--output text|json]",
		Description: `verify waits until the Application is Synced and Healthy at the revision, then
compares every container's and init container's image ID, as its node reports
it, with the digest Git pins for it in the manifests Argo CD renders at that
revision. It talks only to Argo CD's API: the server comes from $ARGOCD_SERVER
(or --server), the token from $ARGOCD_AUTH_TOKEN, as for the argocd CLI.

Progress goes to stderr. Exit status: 0 verified (a table of pod, container,
digest), 1 drift (every mismatch, expected and actual, with its likely cause),
2 usage or connection error, 3 superseded (the Application moved on to a newer
revision), 4 timed out (with the last state seen).`,
		Version:         version,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "app", Usage: "the Argo CD Application: NAME, or NAMESPACE/NAME for one outside Argo CD's namespace"},
			&cli.StringFlag{Name: "revision", Usage: "the Git commit to verify (full SHA, or at least 7 hex digits)"},
			&cli.StringFlag{Name: "promote-result", Usage: "read the revision from `FILE`, the output of `digestpin promote --output json` (- for stdin)"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "give up waiting after this long (exit 4)"},
			&cli.BoolFlag{Name: "refresh", Usage: "ask Argo CD to compare the Application with Git at once"},
			&cli.BoolFlag{Name: "sync", Usage: "ask Argo CD to sync the revision when the Application has no automated sync"},
			&cli.StringFlag{Name: "output", Value: "text", Usage: "text or json"},
			&cli.StringFlag{Name: "server", Usage: "Argo CD API server host:port (default $ARGOCD_SERVER)"},
			&cli.BoolFlag{Name: "grpc-web", Usage: "speak gRPC-Web, for servers behind a proxy that does not pass gRPC through"},
			&cli.BoolFlag{Name: "plaintext", Usage: "talk to the server without TLS"},
			&cli.BoolFlag{Name: "insecure", Usage: "do not verify the server's TLS certificate"},
			&cli.BoolFlag{Name: "insecure-registry", Usage: "allow plain HTTP to the registry when reading multi-arch indexes"},
			&cli.DurationFlag{Name: "poll", Value: 2 * time.Second, Usage: "how often to look at the Application", Hidden: true},
		},
		Action: func(c *cli.Context) error {
			var err error
			code, err = verify(c.Context, c, stdin, stdout, stderr)
			return err
		},
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usage(err.Error())
		},
	}
	err := app.RunContext(ctx, args)
	if err == nil {
		return code
	}
	fmt.Fprintln(stderr, err.Error())
	var coded cli.ExitCoder
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	return exitUsage
}

func usage(msg string) error { return cli.Exit(msg, exitUsage) }

func verify(ctx context.Context, c *cli.Context, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if c.NArg() > 0 {
		return exitUsage, usage(fmt.Sprintf("verify takes no arguments (got %s); use --app and --revision", escape.Field(c.Args().First())))
	}
	output := c.String("output")
	if output != "text" && output != "json" {
		return exitUsage, usage(fmt.Sprintf("--output %s: want text or json", escape.Field(output)))
	}
	if c.String("app") == "" {
		return exitUsage, usage("--app is required: the name of the Argo CD Application to verify")
	}
	app, err := argocd.ParseApp(c.String("app"))
	if err != nil {
		return exitUsage, usage(escape.Line(err.Error()))
	}
	revision, superseded, err := revisionToVerify(c, stdin)
	if err != nil {
		return exitUsage, usage(err.Error())
	}
	if superseded != "" {
		return exitSuperseded, cli.Exit(superseded, exitSuperseded)
	}
	if err := verifier.CheckRevision(revision); err != nil {
		return exitUsage, usage(escape.Line(err.Error()))
	}

	server := c.String("server")
	if server == "" {
		server = os.Getenv(apiclient.EnvArgoCDServer)
	}
	client, err := argocd.Connect(argocd.Options{
		Server:    server,
		Token:     os.Getenv(apiclient.EnvArgoCDAuthToken),
		PlainText: c.Bool("plaintext"),
		Insecure:  c.Bool("insecure"),
		GRPCWeb:   c.Bool("grpc-web"),
	})
	if err != nil {
		return exitUsage, usage(err.Error())
	}
	defer client.Close()

	timeout := c.Duration("timeout")
	res, err := verifier.Verify(ctx, client, verifier.Options{
		App:      app,
		Revision: revision,
		Timeout:  timeout,
		Refresh:  c.Bool("refresh"),
		Sync:     c.Bool("sync"),
		Poll:     c.Duration("poll"),
		Progress: stderr,
		Registry: compare.Lookup{Options: []registry.Option{registry.WithInsecure(c.Bool("insecure-registry"))}},
	})
	if err != nil {
		return exitUsage, usage(escape.Line(err.Error()))
	}
	if ctx.Err() != nil {
		return exitUsage, usage("interrupted")
	}
	code := map[verifier.Outcome]int{
		verifier.Verified: exitVerified, verifier.Drift: exitDrift,
		verifier.Superseded: exitSuperseded, verifier.TimedOut: exitTimedOut,
	}[res.Outcome]
	if output == "json" {
		return code, report.JSON(stdout, res, timeout)
	}
	switch res.Outcome {
	case verifier.Verified, verifier.Drift:
		return code, report.Text(stdout, res)
	default:
		return code, cli.Exit(report.Summary(res, timeout), code)
	}
}

// promoteRecord is what verify reads of `digestpin promote --output json`.
type promoteRecord struct {
	Commit        string `json:"commit"`
	Base          string `json:"base"`
	Branch        string `json:"branch"`
	Pushed        bool   `json:"pushed"`
	Superseded    bool   `json:"superseded"`
	AlreadyPinned bool   `json:"already_pinned"`
	DryRun        bool   `json:"dry_run"`
	PullRequest   *struct {
		Number int    `json:"number"`
		URL    string `json:"url"`
		Merged bool   `json:"merged"`
	} `json:"pull_request"`
}

// revisionToVerify reads --revision, or the commit promote reported.
// superseded is set when promote itself was superseded.
func revisionToVerify(c *cli.Context, stdin io.Reader) (revision, superseded string, err error) {
	file := c.String("promote-result")
	if c.String("revision") != "" {
		if file != "" {
			return "", "", errors.New("give --revision or --promote-result, not both")
		}
		return c.String("revision"), "", nil
	}
	if file == "" {
		return "", "", errors.New("--revision is required, or --promote-result with the output of `digestpin promote --output json`")
	}
	var raw []byte
	name := escape.Field(file)
	if file == "-" {
		name = "stdin"
		raw, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	} else {
		raw, err = os.ReadFile(file)
	}
	if err != nil {
		return "", "", fmt.Errorf("--promote-result: %w", err)
	}
	var rec promoteRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return "", "", fmt.Errorf("--promote-result %s: not the output of `digestpin promote --output json`: %v", name, err)
	}
	switch {
	case rec.Superseded:
		return "", fmt.Sprintf("superseded: promote reported that branch %s moved on; the newer commit's pipeline verifies its own deploy", escape.Field(rec.Branch)), nil
	case rec.DryRun:
		return "", "", fmt.Errorf("--promote-result %s: promote ran with --dry-run and committed nothing", name)
	case rec.PullRequest != nil && !rec.PullRequest.Merged:
		return "", "", fmt.Errorf("--promote-result %s: promote opened pull request #%d (%s), which is not merged: nothing is deployed yet", name, rec.PullRequest.Number, escape.Field(rec.PullRequest.URL))
	case rec.AlreadyPinned && rec.Commit == "":
		rec.Commit = rec.Base
	case !rec.Pushed && !rec.AlreadyPinned:
		return "", "", fmt.Errorf("--promote-result %s: promote did not push its commit, so Argo CD cannot see it", name)
	}
	if strings.TrimSpace(rec.Commit) == "" {
		return "", "", fmt.Errorf("--promote-result %s names no commit", name)
	}
	return rec.Commit, "", nil
}
