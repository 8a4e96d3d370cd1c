package manifests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/digestpin/digestpin/internal/imageref"
)

const (
	dockerfilePath = "../Dockerfile"
	// Where the runtime image keeps the binary; plugin.yaml runs
	// `digestpin` from PATH.
	binaryPath = "/usr/local/bin/digestpin"
	// The variable cmd/digestpin prints as its version.
	versionSymbol = "main.version"
)

// pinnedImage is an image reference that carries a sha256 digest of 64
// lowercase hex characters at its end, with no build argument in it (an
// argument could swap the image at build time).
var pinnedImage = regexp.MustCompile(`^[^\s$@]+@sha256:[0-9a-f]{64}$`)

// numericUser999 is Argo CD's user, given as numbers: a name would need an
// /etc/passwd entry, and Kubernetes' runAsNonRoot can only verify a number.
var numericUser999 = regexp.MustCompile(`^999(:[0-9]+)?$`)

// TestDockerfile checks the repository's Dockerfile with BuildKit's own
// parser: what a docker build would do, without a Docker engine.
func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	pkgDirs := buildPackageDirs(t)
	for _, problem := range dockerfileProblems(src, pkgDirs) {
		t.Error(problem)
	}
}

// TestDockerfileChecksCatchRegressions breaks the real Dockerfile in each way
// the image must not regress and expects dockerfileProblems to say so. A
// mutation that no longer applies fails too, so that the checks cannot go
// quietly untested when the Dockerfile is rewritten.
func TestDockerfileChecksCatchRegressions(t *testing.T) {
	src, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	pkgDirs := buildPackageDirs(t)
	if problems := dockerfileProblems(src, pkgDirs); len(problems) > 0 {
		t.Fatalf("the Dockerfile itself has problems: %q", problems)
	}
	buildDigest := regexp.MustCompile(`(FROM [^\n]*golang:[^@\s]+)@sha256:[0-9a-f]{64}`)
	runtimeDigest := regexp.MustCompile(`(FROM [^\n]*distroless/[^@\s]+)@sha256:[0-9a-f]{64}`)
	anyDigest := regexp.MustCompile(`@sha256:([0-9a-f]{64})`)
	secondFrom := regexp.MustCompile(`(?s)\nFROM [^\n]*distroless.*`)
	cases := []struct {
		name   string
		mutate func(string) string
		want   string // a fragment of the expected problem
	}{
		{"build image by tag only", func(s string) string { return buildDigest.ReplaceAllString(s, "$1") }, "not pinned"},
		{"runtime image by tag only", func(s string) string { return runtimeDigest.ReplaceAllString(s, "$1") }, "not pinned"},
		{"uppercase digest", func(s string) string {
			return anyDigest.ReplaceAllStringFunc(s, strings.ToUpper)
		}, "not pinned"},
		{"short digest", func(s string) string {
			return anyDigest.ReplaceAllStringFunc(s, func(m string) string { return m[:len(m)-1] })
		}, "not pinned"},
		{"image from a build argument", func(s string) string {
			return buildDigest.ReplaceAllString(s, "ARG GO=golang:1.26\nFROM $${GO}")
		}, "not pinned"},
		{"unpinned syntax directive", func(s string) string { return "# syntax=docker/dockerfile:1\n" + s }, "syntax"},
		{"unpinned COPY --from image", func(s string) string {
			return replaceOnce(s, "COPY --from=build", "COPY --from=alpine:3 /etc/passwd /etc/passwd\nCOPY --from=build")
		}, "not pinned"},
		{"single stage", func(s string) string { return secondFrom.ReplaceAllString(s, "\n") }, "stage"},
		{"cgo enabled", func(s string) string { return replaceOnce(s, "RUN CGO_ENABLED=0 ", "RUN CGO_ENABLED=1 ") }, "CGO_ENABLED"},
		{"cgo unset", func(s string) string { return replaceOnce(s, "RUN CGO_ENABLED=0 ", "RUN ") }, "CGO_ENABLED"},
		{"no -trimpath", func(s string) string { return replaceOnce(s, "-trimpath ", "") }, "-trimpath"},
		{"version not stamped", func(s string) string {
			return replaceOnce(s, " -X main.version=${VERSION}", "")
		}, versionSymbol},
		{"version stamped with a literal", func(s string) string {
			return replaceOnce(s, "-X main.version=${VERSION}", "-X main.version=v0.0.0")
		}, versionSymbol},
		{"VERSION not declared in the build stage", func(s string) string {
			return replaceOnce(s, "ARG TARGETARCH\nARG VERSION=dev\n", "ARG TARGETARCH\n")
		}, versionSymbol},
		{"debug symbols kept", func(s string) string { return replaceOnce(s, `"-s -w `, `"`) }, "-s -w"},
		{"another package", func(s string) string { return replaceOnce(s, " ./cmd/digestpin\n", " ./cmd/other\n") }, "./cmd/digestpin"},
		{"a package directory not copied", func(s string) string { return replaceOnce(s, "COPY plugin/ plugin/\n", "") }, "plugin"},
		{"runs as root", func(s string) string { return replaceOnce(s, "USER 999:999", "USER 0") }, "USER"},
		{"runs as a user name", func(s string) string { return replaceOnce(s, "USER 999:999", "USER nonroot:nonroot") }, "USER"},
		{"no USER", func(s string) string { return replaceOnce(s, "USER 999:999\n", "") }, "USER"},
		{"USER only in the build stage", func(s string) string {
			s = replaceOnce(s, "USER 999:999\n", "")
			return replaceOnce(s, "WORKDIR /src\n", "WORKDIR /src\nUSER 999:999\n")
		}, "USER"},
		{"more than the binary from the build stage", func(s string) string {
			return replaceOnce(s, "COPY --from=build /out/digestpin", "COPY --from=build /go/bin /go/bin\nCOPY --from=build /out/digestpin")
		}, "copies"},
		{"files from the build context in the runtime image", func(s string) string {
			return replaceOnce(s, "COPY --from=build /out/digestpin", "COPY plugin.yaml /plugin.yaml\nCOPY --from=build /out/digestpin")
		}, "copies"},
		{"binary elsewhere", func(s string) string {
			return replaceOnce(s, "/out/digestpin /usr/local/bin/digestpin", "/out/digestpin /digestpin")
		}, binaryPath},
		{"a binary other than the one built", func(s string) string {
			return replaceOnce(s, "COPY --from=build /out/digestpin", "COPY --from=build /usr/local/go/bin/go")
		}, "copies"},
		{"entrypoint", func(s string) string {
			return replaceOnce(s, "CMD [", "ENTRYPOINT [\"/usr/local/bin/digestpin\"]\nCMD [")
		}, "ENTRYPOINT"},
		{"version label literal", func(s string) string {
			return replaceOnce(s, `org.opencontainers.image.version="${VERSION}"`, `org.opencontainers.image.version="v1"`)
		}, "org.opencontainers.image.version"},
		{"revision label missing", func(s string) string {
			return replaceOnce(s, `org.opencontainers.image.revision="${REVISION}" \`+"\n", "")
		}, "org.opencontainers.image.revision"},
		{"cgo enabled by ENV", func(s string) string {
			return replaceOnce(s, "RUN CGO_ENABLED=0 ", "ENV CGO_ENABLED=1\nRUN ")
		}, "CGO_ENABLED"},
		{"exec-form build, which expands no argument", func(s string) string {
			return regexp.MustCompile(`RUN CGO_ENABLED=0 [^\n]*\\\n[^\n]*\\\n[^\n]*\n`).ReplaceAllLiteralString(s,
				`ENV CGO_ENABLED=0`+"\n"+`RUN ["go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=${VERSION}", "-o", "/out/digestpin", "./cmd/digestpin"]`+"\n")
		}, versionSymbol},
		{"version label from another argument", func(s string) string {
			return replaceOnce(s, `org.opencontainers.image.version="${VERSION}"`, `org.opencontainers.image.version="${REVISION}"`)
		}, "org.opencontainers.image.version"},
		{"source label from an undeclared argument", func(s string) string {
			return replaceOnce(s, "ARG SOURCE=https://github.com/digestpin/digestpin\n", "")
		}, "org.opencontainers.image.source"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			broken := c.mutate(string(src))
			if broken == string(src) {
				t.Fatal("the mutation no longer applies to the Dockerfile; update it")
			}
			problems := dockerfileProblems([]byte(broken), pkgDirs)
			for _, p := range problems {
				if strings.Contains(p, c.want) {
					t.Log(p)
					return
				}
			}
			t.Errorf("no problem mentions %q; got %q", c.want, problems)
		})
	}
}

// replaceOnce replaces old, which must occur exactly once, or returns s
// unchanged so that the caller reports a stale mutation.
func replaceOnce(s, old, new string) string {
	if strings.Count(s, old) != 1 {
		return s
	}
	return strings.Replace(s, old, new, 1)
}

// buildPackageDirs lists the top-level directories of the repository that
// hold packages ./cmd/digestpin is built from, as the go command sees them.
func buildPackageDirs(t *testing.T) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if goroot := os.Getenv("GOROOT"); goroot != "" {
			goTool = filepath.Join(goroot, "bin", "go")
		} else {
			t.Skip("no go command to list the packages of ./cmd/digestpin")
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./cmd/digestpin")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var dirs []string
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue // a dependency from the module cache
		}
		top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		if !slices.Contains(dirs, top) {
			dirs = append(dirs, top)
		}
	}
	if !slices.Contains(dirs, "cmd") {
		t.Fatalf("go list found no package of the repository in %q", out)
	}
	return dirs
}

// dockerfileProblems judges a Dockerfile: every image pinned by digest, a
// static, trimmed, version-stamped build of ./cmd/digestpin in a build stage,
// and a runtime stage that holds that binary only and runs as user 999. It
// returns one sentence per problem. pkgDirs are the repository directories
// the build stage must copy.
func dockerfileProblems(src []byte, pkgDirs []string) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if syntax, _, _, ok := parser.DetectSyntax(src); ok && !pinnedImage.MatchString(syntax) {
		report("the syntax directive pulls the frontend image %q, which is not pinned by a sha256 digest", syntax)
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return append(problems, fmt.Sprintf("BuildKit cannot parse the Dockerfile: %v", err))
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return append(problems, fmt.Sprintf("BuildKit cannot read the Dockerfile's instructions: %v", err))
	}
	lex := shell.NewLex(res.EscapeToken)

	// Every image is pinned: FROM and COPY --from. Earlier stages and
	// scratch pull nothing.
	pulls := func(ref string, before int) bool {
		if ref == "scratch" {
			return false
		}
		for _, s := range stages[:before] {
			if strings.EqualFold(s.Name, ref) {
				return false
			}
		}
		return !regexp.MustCompile(`^[0-9]+$`).MatchString(ref) // COPY --from=<stage index>
	}
	for i, s := range stages {
		if pulls(s.BaseName, i) {
			if !pinnedImage.MatchString(s.BaseName) || imageref.RequireDigest(s.BaseName) != nil {
				report("stage %d: FROM %s is not pinned by a sha256 digest (image:tag@sha256:<64 lowercase hex>)", i+1, s.BaseName)
			}
		}
		for _, c := range s.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" && pulls(cp.From, i+1) && !pinnedImage.MatchString(cp.From) {
				report("stage %d: COPY --from=%s is not pinned by a sha256 digest", i+1, cp.From)
			}
		}
	}
	if len(stages) < 2 {
		report("want a multi-stage build (a build stage and a runtime stage), found %d stage(s)", len(stages))
		return problems
	}
	final := stages[len(stages)-1]

	// The runtime stage copies the binary, and only it, from a build stage.
	var copies []*instructions.CopyCommand
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			copies = append(copies, c)
		case *instructions.AddCommand:
			report("the runtime stage copies with ADD %v; it must hold the binary only", c.SourcePaths)
		case *instructions.EntrypointCommand:
			report("the runtime stage sets ENTRYPOINT %q; the sidecar's command is argocd-cmp-server, set in the manifests", c.CmdLine)
		}
	}
	stamped := ""
	if len(copies) != 1 {
		report("the runtime stage copies %d times; it must copy the digestpin binary from the build stage and nothing else", len(copies))
	} else if bin := copies[0]; bin.DestPath != binaryPath {
		report("the runtime stage copies the binary to %q, want %s (plugin.yaml runs digestpin from PATH)", bin.DestPath, binaryPath)
	} else {
		build := -1
		for i, s := range stages[:len(stages)-1] {
			if bin.From != "" && (strings.EqualFold(s.Name, bin.From) || bin.From == fmt.Sprint(i)) {
				build = i
			}
		}
		if build < 0 {
			report("the runtime stage copies %v from %q, not from a build stage", bin.SourcePaths, bin.From)
		} else {
			// The build stage builds the binary that is copied.
			var buildProblems []string
			buildProblems, stamped = goBuildProblems(lex, stages[build], bin.SourcePaths, pkgDirs)
			problems = append(problems, buildProblems...)
		}
	}

	// Argo CD's user, by number, in the runtime stage's last USER.
	user := ""
	for _, c := range final.Commands {
		if u, ok := c.(*instructions.UserCommand); ok {
			user = u.User
		}
	}
	if !numericUser999.MatchString(user) {
		report("the runtime stage's USER is %q, want the numeric uid 999 (USER 999:999): Argo CD's user, verifiable by runAsNonRoot", user)
	}

	// OCI labels from build arguments; the version label from the same
	// argument the binary is stamped with.
	labels := map[string]string{}
	args := map[string]bool{}
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.ArgCommand:
			for _, a := range c.Args {
				args[a.Key] = true
			}
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				value, err := lex.ProcessWordWithMatches(kv.Value, argsEnv(args))
				if err != nil {
					report("LABEL %s: %v", kv.Key, err)
					continue
				}
				if len(value.Unmatched) > 0 {
					labels[kv.Key] = "" // an argument the stage does not declare
					continue
				}
				labels[kv.Key] = value.Result
			}
		}
	}
	for _, key := range []string{"org.opencontainers.image.source", "org.opencontainers.image.revision", "org.opencontainers.image.version"} {
		v, ok := labels[key]
		if !ok || !argValue.MatchString(v) {
			report("the runtime stage must set LABEL %s to a build argument declared in the stage (ARG before LABEL); it is %q", key, v)
		}
	}
	if v := labels["org.opencontainers.image.version"]; argValue.MatchString(v) && argValue.MatchString(stamped) && v != stamped {
		report("LABEL org.opencontainers.image.version is %s, but %s is stamped from %s", v, versionSymbol, stamped)
	}
	return problems
}

// goBuildProblems checks the build stage: it copies the repository
// directories the binary is built from and runs
// CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$VERSION"
// -o <the file the runtime stage copies> ./cmd/digestpin.
func goBuildProblems(lex *shell.Lex, stage instructions.Stage, copied []string, pkgDirs []string) (problems []string, stamped string) {
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var sources []string
	for _, c := range stage.Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok && cp.From == "" {
			for _, p := range cp.SourcePaths {
				sources = append(sources, strings.TrimSuffix(strings.TrimPrefix(p, "./"), "/"))
			}
		}
	}
	for _, need := range append([]string{"go.mod", "go.sum"}, pkgDirs...) {
		if !slices.Contains(sources, need) && !slices.Contains(sources, ".") {
			report("the build stage does not COPY %s, which the binary is built from", need)
		}
	}

	args := map[string]bool{}
	cgo := ""
	var build []string
	for _, c := range stage.Commands {
		switch c := c.(type) {
		case *instructions.ArgCommand:
			for _, a := range c.Args {
				args[a.Key] = true
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				if kv.Key == "CGO_ENABLED" {
					cgo = kv.Value
				}
			}
		case *instructions.RunCommand:
			// The exec form runs no shell: nothing in it is expanded.
			words := c.CmdLine
			if c.PrependShell {
				line := strings.Join(c.CmdLine, " ")
				var err error
				if words, err = lex.ProcessWords(line, argsEnv(args)); err != nil {
					report("RUN %s: %v", line, err)
					continue
				}
			}
			for _, segment := range splitCommands(words) {
				assign, cmd := leadingAssignments(segment)
				if len(cmd) >= 2 && cmd[0] == "go" && cmd[1] == "build" {
					build = cmd
					if v, ok := assign["CGO_ENABLED"]; ok {
						cgo = v
					}
				}
			}
		}
	}
	if build == nil {
		return append(problems, "the build stage has no `go build` in a RUN"), ""
	}
	if cgo != "0" {
		report("go build runs with CGO_ENABLED=%q, want CGO_ENABLED=0 for a static binary", cgo)
	}
	var ldflags, output string
	var pkgs []string
	trimpath := false
	for i := 2; i < len(build); i++ {
		w := build[i]
		switch {
		case w == "-trimpath" || w == "-trimpath=true":
			trimpath = true
		case w == "-ldflags" && i+1 < len(build):
			i++
			ldflags = build[i]
		case strings.HasPrefix(w, "-ldflags="):
			ldflags = strings.TrimPrefix(w, "-ldflags=")
		case w == "-o" && i+1 < len(build):
			i++
			output = build[i]
		case strings.HasPrefix(w, "-o="):
			output = strings.TrimPrefix(w, "-o=")
		case !strings.HasPrefix(w, "-"):
			pkgs = append(pkgs, w)
		}
	}
	if !trimpath {
		report("go build has no -trimpath: the binary would carry the build machine's paths")
	}
	flags := strings.Fields(ldflags)
	if !slices.Contains(flags, "-s") || !slices.Contains(flags, "-w") {
		report("go build -ldflags %q lacks -s -w", ldflags)
	}
	for i, f := range flags {
		if f == "-X" && i+1 < len(flags) {
			if name, value, ok := strings.Cut(flags[i+1], "="); ok && name == versionSymbol {
				stamped = value
			}
		}
	}
	if !argValue.MatchString(stamped) {
		report("go build does not stamp %s from a build argument declared in the build stage (ARG VERSION before the RUN, -X %s=${VERSION}); -ldflags is %q", versionSymbol, versionSymbol, ldflags)
	}
	if !slices.Equal(pkgs, []string{"./cmd/digestpin"}) {
		report("go build builds %q, want ./cmd/digestpin", pkgs)
	}
	if output == "" || !slices.Equal(copied, []string{output}) {
		report("the runtime stage copies %q, but go build writes %q", copied, output)
	}
	return problems, stamped
}

// argValue is what a build argument expands to under argsEnv.
var argValue = regexp.MustCompile(`^<arg:[A-Za-z_][A-Za-z0-9_]*>$`)

func argSentinel(name string) string { return "<arg:" + name + ">" }

// argsEnv expands each declared build argument to a sentinel naming it, so
// that a check can tell "from the VERSION argument" from a literal.
func argsEnv(declared map[string]bool) shell.EnvGetter {
	var env []string
	for name := range declared {
		env = append(env, name+"="+argSentinel(name))
	}
	return shell.EnvsFromSlice(env)
}

// splitCommands splits a RUN's words at &&, || and ;.
func splitCommands(words []string) [][]string {
	var out [][]string
	var cur []string
	for _, w := range words {
		if w == "&&" || w == "||" || w == ";" {
			out = append(out, cur)
			cur = nil
			continue
		}
		cur = append(cur, w)
	}
	return append(out, cur)
}

// leadingAssignments splits `A=1 B=2 cmd args` into its environment and
// its command.
func leadingAssignments(words []string) (map[string]string, []string) {
	env := map[string]string{}
	for i, w := range words {
		name, value, ok := strings.Cut(w, "=")
		if !ok || !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(name) {
			return env, words[i:]
		}
		env[name] = value
	}
	return env, nil
}
