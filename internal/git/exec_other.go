//go:build !unix

package git

import "os/exec"

// detach is a no-op where process groups are not available; cancellation
// then kills only the git process itself.
func detach(*exec.Cmd) {}
