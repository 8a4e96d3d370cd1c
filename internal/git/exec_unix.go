//go:build unix

package git

import (
	"os"
	"os/exec"
	"syscall"
)

// detach starts git in a session of its own. Without a controlling terminal
// nothing git runs (ssh, gpg, credential helpers) can prompt on /dev/tty, and
// cancellation kills the whole process group, so that ssh or
// git-remote-https do not outlive git and keep its output pipes open.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if err == syscall.ESRCH {
			return os.ErrProcessDone
		}
		return err
	}
}
