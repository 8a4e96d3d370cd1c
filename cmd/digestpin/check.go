package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/digestpin/digestpin/internal/check"
	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/render"
	"github.com/digestpin/digestpin/internal/untrusted"
)

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "judge kustomizations and YAML files the way generate would, for pre-merge CI and local use",
		ArgsUsage: "[PATH...]",
		Description: `Each directory with a kustomization is rendered; other directories are walked
and their YAML files judged as plain manifests. Policy comes from the same
DIGESTPIN_* variables as the sidecar's.
Exit status: 0 all pinned, 1 something refused, 2 usage or render error.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: check.FormatText, Usage: "text, json, or github (workflow annotations)"},
			&cli.StringFlag{Name: "root", Usage: "nothing outside this directory is read (default: the enclosing git work tree, or the working directory)"},
		},
		Action: func(c *cli.Context) error {
			format := c.String("format")
			if format != check.FormatText && format != check.FormatJSON && format != check.FormatGitHub {
				return cli.Exit(fmt.Sprintf("unknown --format %q; use text, json or github", format), exitUsage)
			}
			pol, err := policy.FromEnv(os.LookupEnv)
			if err != nil {
				return cli.Exit(untrusted.Text("configuration: "+err.Error()), exitUsage)
			}
			tuning, err := render.TuningFromEnv(os.LookupEnv, c.App.ErrWriter)
			if err != nil {
				return cli.Exit("configuration: "+err.Error(), exitUsage)
			}
			root := c.String("root")
			if root == "" {
				if root, err = check.FindRoot("."); err != nil {
					return cli.Exit(untrusted.Text(err.Error()), exitUsage)
				}
			}
			paths := c.Args().Slice()
			if len(paths) == 0 {
				paths = []string{"."}
			}
			targets, err := check.Paths(root, paths, pol, tuning)
			if err != nil {
				return cli.Exit(untrusted.Text(err.Error()), exitUsage)
			}
			if err := check.Write(c.App.Writer, format, targets, pol); err != nil {
				return err
			}
			code := exitOK
			for _, t := range targets {
				switch {
				case t.Err != nil:
					code = exitUsage
				case len(t.Violations) > 0 && code == exitOK:
					code = exitRefused
				}
			}
			if code != exitOK {
				return cli.Exit("", code)
			}
			return nil
		},
	}
}
