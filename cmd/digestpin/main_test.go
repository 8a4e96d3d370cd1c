package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binary string

// launcherEnv makes the test binary a launcher (see launch) instead of
// running the tests.
const launcherEnv = "DIGESTPIN_TEST_LAUNCHER"

func TestMain(m *testing.M) {
	if os.Getenv(launcherEnv) == "1" {
		os.Exit(launch())
	}
	dir, err := os.MkdirTemp("", "digestpin-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "digestpin")
	args := []string{"build", "-o", binary}
	if os.Getenv("DIGESTPIN_TEST_RACE") == "1" {
		// make race: pin's resolver and rehearsal run concurrently
		// inside the binary, out of reach of go test -race.
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what a user sees of one run.
type result struct {
	stdout, stderr string
	code           int
	// maxRSS is the peak resident memory of the process, in bytes.
	maxRSS int64
}

// digestpin runs the built binary in dir with exactly env (plus PATH and HOME),
// as argocd-cmp-server does. A run that outlives the guard is killed and
// fails the test: nothing here should ever hang.
func digestpin(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The binary runs under a launcher, so that its peak memory is its
	// own (see launch); the launcher's process group is killed whole.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	report, reportW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer report.Close()
	cmd := exec.CommandContext(ctx, self, append([]string{binary}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.ExtraFiles = []*os.File{reportW}
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	cmd.Env = append(cmd.Env, launcherEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Start()
	reportW.Close()
	if err == nil {
		err = cmd.Wait()
	}
	if ctx.Err() != nil {
		t.Fatalf("digestpin %v did not finish", args)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	var kib int64
	if _, err := fmt.Fscan(report, &kib); err != nil {
		t.Fatalf("the launcher reported no peak memory: %v (stderr: %s)", err, r.stderr)
	}
	r.maxRSS = kib * 1024
	return r
}

// launch runs os.Args[1:] with the launcher's stdio, working directory and
// environment (without launcherEnv), writes the child's peak resident
// memory in KiB to file descriptor 3, and returns its exit status.
//
// The peak the kernel reports for a child counts its parent's: a process
// started with vfork (as os/exec starts every program) shares its
// parent's memory until it calls exec, and exec keeps the highest
// resident size the process has had, so a child of the test process would
// report at least the test process's own peak, which grows with every
// test before. The launcher is a fresh, small process: the peak of its
// child is the child's own.
func launch() int {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, launcherEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "launcher:", err)
		return 125
	}
	report := os.NewFile(3, "report")
	if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Fprintln(report, usage.Maxrss)
	}
	report.Close()
	if status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return 128 + int(status.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

func (r result) expect(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d (stderr: %s)", r.code, code, r.stderr)
	}
	if r.stdout != stdout {
		t.Errorf("stdout =\n%s\nwant\n%s", r.stdout, stdout)
	}
	if r.stderr != stderr {
		t.Errorf("stderr =\n%s\nwant\n%s", r.stderr, stderr)
	}
}
