package main

import (
	"github.com/urfave/cli/v2"

	"github.com/digestpin/digestpin/internal/demo"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the whole story locally: registry, config repository, Argo CD's refusal, promote, the pinned render",
		Description: `Needs only git. Starts an in-process registry on loopback, pushes sample images,
creates a throwaway config repository from the embedded example app, and shows
what Argo CD would show before and after digestpin promote.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "keep", Usage: "keep the config repository and clones, and print where"},
			&cli.StringFlag{Name: "dir", Usage: "directory for the demo's files (default: a new temporary directory)"},
		},
		Action: func(c *cli.Context) error {
			if err := demo.Run(c.Context, demo.Options{Dir: c.String("dir"), Keep: c.Bool("keep"), Out: c.App.Writer}); err != nil {
				return cli.Exit("demo: "+err.Error(), exitRefused)
			}
			return nil
		},
	}
}
