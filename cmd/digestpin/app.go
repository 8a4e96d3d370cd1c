package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/digestpin/digestpin/internal/untrusted"
)

// Exit codes, documented in the README.
const (
	exitOK         = 0
	exitRefused    = 1 // generate/check: policy refusal; promote: failed
	exitUsage      = 2 // usage error, bad configuration, render error
	exitSuperseded = 3 // promote: the branch moved on
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func run(args []string, stdout, stderr io.Writer) int {
	app := &cli.App{
		Name:      "digestpin",
		Usage:     "pin container images by digest in Git, and render only pinned images in Argo CD",
		Version:   version,
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: []*cli.Command{
			generateCommand(),
			checkCommand(),
			promoteCommand(),
			pinCommand(),
			demoCommand(),
			verifyCommand(),
		},
		// Errors are printed once, here, with the exit code they carry.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit(err.Error(), exitUsage)
		},
	}
	err := app.Run(args)
	if err == nil {
		return exitOK
	}
	// Messages quote repositories, registries and git; those parts are
	// escaped where the messages are built, and no line may carry a
	// control character whatever built it.
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(stderr, untrusted.Lines(msg))
	}
	var coded cli.ExitCoder
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	return exitUsage
}
