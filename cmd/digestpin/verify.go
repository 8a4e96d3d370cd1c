package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/urfave/cli/v2"
)

// verifyBinary is the program `digestpin verify` runs. It links Argo CD's
// API client, which brings Kubernetes v0.31 and an older kube-openapi than
// the renderer uses, so it is built from its own module
// (cmd/digestpin-verify) and the plugin sidecar's binary stays free of it.
const verifyBinary = "digestpin-verify"

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:            "verify",
		Usage:           "prove that an Argo CD Application's pods run exactly the digests Git pins (runs digestpin-verify)",
		UsageText:       "digestpin verify --app NAME (--revision SHA | --promote-result FILE) [--timeout 10m] [--refresh] [--sync] [--output text|json]",
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			path, err := findVerify()
			if err != nil {
				return cli.Exit(err.Error(), exitUsage)
			}
			code, err := runCompanion(path, c.Args().Slice(), c.App.Writer, c.App.ErrWriter)
			if err != nil {
				return cli.Exit(fmt.Sprintf("running %s: %v", path, err), exitUsage)
			}
			if code != 0 {
				// digestpin-verify has said why.
				return cli.Exit("", code)
			}
			return nil
		},
	}
}

// findVerify looks for digestpin-verify next to this binary (as installed
// by `make bin/digestpin-verify` or the release archive), then on PATH.
func findVerify() (string, error) {
	path, where := findCompanion(verifyBinary)
	if path != "" {
		return path, nil
	}
	return "", fmt.Errorf("digestpin verify needs the %s binary, which is not %s.\n"+
		"It is built apart so that the plugin sidecar does not carry Argo CD's client. From a clone of digestpin:\n"+
		"    make bin/%s             (or: cd cmd/%s && go install .)\n"+
		"and put it next to digestpin or on PATH", verifyBinary, where, verifyBinary, verifyBinary)
}

// findCompanion looks for a program that ships beside digestpin: next to
// this binary (also when it is reached through a symlink), then on PATH.
// When it is not found, where says where it was looked for.
func findCompanion(name string) (path, where string) {
	var looked []string
	if self, err := os.Executable(); err == nil {
		dirs := []string{filepath.Dir(self)}
		if real, err := filepath.EvalSymlinks(self); err == nil && filepath.Dir(real) != dirs[0] {
			dirs = append(dirs, filepath.Dir(real))
		}
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, ""
			}
			looked = append(looked, d)
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, ""
	}
	if len(looked) > 0 {
		return "", fmt.Sprintf("next to digestpin (%s) or on PATH", looked[0])
	}
	return "", "on PATH"
}

// runCompanion runs a companion program with args and the caller's
// standard streams, passes SIGINT and SIGTERM on, and returns its exit
// status.
func runCompanion(path string, args []string, stdout, stderr io.Writer) (int, error) {
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-signals:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() >= 0 {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}
