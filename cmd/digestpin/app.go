package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
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
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(stderr, msg)
	}
	var coded cli.ExitCoder
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	return exitUsage
}
