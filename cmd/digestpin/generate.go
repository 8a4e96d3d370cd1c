package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/digestpin/digestpin/internal/untrusted"
	"github.com/digestpin/digestpin/plugin"
)

func generateCommand() *cli.Command {
	return &cli.Command{
		Name:  "generate",
		Usage: "render the kustomization in the working directory for Argo CD, refusing images without a sha256 digest",
		Description: `Argo CD runs this in the app's directory. It writes the rendered YAML to stdout,
or, when any image breaks the policy, nothing to stdout and every offender to stderr.
In audit mode (DIGESTPIN_MODE=audit, or the Application's plugin env MODE=audit
where DIGESTPIN_ALLOW_APP_AUDIT=true), an image that only lacks a digest is
rendered anyway: its object carries the annotation digestpin.dev/unpinned-images,
and a summary goes to stderr.
Exit status: 0 rendered, 1 refused by policy, 2 usage, configuration or render error.`,
		Action: func(c *cli.Context) error {
			start := time.Now()
			if c.NArg() > 0 {
				return cli.Exit(fmt.Sprintf("generate takes no arguments; it renders the working directory (got %q)", c.Args().First()), exitUsage)
			}
			cfg, err := plugin.ConfigFromEnv(os.LookupEnv, c.App.ErrWriter)
			if err != nil {
				return cli.Exit(untrusted.Text("digestpin: sidecar configuration: "+err.Error()), exitUsage)
			}
			wd, err := os.Getwd()
			if err != nil {
				return cli.Exit(untrusted.Text(err.Error()), exitUsage)
			}
			req, err := plugin.NewRequest(wd, os.LookupEnv)
			if err != nil {
				return cli.Exit(untrusted.Text("digestpin: "+err.Error()), exitUsage)
			}
			// kustomize cannot be stopped halfway, but the process can:
			// past the timeout or the memory bound, the command returns
			// and main exits.
			type rendered struct {
				out []byte
				err error
			}
			done := make(chan rendered, 1)
			go func() {
				out, err := plugin.Generate(req, cfg)
				done <- rendered{out, err}
			}()
			outgrown := watchMemory(cfg.Memory())
			var out []byte
			select {
			case r := <-done:
				out, err = r.out, r.err
			case <-time.After(cfg.Timeout() - time.Since(start)):
				err = plugin.TimeoutError(cfg.Timeout())
			case <-outgrown:
				err = plugin.MemoryError(cfg.Memory())
			}
			var modeErr *plugin.ModeError
			switch {
			case plugin.IsRefusal(err):
				return cli.Exit(err.Error(), exitRefused)
			case errors.As(err, &modeErr):
				return cli.Exit(untrusted.Text("digestpin: "+err.Error()), exitUsage)
			case err != nil:
				// One line, whatever the repository's names hold.
				return cli.Exit(untrusted.Text(fmt.Sprintf("digestpin: rendering %s: %v", req.SourcePath, err)), exitUsage)
			}
			_, err = c.App.Writer.Write(out)
			return err
		},
	}
}
