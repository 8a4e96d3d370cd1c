package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/digestpin/digestpin/internal/untrusted"
)

// CommandError describes a git process that failed. Args and Stderr are
// redacted and escaped (package untrusted): git's messages quote what the
// remote and the repository say, which must not forge lines of output, so
// Stderr's lines are joined by an escaped "\n". Err is the underlying cause: an *exec.ExitError, the context's
// error when the context ended, or an error starting the process.
type CommandError struct {
	Args     []string // arguments after "git"
	ExitCode int      // -1 when the process did not exit normally
	Stderr   string   // trimmed
	Err      error
}

func (e *CommandError) Error() string {
	var b strings.Builder
	b.WriteString("git")
	for _, a := range e.Args {
		b.WriteByte(' ')
		b.WriteString(a)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Stderr != "" {
		b.WriteString(": ")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

func (e *CommandError) Unwrap() error { return e.Err }

// Environment variables that locate a repository or an index. Git sets them
// for hooks and aliases; inherited, they would make git operate on another
// repository than the one Open found.
var repoLocatingEnv = []string{
	"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR",
	"GIT_NAMESPACE", "GIT_PREFIX", "GIT_OBJECT_DIRECTORY",
	"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH",
}

// Environment variables this package sets itself.
var ownEnv = []string{
	"GIT_TERMINAL_PROMPT", "GIT_ASKPASS", "SSH_ASKPASS_REQUIRE", "GCM_INTERACTIVE",
	"GIT_PAGER", "PAGER", "GIT_EDITOR", "LC_ALL", "LANGUAGE", "GIT_LITERAL_PATHSPECS",
	"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
}

// baseEnv derives the environment of every git process from the inherited
// one. Credential helpers, SSH configuration and GIT_CONFIG_* settings are
// kept: CI systems use them to give the clone its credentials.
func baseEnv(inherited []string) ([]string, error) {
	env := make([]string, 0, len(inherited)+len(ownEnv))
	for _, kv := range inherited {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(repoLocatingEnv, k) || slices.Contains(ownEnv, k) {
			continue
		}
		env = append(env, kv)
	}
	if _, err := configCount(env); err != nil {
		return nil, err
	}
	return append(env,
		// Never wait for input: no terminal prompt, and an empty (not unset)
		// GIT_ASKPASS also keeps git from running core.askPass or
		// SSH_ASKPASS; failing authentication is then reported as an error.
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		"SSH_ASKPASS_REQUIRE=never",
		"GCM_INTERACTIVE=never",
		"GIT_PAGER=cat",
		"PAGER=cat",
		"GIT_EDITOR=true",
		// Messages are matched (push rejections, missing remote refs), so
		// they must not be translated.
		"LC_ALL=C",
		"LANGUAGE=",
		// Paths given to ls-tree are file names, never patterns or magic.
		"GIT_LITERAL_PATHSPECS=1",
	), nil
}

// configCount returns the number of GIT_CONFIG_KEY_<n>/GIT_CONFIG_VALUE_<n>
// pairs in env, so that settings of our own are appended, not substituted.
func configCount(env []string) (int, error) {
	for _, kv := range slices.Backward(env) {
		if v, ok := strings.CutPrefix(kv, "GIT_CONFIG_COUNT="); ok {
			if v == "" {
				return 0, nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("GIT_CONFIG_COUNT=%q is not a count", v)
			}
			return n, nil
		}
	}
	return 0, nil
}

// withConfig returns env with the given key/value settings added through
// GIT_CONFIG_COUNT. Such settings are invisible in argv (and so in ps),
// unlike "git -c", and take precedence over all configuration files.
func withConfig(env []string, kvs ...[2]string) []string {
	n, _ := configCount(env) // validated by baseEnv
	out := make([]string, 0, len(env)+2*len(kvs)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GIT_CONFIG_COUNT=") {
			out = append(out, kv)
		}
	}
	for i, kv := range kvs {
		out = append(out,
			fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", n+i, kv[0]),
			fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", n+i, kv[1]))
	}
	return append(out, fmt.Sprintf("GIT_CONFIG_COUNT=%d", n+len(kvs)))
}

type runOpts struct {
	stdin  []byte
	env    []string // replaces the base environment when not nil
	okExit []int    // exit codes other than 0 that are not errors
	stderr *string  // receives the redacted stderr when not nil
	// readStdout, when not nil, reads standard output as git writes it,
	// instead of run collecting it; an error from it stops git, and run
	// returns that error.
	readStdout func(io.Reader) error
}

// waitDelay bounds how long a finished git process may hold its output
// pipes open through a leftover child (a credential-cache daemon, say).
const waitDelay = 2 * time.Second

// run runs git with args in the work tree and returns its standard output.
// The process and everything it started are killed when ctx ends.
func (r *Repo) run(ctx context.Context, o runOpts, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, r.gitExe, args...)
	cmd.Dir = r.root
	cmd.Env = r.env
	if o.env != nil {
		cmd.Env = o.env
	}
	if o.stdin != nil {
		cmd.Stdin = bytes.NewReader(o.stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = waitDelay
	detach(cmd)

	var readErr error
	var reading sync.WaitGroup
	var pw *io.PipeWriter
	if o.readStdout != nil {
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		cmd.Stdout = pw
		reading.Go(func() {
			if readErr = o.readStdout(pr); readErr != nil {
				// Writes fail from now on, so exec closes git's pipe and
				// git stops.
				pr.CloseWithError(readErr)
				return
			}
			io.Copy(io.Discard, pr)
		})
	}
	err := cmd.Run()
	if pw != nil {
		pw.Close()
		reading.Wait()
	}
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		err = nil
	}
	errText := strings.TrimSpace(r.red.redact(dropHints(stderr.String())))
	if o.stderr != nil {
		*o.stderr = errText
	}
	if err == nil {
		return stdout.Bytes(), readErr
	}
	code := -1
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	}
	if readErr != nil && code == -1 && ctx.Err() == nil {
		return nil, readErr // git stopped because the reader did
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	} else if code > 0 && slices.Contains(o.okExit, code) {
		return stdout.Bytes(), nil
	}
	redArgs := make([]string, len(args))
	for i, a := range args {
		redArgs[i] = untrusted.Text(r.red.redact(a))
	}
	return stdout.Bytes(), &CommandError{Args: redArgs, ExitCode: code, Stderr: oneLine(errText), Err: err}
}

// oneLine escapes s, dropping blank lines first.
func oneLine(s string) string {
	var lines []string
	for line := range strings.Lines(s) {
		if line = strings.TrimRight(line, "\r\n"); strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	}
	return untrusted.Text(strings.Join(lines, "\n"))
}

// dropHints removes git's "hint:" lines: advice for people at a terminal
// that would drown the actual message.
func dropHints(s string) string {
	if !strings.Contains(s, "hint:") {
		return s
	}
	var b strings.Builder
	for line := range strings.Lines(s) {
		if !strings.HasPrefix(line, "hint:") {
			b.WriteString(line)
		}
	}
	return b.String()
}
