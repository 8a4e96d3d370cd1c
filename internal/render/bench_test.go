package render

import (
	"testing"

	benchtree "github.com/digestpin/digestpin/bench/tree"
	"github.com/digestpin/digestpin/internal/render/imagetag"
	"github.com/digestpin/digestpin/internal/repofs"
)

// Benchmarks of the render and its hot paths on the trees `go run ./bench`
// measures end to end (package bench/tree). Speed goals are checked here
// and by the harness, never by tests.
//
//	go test -run '^$' -bench . ./internal/render/
//	go test -run '^$' -bench 'Render100Kustomize' -benchtime 1x ./internal/render/   # ~20 s per op

func benchApp(b *testing.B, app benchtree.App) Options {
	b.Helper()
	root := b.TempDir()
	if err := app.Write(root); err != nil {
		b.Fatal(err)
	}
	return Options{Root: root, Dir: app.AppPath}
}

// benchRender renders opts, with the fast path when wantFast.
func benchRender(b *testing.B, opts Options, wantFast bool) {
	b.Helper()
	// As in production (TestMain lowers it for the tests).
	minFastImages = 3
	defer func() { minFastImages = 1 }()
	b.ReportAllocs()
	for b.Loop() {
		result, err := Render(opts)
		if err != nil {
			b.Fatal(err)
		}
		if result.imagesFast != wantFast {
			b.Fatalf("fast path taken: %t, want %t", result.imagesFast, wantFast)
		}
		if _, err := result.YAML(); err != nil {
			b.Fatal(err)
		}
	}
}

// The small app has two images: entries, which kustomize applies itself.
func BenchmarkRenderSmall(b *testing.B) { benchRender(b, benchApp(b, benchtree.Small()), false) }
func BenchmarkRender20(b *testing.B)    { benchRender(b, benchApp(b, benchtree.Services(20)), true) }
func BenchmarkRender100(b *testing.B)   { benchRender(b, benchApp(b, benchtree.Services(100)), true) }
func BenchmarkRender500(b *testing.B)   { benchRender(b, benchApp(b, benchtree.Services(500)), true) }

// BenchmarkRender*Kustomize leave the root's images: to kustomize, for
// comparison.
func BenchmarkRender20Kustomize(b *testing.B) {
	opts := benchApp(b, benchtree.Services(20))
	opts.ImagesByKustomize = true
	benchRender(b, opts, false)
}

func BenchmarkRender100Kustomize(b *testing.B) {
	opts := benchApp(b, benchtree.Services(100))
	opts.ImagesByKustomize = true
	benchRender(b, opts, false)
}

// BenchmarkImagesPass100 is the fast path's own work on the rendered
// 100-service tree: recording the fields both walks reach, matching,
// chaining and rewriting.
func BenchmarkImagesPass100(b *testing.B) {
	opts := benchApp(b, benchtree.Services(100))
	fsys, err := newReadFS(opts.Root, "", repofs.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	dir, err := fsys.Resolve(fsys.Root() + "/" + opts.Dir)
	if err != nil {
		b.Fatal(err)
	}
	t, err := inspect(fsys, dir, Overrides{})
	if err != nil {
		b.Fatal(err)
	}
	root, err := fsys.ReadFile(t.rootFile)
	if err != nil {
		b.Fatal(err)
	}
	plan, reason := imagetag.NewPlan(planInput(t, root, t.root))
	if plan == nil {
		b.Fatal(reason)
	}
	fsys.Replace(t.rootFile, plan.ProbeRoot())
	m, err := runKustomize(fsys, dir)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		fresh := m.DeepCopy()
		b.StartTimer()
		if err := plan.Apply(fresh); err != nil {
			b.Fatal(err)
		}
	}
}
