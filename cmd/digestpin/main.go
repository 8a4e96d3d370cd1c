// Command digestpin keeps Argo CD deploying exactly the images Git pins.
package main

import "os"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
