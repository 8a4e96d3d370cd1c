package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/digestpin/digestpin/internal/demo"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run the whole story locally: registry, config repository, Argo CD's refusal, promote, the pinned render",
		Description: `Needs only git. Starts an in-process registry on loopback, pushes sample images,
creates a throwaway config repository from the embedded example app, and shows
what Argo CD would show before and after digestpin promote.

With --cluster, tells the same story on a real Kubernetes control plane and a
real Argo CD on loopback, ending with digestpin verify's table. It runs
digestpin-cluster-demo, which ` + "`make cluster`" + ` builds into ./bin of a clone
together with what it starts (about 11 minutes the first time).`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "keep", Usage: "keep the config repository and clones, and print where"},
			&cli.StringFlag{Name: "dir", Usage: "directory for the demo's files (default: a new temporary directory)"},
			&cli.BoolFlag{Name: "cluster", Usage: "run on a real control plane and Argo CD (needs `make cluster`)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("cluster") {
				return clusterDemo(c)
			}
			if err := demo.Run(c.Context, demo.Options{Dir: c.String("dir"), Keep: c.Bool("keep"), Out: c.App.Writer}); err != nil {
				return cli.Exit("demo: "+err.Error(), exitRefused)
			}
			return nil
		},
	}
}

// clusterDemoBinary tells the story on a real control plane. It links
// Argo CD and client-go, so it is built from the e2e module, by
// `make cluster`, next to what it starts.
const clusterDemoBinary = "digestpin-cluster-demo"

func clusterDemo(c *cli.Context) error {
	path, where := findCompanion(clusterDemoBinary)
	if path == "" {
		return cli.Exit(fmt.Sprintf("demo --cluster: it runs %s, which is not %s.\n"+
			"It needs a Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager), Argo CD and redis-server.\n"+
			"From a clone of digestpin, build them all into ./bin (about 11 minutes the first time, seconds after):\n"+
			"    make cluster\n"+
			"then run bin/digestpin demo --cluster. Plain `digestpin demo` needs none of this.", clusterDemoBinary, where), exitRefused)
	}
	self, err := os.Executable()
	if err != nil {
		return cli.Exit("demo --cluster: "+err.Error(), exitRefused)
	}
	args := []string{"--digestpin", self}
	if c.Bool("keep") {
		args = append(args, "--keep")
	}
	if d := c.String("dir"); d != "" {
		args = append(args, "--dir", d)
	}
	code, err := runCompanion(path, args, c.App.Writer, c.App.ErrWriter)
	if err != nil {
		return cli.Exit(fmt.Sprintf("demo --cluster: running %s: %v", path, err), exitRefused)
	}
	if code != 0 {
		return cli.Exit("", code)
	}
	return nil
}
