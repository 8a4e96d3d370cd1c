// Command digestpin-verify proves that the pods of an Argo CD Application
// run exactly the digests Git pins at a revision. `digestpin verify` runs
// it; it is a binary of its own so that the plugin sidecar does not carry
// Argo CD's client.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
