package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "digestpin-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "digestpin")
	build := exec.Command("go", "build", "-o", binary, ".")
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
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("digestpin %v did not finish", args)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
	if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = usage.Maxrss * 1024
	}
	return r
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
