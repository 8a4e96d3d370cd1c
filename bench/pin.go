package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/digestpin/digestpin/bench/tree"
)

// pinRow is one measured configuration of `digestpin pin`.
type pinRow struct {
	build       string // "digestpin", or "baseline" for -baseline's binary
	app         tree.App
	latency     time.Duration
	concurrency int
	runs        int
	wall, cpu   time.Duration
	requests    int64 // registry requests of one run
}

// pinBinary is a digestpin build the harness runs, under a label.
type pinBinary struct{ label, path string }

// runPin measures `digestpin pin` over the unpinned overlay of services
// services, against a registry (go-containerregistry's, in this process)
// that answers every request latency late, at each concurrency. With
// several binaries, their runs alternate, so that a change in the
// machine's load falls on each alike.
func runPin(binaries []pinBinary, work string, services int, latency time.Duration, concurrencies []int, runs int) ([]pinRow, error) {
	var delay atomic.Int64
	var requests atomic.Int64
	handler := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		time.Sleep(time.Duration(delay.Load()))
		handler.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	app := tree.BeforePin(services, host+"/acme")
	fmt.Fprintf(os.Stderr, "bench: pushing %d images to the registry\n", app.Images)
	if err := pushImages(app, host); err != nil {
		return nil, err
	}
	bare, clone, seed, err := configRepo(work, app)
	if err != nil {
		return nil, err
	}
	delay.Store(int64(latency))

	var rows []pinRow
	for _, c := range concurrencies {
		at := len(rows)
		for _, b := range binaries {
			rows = append(rows, pinRow{build: b.label, app: app, latency: latency, concurrency: c, runs: runs})
		}
		samples := make([][]sample, len(binaries))
		for i := range runs {
			for k, b := range binaries {
				s, n, err := pinOnce(b.path, bare, clone, seed, work, app, c, &requests)
				if err != nil {
					return nil, err
				}
				rows[at+k].requests = n
				samples[k] = append(samples[k], s)
				fmt.Fprintf(os.Stderr, "bench: pin (%s), concurrency %d, run %d: %s\n", b.label, c, i+1, dur(s.wall))
			}
		}
		for k := range binaries {
			rows[at+k].wall, rows[at+k].cpu, _ = medians(samples[k])
		}
	}
	return rows, nil
}

// pinOnce resets the config repository to seed, runs digestpin pin once
// and checks that it pinned every image; it returns the run's times and
// registry requests.
func pinOnce(digestpin, bare, clone, seed, work string, app tree.App, concurrency int, requests *atomic.Int64) (sample, int64, error) {
	if _, err := git(bare, "update-ref", "refs/heads/main", seed); err != nil {
		return sample{}, 0, err
	}
	requests.Store(0)
	cmd := exec.Command(digestpin, "pin", "--insecure-registry", "--concurrency", fmt.Sprint(concurrency), app.AppPath)
	cmd.Dir = clone
	cmd.Env = append(cleanEnv(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "DOCKER_CONFIG="+work)
	stdout, stderr, code, s, err := timed(cmd)
	if err != nil {
		return sample{}, 0, err
	}
	if code != 0 {
		return sample{}, 0, fmt.Errorf("%s pin exited %d:\n%s", digestpin, code, stderr)
	}
	if rows := bytes.Count(stdout, []byte("\n")) - 2; rows != app.Images {
		return sample{}, 0, fmt.Errorf("%s pin printed %d rows, want %d:\n%s", digestpin, rows, app.Images, stdout)
	}
	pinned, err := git(bare, "show", "main:"+app.AppPath+"/kustomization.yaml")
	if err != nil {
		return sample{}, 0, err
	}
	if n := strings.Count(pinned, "  digest: sha256:"); n != app.Images {
		return sample{}, 0, fmt.Errorf("the commit of %s pins %d images, want %d", digestpin, n, app.Images)
	}
	return s, requests.Load(), nil
}

// pushImages pushes a small random image for every image the app renders,
// tagged as its base names it.
func pushImages(app tree.App, host string) error {
	img, err := random.Image(512, 1)
	if err != nil {
		return err
	}
	for _, content := range app.Files {
		for line := range strings.Lines(content) {
			ref, ok := strings.CutPrefix(strings.TrimSpace(line), "image: ")
			if !ok || !strings.HasPrefix(ref, host+"/") {
				continue
			}
			r, err := name.ParseReference(ref, name.Insecure)
			if err != nil {
				return err
			}
			if err := remote.Write(r, img); err != nil {
				return fmt.Errorf("pushing %s: %w", ref, err)
			}
		}
	}
	return nil
}

// configRepo commits app into a new bare repository and clones it.
func configRepo(work string, app tree.App) (bare, clone, seed string, err error) {
	dir := filepath.Join(work, "pin")
	bare, clone, seedDir := filepath.Join(dir, "config.git"), filepath.Join(dir, "clone"), filepath.Join(dir, "seed")
	if err := app.Write(seedDir); err != nil {
		return "", "", "", err
	}
	for _, step := range [][]string{
		{dir, "init", "--quiet", "--bare", "--initial-branch=main", bare},
		{seedDir, "init", "--quiet", "--initial-branch=main"},
		{seedDir, "add", "--all"},
		{seedDir, "-c", "user.name=Seed", "-c", "user.email=seed@example.com", "commit", "--quiet", "-m", "seed"},
		{seedDir, "push", "--quiet", bare, "main"},
		{dir, "clone", "--quiet", bare, clone},
	} {
		if _, err := git(step[0], step[1:]...); err != nil {
			return "", "", "", err
		}
	}
	seed, err = git(bare, "rev-parse", "main")
	return bare, clone, seed, err
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func printPinTable(w io.Writer, rows []pinRow) {
	fmt.Fprintln(w, "| build | tree | unpinned images | registry latency | concurrency | wall | CPU | registry requests |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %d | %s | %d | **%s** | %s | %d |\n", r.build, r.app.Name, r.app.Images, r.latency, r.concurrency, dur(r.wall), dur(r.cpu), r.requests)
	}
	// With a baseline, each digestpin row follows its baseline row.
	for i := 1; i < len(rows); i++ {
		if rows[i-1].build == "baseline" && rows[i].build == "digestpin" {
			fmt.Fprintf(w, "\nconcurrency %d: digestpin takes %.2fx the baseline's wall time, %.2fx its CPU time.\n", rows[i].concurrency, rows[i].wall.Seconds()/rows[i-1].wall.Seconds(), rows[i].cpu.Seconds()/rows[i-1].cpu.Seconds())
		}
	}
	if len(rows) > 0 {
		fmt.Fprintf(w, "\nMedians of %d runs each, interleaved. Each run pins every image of the overlay as one commit: it renders the overlay and resolves the images, edits the overlay's images: and renders it again to verify, commits and pushes to a local bare repository.\n", rows[0].runs)
	}
}

func benchPin(services int, latency time.Duration, concurrencies string, runs int, baseline string, keep bool) error {
	var cs []int
	for _, s := range strings.Split(concurrencies, ",") {
		var c int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &c); err != nil || c < 1 {
			return fmt.Errorf("-concurrency: %q is not a positive number", s)
		}
		cs = append(cs, c)
	}
	work, digestpin, done, err := workspace("digestpin-bench-pin-", keep)
	if err != nil {
		return err
	}
	defer done()
	binaries := []pinBinary{{"digestpin", digestpin}}
	if baseline != "" {
		if baseline, err = filepath.Abs(baseline); err != nil {
			return err
		}
		binaries = append([]pinBinary{{"baseline", baseline}}, binaries...)
	}
	rows, err := runPin(binaries, work, services, latency, cs, runs)
	if err != nil {
		return err
	}
	printPinTable(os.Stdout, rows)
	return nil
}
