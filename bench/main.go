// Command bench measures `digestpin generate` against `kustomize build`
// v5.8.2 on generated trees: a small typical app and overlays of N
// services (see package tree). It runs both tools as Argo CD runs a
// plugin, alternating, several times each, checks that every output is
// byte-identical, and prints the medians of wall time, CPU time (user and
// system) and peak RSS, and the ratios, as a markdown table.
//
//	go run ./bench                         # small, 20, 40 and 100 services
//	go run ./bench -sizes small,100,500 -runs 3 -slow 500
//
// digestpin is built as the Dockerfile builds it; kustomize is ./bin/kustomize
// when it is there (make test installs it), else installed with
// `go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.2` into a temporary
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
)

const kustomizeVersion = "v5.8.2"

func main() {
	sizes := flag.String("sizes", "small,20,40,100", "trees to measure: small, or a number of services")
	runs := flag.Int("runs", 5, "runs of each tool per tree")
	smallRuns := flag.Int("small-runs", 41, "runs of each tool on the small app (it takes milliseconds, so more runs make its medians steady)")
	slow := flag.Int("slow", 500, "from this many services on, kustomize runs once (it takes minutes)")
	skipSlow := flag.Bool("skip-slow", false, "do not run kustomize at all on trees of -slow services or more")
	kustomize := flag.String("kustomize", "", "kustomize "+kustomizeVersion+" binary (default ./bin/kustomize, else go install)")
	keep := flag.Bool("keep", false, "keep the generated trees and binaries, and print where")
	flag.Parse()
	if err := run(*sizes, *runs, *smallRuns, *slow, *skipSlow, *kustomize, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(sizes string, runs, smallRuns, slow int, skipSlow bool, kustomize string, keep bool) error {
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
	work, err := os.MkdirTemp("", "digestpin-bench-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "bench: trees and binaries in", work)
	} else {
		defer os.RemoveAll(work)
	}

	digestpin := filepath.Join(work, "bin", "digestpin")
	fmt.Fprintln(os.Stderr, "bench: building digestpin as the Dockerfile does")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", digestpin, "./cmd/digestpin")
	build.Dir = moduleRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building digestpin: %w", err)
	}
	if kustomize, err = findKustomize(kustomize, moduleRoot, filepath.Join(work, "bin")); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: kustomize is", kustomize)

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
		if app.Services >= slow {
			kRuns = 1
			if skipSlow {
				kRuns = 0
			}
		}
		r, err := measure(app, root, digestpin, kustomize, dpRuns, kRuns)
		if err != nil {
			return fmt.Errorf("%s: %w", app.Name, err)
		}
		rows = append(rows, r)
	}
	printTable(os.Stdout, rows)
	return nil
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

// measure runs the tools alternately, digestpin first on even runs and
// kustomize first on odd ones, and checks their outputs are identical.
func measure(app tree.App, root, digestpin, kustomize string, runs, kRuns int) (row, error) {
	dir := filepath.Join(root, filepath.FromSlash(app.AppPath))
	env := cleanEnv()
	dpCmd := func() *exec.Cmd {
		cmd := exec.Command(digestpin, "generate")
		cmd.Dir = dir
		cmd.Env = append(slices.Clone(env), "ARGOCD_APP_SOURCE_PATH="+app.AppPath)
		return cmd
	}
	kCmd := func() *exec.Cmd {
		cmd := exec.Command(kustomize, "build", ".")
		cmd.Dir = dir
		cmd.Env = env
		return cmd
	}
	r := row{app: app}
	var want []byte
	check := func(tool string, out []byte) error {
		if want == nil {
			want = out
			r.outputBytes = len(out)
			return nil
		}
		if !bytes.Equal(out, want) {
			return fmt.Errorf("%s printed different bytes (%d vs %d): the outputs must be identical", tool, len(out), len(want))
		}
		return nil
	}
	for i := range max(runs, kRuns) {
		fmt.Fprintf(os.Stderr, "bench: %s, run %d\n", app.Name, i+1)
		order := []string{"digestpin", "kustomize"}
		if i%2 == 1 {
			order = []string{"kustomize", "digestpin"}
		}
		for _, tool := range order {
			var cmd *exec.Cmd
			switch {
			case tool == "digestpin" && i < runs:
				cmd = dpCmd()
			case tool == "kustomize" && i < kRuns:
				cmd = kCmd()
			default:
				continue
			}
			out, s, err := timed(cmd)
			if err != nil {
				return r, fmt.Errorf("%s: %w", tool, err)
			}
			if err := check(tool, out); err != nil {
				return r, err
			}
			if tool == "digestpin" {
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

func timed(cmd *exec.Cmd) ([]byte, sample, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return nil, sample{}, fmt.Errorf("%v\n%s", err, stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return nil, sample{}, errors.New("no rusage on this platform")
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return stdout.Bytes(), sample{wall: wall, cpu: cpu, rssKB: ru.Maxrss}, nil
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

func printTable(w io.Writer, rows []row) {
	fmt.Fprintf(w, "| tree | objects | images: entries | kustomize build | digestpin generate | speedup | CPU kustomize | CPU digestpin | CPU ratio | peak RSS kustomize | peak RSS digestpin | RSS ratio |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
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
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | **%.1fx** | %s | %s | %.1fx | %s | %s | %.2f |\n",
			r.app.Name, resources, r.app.Images, kwShown, dur(dw), ratio(kw, dw),
			dur(kc), dur(dc), ratio(kc, dc), mib(km), mib(dm), float64(dm)/float64(km))
	}
	fmt.Fprintf(w, "\nMedians over alternating runs (kustomize/digestpin runs: %s), outputs byte-identical. Speedup and CPU ratio: kustomize's time over digestpin's; RSS ratio: digestpin's peak over kustomize's.\n", runCounts(rows))
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
