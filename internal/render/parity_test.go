package render_test

// Parity tests: every scenario under testdata/parity must render, in
// process, to exactly the bytes `kustomize build` prints (the release render.KustomizeVersion names).
//
// Layout: testdata/parity/<scenario>/ is a small repository and the root
// of the render (render.Options.Root). The kustomization rendered is the
// scenario directory itself, unless the scenario has a file named RENDER,
// whose first line is the directory to render, relative to the scenario
// (for example "overlays/prod").
//
// The kustomize binary is named by the KUSTOMIZE environment variable, as
// `make test` does after installing that release into ./bin:
//
//	KUSTOMIZE=$PWD/bin/kustomize go test ./internal/render/ -run Parity

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digestpin/digestpin/internal/render"
	"github.com/digestpin/digestpin/internal/testutil"
)

const (
	parityDir = "testdata/parity"
	// parityMinScenarios keeps the suite from shrinking unnoticed.
	parityMinScenarios = 30
)

// parityMarkers are lines some scenarios exist to produce: kustomize's
// output must hold them, so that those scenarios keep their point.
var parityMarkers = map[string][]string{
	"origin-annotations":              {"    config.kubernetes.io/origin: |\n      path: ../base/deployment.yaml\n"},
	"build-metadata-managed-by-label": {"    app.kubernetes.io/managed-by: kustomize-" + render.KustomizeVersion + "\n"},
	"patch-copies-annotations":        {"      annotations:\n"},
	"empty-resources":                 nil, // renders to nothing at all
}

// parityOrigins are the origins TrackOrigins must report, by scenario.
var parityOrigins = map[string][]string{
	"origin-annotations": {
		"base/kustomization.yaml",    // ConfigMap base-config, generated
		"overlay/kustomization.yaml", // ConfigMap overlay-config, generated
		"overlay/service.yaml",
		"base/deployment.yaml",
	},
}

type parityScenario struct {
	name string
	root string // absolute scenario directory
	dir  string // kustomization directory, relative to root
}

// parityScenarios lists the scenarios, sorted by name.
func parityScenarios(t *testing.T) []parityScenario {
	t.Helper()
	entries, err := os.ReadDir(parityDir)
	if err != nil {
		t.Fatalf("reading %s: %v", parityDir, err)
	}
	var scenarios []parityScenario
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		root, err := filepath.Abs(filepath.Join(parityDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		dir := "."
		if data, err := os.ReadFile(filepath.Join(root, "RENDER")); err == nil {
			line, _, _ := strings.Cut(string(data), "\n")
			dir = filepath.FromSlash(strings.TrimSpace(line))
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		scenarios = append(scenarios, parityScenario{name: e.Name(), root: root, dir: dir})
	}
	if len(scenarios) < parityMinScenarios {
		t.Fatalf("%s holds %d scenarios; the parity suite must keep at least %d", parityDir, len(scenarios), parityMinScenarios)
	}
	return scenarios
}

// TestParityScenarios checks the suite itself, with or without kustomize:
// enough scenarios, each with a kustomization where it says, inside the
// scenario, and no symlinks.
func TestParityScenarios(t *testing.T) {
	for _, s := range parityScenarios(t) {
		if !filepath.IsLocal(s.dir) {
			t.Errorf("scenario %s: RENDER names %q, which is not inside the scenario", s.name, s.dir)
		}
		err := filepath.WalkDir(s.root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.Type()&os.ModeSymlink != 0 {
				t.Errorf("scenario %s: %s is a symlink", s.name, path)
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
		found := false
		for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
			if _, err := os.Stat(filepath.Join(s.root, s.dir, name)); err == nil {
				found = true
			}
		}
		if !found {
			t.Errorf("scenario %s: no kustomization in %s", s.name, filepath.Join(s.root, s.dir))
		}
	}
}

var parityBuilds sync.Map // scenario name → func() ([]byte, error)

// parityBuild runs `kustomize build` once per scenario.
func parityBuild(t *testing.T, kustomize string, s parityScenario) []byte {
	t.Helper()
	build, _ := parityBuilds.LoadOrStore(s.name, sync.OnceValues(func() ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, kustomize, "build", s.dir)
		cmd.Dir = s.root
		// Nothing from the environment may change what kustomize prints.
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, "KUSTOMIZE_")
		})
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("kustomize build %s (in %s): %v\n%s", s.dir, s.root, err, stderr.String())
		}
		return stdout.Bytes(), nil
	}))
	want, err := build.(func() ([]byte, error))()
	if err != nil {
		t.Fatal(err)
	}
	return want
}

func parityRender(t *testing.T, s parityScenario, trackOrigins bool) []byte {
	t.Helper()
	result, err := render.Render(render.Options{Root: s.root, Dir: s.dir, TrackOrigins: trackOrigins})
	if err != nil {
		t.Fatalf("render.Render: %v", err)
	}
	got, err := result.YAML()
	if err != nil {
		t.Fatalf("Result.YAML: %v", err)
	}
	if want, ok := parityOrigins[s.name]; ok && trackOrigins && !slices.Equal(result.Origins, want) {
		t.Errorf("TrackOrigins: origins %q, want %q", result.Origins, want)
	}
	if trackOrigins {
		if len(result.Origins) != result.Resources.Size() {
			t.Errorf("TrackOrigins: %d origins for %d resources", len(result.Origins), result.Resources.Size())
		}
		for i, res := range result.Resources.Resources() {
			if i < len(result.Origins) && result.Origins[i] == "" {
				t.Errorf("TrackOrigins: no origin for %s", res.CurId())
			}
		}
	}
	return got
}

// TestParity renders every scenario and requires kustomize's exact bytes.
func TestParity(t *testing.T) {
	scenarios := parityScenarios(t)
	kustomize := testutil.Kustomize(t, render.KustomizeVersion)
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			want := parityBuild(t, kustomize, s)
			if markers, ok := parityMarkers[s.name]; ok {
				if markers == nil && len(want) != 0 {
					t.Errorf("kustomize build printed %d bytes; the scenario must render to nothing", len(want))
				}
				for _, m := range markers {
					if !bytes.Contains(want, []byte(m)) {
						t.Errorf("kustomize build output lacks %q, which the scenario exists to produce", m)
					}
				}
			}
			got := parityRender(t, s, false)
			parityCompare(t, "kustomize build", want, "render.Render", got)
		})
	}
}

// TestParityTrackOrigins renders every scenario with origin tracking on:
// the origin annotations it adds must leave the output untouched (they stay
// only when the kustomization itself asks for buildMetadata:
// [originAnnotations], and then kustomize prints them too).
func TestParityTrackOrigins(t *testing.T) {
	scenarios := parityScenarios(t)
	kustomize := testutil.Kustomize(t, render.KustomizeVersion)
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			want := parityBuild(t, kustomize, s)
			got := parityRender(t, s, true)
			parityCompare(t, "kustomize build", want, "render.Render with TrackOrigins", got)
		})
	}
}

// parityCompare fails with a unified diff when got differs from want.
func parityCompare(t *testing.T, wantName string, want []byte, gotName string, got []byte) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	t.Errorf("output differs from %s (%d bytes vs %d):\n--- %s\n+++ %s\n%s",
		wantName, len(want), len(got), wantName, gotName, parityDiff(string(want), string(got)))
}

// parityDiff is a small unified diff (3 lines of context) of two texts.
func parityDiff(a, b string) string {
	x, y := parityLines(a), parityLines(b)
	if len(x)*len(y) > 4_000_000 {
		return parityFirstDifference(x, y)
	}
	// lcs[i][j] is the length of the longest common subsequence of x[i:]
	// and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type edit struct {
		op   byte // ' ', '-', '+'
		line string
		ai   int // line number in a (1-based) of this or the next a line
		bi   int
	}
	var edits []edit
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			edits = append(edits, edit{' ', x[i], i + 1, j + 1})
			i++
			j++
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			edits = append(edits, edit{'-', x[i], i + 1, j + 1})
			i++
		default:
			edits = append(edits, edit{'+', y[j], i + 1, j + 1})
			j++
		}
	}
	const context = 3
	var out strings.Builder
	for k := 0; k < len(edits); {
		if edits[k].op == ' ' {
			k++
			continue
		}
		start := max(0, k-context)
		end := k
		// Extend the hunk while changes are closer than 2*context apart.
		for end < len(edits) {
			if edits[end].op != ' ' {
				end++
				continue
			}
			next := end
			for next < len(edits) && edits[next].op == ' ' {
				next++
			}
			if next == len(edits) || next-end > 2*context {
				break
			}
			end = next
		}
		end = min(len(edits), end+context)
		na, nb := 0, 0
		for _, e := range edits[start:end] {
			if e.op != '+' {
				na++
			}
			if e.op != '-' {
				nb++
			}
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", edits[start].ai, na, edits[start].bi, nb)
		for _, e := range edits[start:end] {
			fmt.Fprintf(&out, "%c%s\n", e.op, e.line)
		}
		k = end
	}
	return out.String()
}

func parityFirstDifference(x, y []string) string {
	i := 0
	for i < len(x) && i < len(y) && x[i] == y[i] {
		i++
	}
	var out strings.Builder
	fmt.Fprintf(&out, "first difference at line %d:\n", i+1)
	for k := max(0, i-3); k < min(len(x), i+4); k++ {
		fmt.Fprintf(&out, "-%s\n", x[k])
	}
	for k := max(0, i-3); k < min(len(y), i+4); k++ {
		fmt.Fprintf(&out, "+%s\n", y[k])
	}
	return out.String()
}

func parityLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\\ no newline at end"
	}
	return lines
}
