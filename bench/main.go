// Command bench measures `digestpin generate` against `kustomize build`
// (the release render.KustomizeVersion names) on generated trees: a small typical app and overlays of N
// services (see package tree). It runs both tools as Argo CD runs a
// plugin, alternating, several times each, checks that every output is
// byte-identical, and prints the medians of wall time, CPU time (user and
// system) and peak RSS, and the ratios, as a markdown table.
//
//	go run ./bench                         # small, 20, 40 and 100 services
//	go run ./bench -sizes small,100,500 -runs 3 -slow 500
//	go run ./bench -refusal -sizes 100     # a pass against a refusal
//	go run ./bench -baseline /tmp/old      # against another digestpin build
//	go run ./bench -pin                    # digestpin pin: 301 images, a 50 ms registry
//
// -refusal measures digestpin alone: on each tree, and on the same tree
// with the images: entry of an image every Deployment runs left without
// its digest, which digestpin must refuse (exit 1, nothing on stdout).
// -baseline measures digestpin against another build of itself, in place
// of kustomize, to decide whether a change to digestpin pays.
// -pin measures `digestpin pin` instead: over the overlay of -pin-services
// services with no images: entries (3n+1 images without a digest), against
// a registry in this process that answers every request -latency late, at
// each -concurrency; every run commits and pushes to a local bare
// repository, and is checked to pin every image. With -baseline, that
// binary's runs alternate with digestpin's.
//
// digestpin is built as the Dockerfile builds it; kustomize is ./bin/kustomize
// when it is there (make test installs it), else installed with
// `go install sigs.k8s.io/kustomize/kustomize/v5@<that release>` into a temporary
// directory.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/digestpin/digestpin/bench/tree"
	"github.com/digestpin/digestpin/internal/render"
)

// kustomizeVersion is the kustomize release digestpin renders like.
const kustomizeVersion = render.KustomizeVersion

func main() {
	sizes := flag.String("sizes", "small,20,40,100", "trees to measure: small, or a number of services")
	runs := flag.Int("runs", 5, "runs of each tool per tree")
	smallRuns := flag.Int("small-runs", 41, "runs of each tool on the small app (it takes milliseconds, so more runs make its medians steady)")
	slow := flag.Int("slow", 500, "from this many services on, kustomize runs once (it takes minutes)")
	skipSlow := flag.Bool("skip-slow", false, "do not run kustomize at all on trees of -slow services or more")
	kustomize := flag.String("kustomize", "", "kustomize "+kustomizeVersion+" binary (default ./bin/kustomize, else go install)")
	keep := flag.Bool("keep", false, "keep the generated trees and binaries, and print where")
	refusal := flag.Bool("refusal", false, "measure a refusal (one shared image left unpinned) against a pass, instead of kustomize")
	baseline := flag.String("baseline", "", "measure against this digestpin binary instead of kustomize")
	pin := flag.Bool("pin", false, "measure digestpin pin on an unpinned tree of -pin-services services, against a registry answering -latency late")
	pinServices := flag.Int("pin-services", 100, "with -pin, the services of the unpinned tree (3n+1 images)")
	latency := flag.Duration("latency", 50*time.Millisecond, "with -pin, the registry's delay on every request")
	concurrency := flag.String("concurrency", "1,8", "with -pin, the --concurrency values to measure")
	flag.Parse()
	if *pin {
		if err := benchPin(*pinServices, *latency, *concurrency, *runs, *baseline, *keep); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	mode := modeKustomize
	switch {
	case *refusal && *baseline != "":
		fmt.Fprintln(os.Stderr, "bench: -refusal and -baseline exclude each other")
		os.Exit(2)
	case *refusal:
		mode = modeRefusal
	case *baseline != "":
		mode = modeBaseline
	}
	if err := run(mode, *sizes, *runs, *smallRuns, *slow, *skipSlow, *kustomize, *baseline, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// mode says what digestpin is measured against.
type mode int

const (
	modeKustomize mode = iota // kustomize build of the same tree
	modeBaseline              // another digestpin binary on the same tree
	modeRefusal               // digestpin on the tree with an image unpinned
)

// labels head the table's columns: the other tool's, digestpin's, and
// their time ratio's.
func (m mode) labels() (other, dp, ratio string) {
	switch m {
	case modeBaseline:
		return "baseline", "digestpin", "speedup"
	case modeRefusal:
		return "digestpin refusal", "digestpin pass", "refusal / pass"
	}
	return "kustomize build", "digestpin generate", "speedup"
}

func run(mode mode, sizes string, runs, smallRuns, slow int, skipSlow bool, kustomize, baseline string, keep bool) error {
	if runs < 1 || smallRuns < 1 {
		return errors.New("-runs and -small-runs must be at least 1")
	}
	var apps []tree.App
	for _, s := range strings.Split(sizes, ",") {
		s = strings.TrimSpace(s)
		if s == "small" {
			apps = append(apps, tree.Small())
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("-sizes: %q is neither small nor a number of services", s)
		}
		apps = append(apps, tree.Services(n))
	}
	moduleRoot, err := goEnv("GOMOD")
	if err != nil {
		return err
	}
	moduleRoot = filepath.Dir(moduleRoot)
	work, digestpin, done, err := workspace("digestpin-bench-", keep)
	if err != nil {
		return err
	}
	defer done()
	switch mode {
	case modeKustomize:
		if kustomize, err = findKustomize(kustomize, moduleRoot, filepath.Join(work, "bin")); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "bench: kustomize is", kustomize)
	case modeBaseline:
		if baseline, err = filepath.Abs(baseline); err != nil {
			return err
		}
		if _, err := os.Stat(baseline); err != nil {
			return fmt.Errorf("-baseline: %w", err)
		}
	}

	var rows []row
	for _, app := range apps {
		root := filepath.Join(work, strings.ReplaceAll(app.Name, " ", "-"))
		if err := app.Write(root); err != nil {
			return err
		}
		dpRuns, kRuns := runs, runs
		if app.Services == 1 {
			dpRuns, kRuns = smallRuns, smallRuns
		}
		dir := filepath.Join(root, filepath.FromSlash(app.AppPath))
		env := cleanEnv()
		dp := tool{name: "digestpin", cmd: generateCmd(digestpin, dir, app.AppPath, env), runs: dpRuns}
		var other tool
		switch mode {
		case modeKustomize:
			if app.Services >= slow {
				kRuns = 1
				if skipSlow {
					kRuns = 0
				}
			}
			other = tool{name: "kustomize", cmd: func() *exec.Cmd {
				cmd := exec.Command(kustomize, "build", ".")
				cmd.Dir = dir
				cmd.Env = env
				return cmd
			}, runs: kRuns}
		case modeBaseline:
			other = tool{name: "baseline", cmd: generateCmd(baseline, dir, app.AppPath, env), runs: kRuns}
		case modeRefusal:
			unpinned := app.Unpinned()
			uroot := root + "-unpinned"
			if err := unpinned.Write(uroot); err != nil {
				return err
			}
			udir := filepath.Join(uroot, filepath.FromSlash(app.AppPath))
			other = tool{name: "digestpin (refusal)", cmd: generateCmd(digestpin, udir, app.AppPath, env), runs: kRuns, refuses: true}
		}
		r, err := measure(app, dp, other)
		if err != nil {
			return fmt.Errorf("%s: %w", app.Name, err)
		}
		rows = append(rows, r)
	}
	printTable(os.Stdout, mode, rows)
	return nil
}

// workspace makes the harness's temporary directory and builds digestpin
// into it; done removes it, unless keep, which prints where it is.
func workspace(prefix string, keep bool) (work, digestpin string, done func(), err error) {
	if work, err = os.MkdirTemp("", prefix); err != nil {
		return "", "", nil, err
	}
	done = func() { os.RemoveAll(work) }
	if keep {
		fmt.Fprintln(os.Stderr, "bench: trees and binaries in", work)
		done = func() {}
	}
	if digestpin, err = buildDigestpin(work); err != nil {
		done()
		return "", "", nil, err
	}
	return work, digestpin, done, nil
}

// buildDigestpin builds digestpin into work/bin as the Dockerfile does.
func buildDigestpin(work string) (string, error) {
	moduleRoot, err := goEnv("GOMOD")
	if err != nil {
		return "", err
	}
	digestpin := filepath.Join(work, "bin", "digestpin")
	fmt.Fprintln(os.Stderr, "bench: building digestpin as the Dockerfile does")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", digestpin, "./cmd/digestpin")
	build.Dir = filepath.Dir(moduleRoot)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building digestpin: %w", err)
	}
	return digestpin, nil
}

// generateCmd runs `digestpin generate` in dir as Argo CD runs it.
func generateCmd(bin, dir, appPath string, env []string) func() *exec.Cmd {
	return func() *exec.Cmd {
		cmd := exec.Command(bin, "generate")
		cmd.Dir = dir
		cmd.Env = append(slices.Clone(env), "ARGOCD_APP_SOURCE_PATH="+appPath)
		return cmd
	}
}

func goEnv(name string) (string, error) {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	v := strings.TrimSpace(string(out))
	if v == "" || v == os.DevNull {
		return "", fmt.Errorf("go env %s is empty: run go run ./bench from the digestpin module", name)
	}
	return v, nil
}

// findKustomize returns the kustomize binary to compare with, installing it
// through the Go toolchain when there is none.
func findKustomize(flagged, moduleRoot, bin string) (string, error) {
	candidates := []string{flagged}
	if flagged == "" {
		candidates = []string{filepath.Join(moduleRoot, "bin", "kustomize")}
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, checkKustomize(c)
		} else if flagged != "" {
			return "", fmt.Errorf("-kustomize: %w", err)
		}
	}
	fmt.Fprintln(os.Stderr, "bench: installing kustomize", kustomizeVersion, "with go install")
	install := exec.Command("go", "install", "sigs.k8s.io/kustomize/kustomize/v5@"+kustomizeVersion)
	install.Env = append(os.Environ(), "GOBIN="+bin)
	install.Stdout, install.Stderr = os.Stderr, os.Stderr
	if err := install.Run(); err != nil {
		return "", fmt.Errorf("installing kustomize: %w", err)
	}
	path := filepath.Join(bin, "kustomize")
	return path, checkKustomize(path)
}

func checkKustomize(path string) error {
	out, err := exec.Command(path, "version").Output()
	if err != nil {
		return fmt.Errorf("%s version: %w", path, err)
	}
	if v := strings.TrimSpace(string(out)); v != kustomizeVersion {
		return fmt.Errorf("%s is kustomize %s; the benchmark compares with %s", path, v, kustomizeVersion)
	}
	return nil
}

// sample is one run of one tool.
type sample struct {
	wall, cpu time.Duration
	rssKB     int64
}

type row struct {
	app         tree.App
	dp, k       []sample
	outputBytes int
}

// tool is a command the harness times.
type tool struct {
	name string
	cmd  func() *exec.Cmd
	runs int
	// refuses says the command must exit with status 1 (refused by
	// policy) and print nothing to stdout.
	refuses bool
}

// measure runs digestpin and the other tool alternately, digestpin first
// on even runs and the other first on odd ones, and checks that the
// outputs of those that do not refuse are identical.
func measure(app tree.App, dp, other tool) (row, error) {
	r := row{app: app}
	var want []byte
	check := func(t tool, out []byte, code int) error {
		if t.refuses {
			if code != 1 || len(out) > 0 {
				return fmt.Errorf("exit status %d and %d bytes on stdout, want a refusal: status 1, nothing on stdout", code, len(out))
			}
			return nil
		}
		if code != 0 {
			return fmt.Errorf("exit status %d", code)
		}
		if want == nil {
			want = out
			r.outputBytes = len(out)
			return nil
		}
		if !bytes.Equal(out, want) {
			return fmt.Errorf("printed different bytes (%d vs %d): the outputs must be identical", len(out), len(want))
		}
		return nil
	}
	for i := range max(dp.runs, other.runs) {
		fmt.Fprintf(os.Stderr, "bench: %s, run %d\n", app.Name, i+1)
		order := []*tool{&dp, &other}
		if i%2 == 1 {
			order = []*tool{&other, &dp}
		}
		for _, t := range order {
			if i >= t.runs {
				continue
			}
			out, stderr, code, s, err := timed(t.cmd())
			if err == nil {
				err = check(*t, out, code)
			}
			if err != nil {
				return r, fmt.Errorf("%s: %w\n%s", t.name, err, stderr)
			}
			if t == &dp {
				r.dp = append(r.dp, s)
			} else {
				r.k = append(r.k, s)
			}
		}
	}
	return r, nil
}

// cleanEnv is the environment without what would change either tool's
// output: kustomize's and digestpin's own variables and Argo CD's.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		for _, p := range []string{"KUSTOMIZE_", "DIGESTPIN_", "ARGOCD_", "GOGC=", "GOMEMLIMIT=", "GODEBUG=", "GOMAXPROCS="} {
			if strings.HasPrefix(kv, p) {
				return true
			}
		}
		return false
	})
}

// timed runs cmd and returns its stdout, stderr, exit status and usage.
func timed(cmd *exec.Cmd) ([]byte, []byte, int, sample, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, nil, 0, sample{}, err
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return nil, nil, 0, sample{}, errors.New("no rusage on this platform")
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return stdout.Bytes(), stderr.Bytes(), cmd.ProcessState.ExitCode(), sample{wall: wall, cpu: cpu, rssKB: ru.Maxrss}, nil
}

func median[T int64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func medians(samples []sample) (wall, cpu time.Duration, rss int64) {
	var w, c []time.Duration
	var m []int64
	for _, s := range samples {
		w = append(w, s.wall)
		c = append(c, s.cpu)
		m = append(m, s.rssKB)
	}
	return median(w), median(c), median(m)
}

func printTable(w io.Writer, mode mode, rows []row) {
	other, dp, ratioName := mode.labels()
	short, dpShort := strings.Fields(other)[0], "digestpin"
	if mode == modeRefusal {
		short, dpShort = "refusal", "pass"
	}
	fmt.Fprintf(w, "| tree | objects | images: entries | %s | %s | %s | CPU %s | CPU %s | CPU ratio | peak RSS %s | peak RSS %s | RSS ratio |\n", other, dp, ratioName, short, dpShort, short, dpShort)
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	// kustomize is 1 to 30 times slower; refusals and other builds differ
	// by less, and need the second decimal.
	ratioFormat := "%.1fx"
	if mode != modeKustomize {
		ratioFormat = "%.2fx"
	}
	for _, r := range rows {
		dw, dc, dm := medians(r.dp)
		resources := fmt.Sprint(r.app.Resources)
		if len(r.k) == 0 {
			fmt.Fprintf(w, "| %s | %s | %d | not run | %s | | | %s | | | %s | |\n",
				r.app.Name, resources, r.app.Images, dur(dw), dur(dc), mib(dm))
			continue
		}
		kw, kc, km := medians(r.k)
		kwShown := dur(kw)
		if len(r.k) < len(r.dp) {
			kwShown += fmt.Sprintf(" (%d run)", len(r.k))
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | **"+ratioFormat+"** | %s | %s | "+ratioFormat+" | %s | %s | %.2f |\n",
			r.app.Name, resources, r.app.Images, kwShown, dur(dw), ratio(kw, dw),
			dur(kc), dur(dc), ratio(kc, dc), mib(km), mib(dm), float64(dm)/float64(km))
	}
	switch mode {
	case modeKustomize:
		fmt.Fprintf(w, "\nMedians over alternating runs (kustomize/digestpin runs: %s), outputs byte-identical. Speedup and CPU ratio: kustomize's time over digestpin's; RSS ratio: digestpin's peak over kustomize's.\n", runCounts(rows))
	case modeBaseline:
		fmt.Fprintf(w, "\nMedians over alternating runs (baseline/digestpin runs: %s), outputs byte-identical. Speedup and CPU ratio: the baseline's time over digestpin's; RSS ratio: digestpin's peak over the baseline's.\n", runCounts(rows))
	case modeRefusal:
		fmt.Fprintf(w, "\nMedians over alternating runs (refusal/pass runs: %s); every refusal exited 1 with nothing on stdout. Ratios: the refusal's over the pass's.\n", runCounts(rows))
	}
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func dur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
}

func mib(kb int64) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }

func runCounts(rows []row) string {
	var parts []string
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%s %d/%d", r.app.Name, len(r.k), len(r.dp)))
	}
	return strings.Join(parts, "; ")
}
