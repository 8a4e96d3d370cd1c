package render

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/repofs"
	"github.com/digestpin/digestpin/internal/testutil"
)

// TestEveryKustomizationIsVetted: components the overrides add, their
// bases and their components are vetted before kustomize runs, like the
// repository's own.
func TestEveryKustomizationIsVetted(t *testing.T) {
	url, requests := loopback(t)
	files := map[string]string{
		"app/kustomization.yaml":         "resources: [deployment.yaml]\n",
		"app/deployment.yaml":            deployment,
		"comp/remote/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- " + url + "/x.yaml\n",
		"comp/base/kustomization.yaml":   "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [../../lib]\n",
		"comp/nested/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncomponents: [../remote]\n",
		"lib/kustomization.yaml":         "resources:\n- git@127.0.0.1:acme/lib.git\n",
	}
	tests := []struct{ name, component, want string }{
		{"remote component", url + "/component",
			`app/kustomization.yaml: components entry "` + url + `/component" from the Application's components parameter is remote; digestpin renders only what is in the repository, so vendor it into the repository: not allowed in digestpin`},
		{"git component with a line break", "https://127.0.0.1/acme/c.git\n",
			`app/kustomization.yaml: components entry "https://127.0.0.1/acme/c.git\n" from the Application's components parameter holds a control character; a path never does: not allowed in digestpin`},
		{"control character in a local path", "../comp/\x1b[2Jx",
			`app/kustomization.yaml: components entry "../comp/\x1b[2Jx" from the Application's components parameter holds a control character; a path never does: not allowed in digestpin`},
		{"component with a remote resource", "../comp/remote",
			`comp/remote/kustomization.yaml: resources entry "` + url + `/x.yaml" is remote; digestpin renders only what is in the repository, so vendor it into the repository: not allowed in digestpin`},
		{"component whose base is remote", "../comp/base",
			`lib/kustomization.yaml: resources entry "git@127.0.0.1:acme/lib.git" is remote; digestpin renders only what is in the repository, so vendor it into the repository: not allowed in digestpin`},
		{"component of a component", "../comp/nested",
			`comp/remote/kustomization.yaml: resources entry "` + url + `/x.yaml" is remote; digestpin renders only what is in the repository, so vendor it into the repository: not allowed in digestpin`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := testutil.WriteTree(t, files)
			o := Overrides{Components: []string{tt.component}, ComponentsSource: "the Application's components parameter"}
			_, err := Render(Options{Root: root, Dir: "app", Overrides: o})
			if !errors.Is(err, ErrUnsafe) || err.Error() != tt.want {
				t.Errorf("Render error =\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the loopback server saw %d requests", n)
	}
}

// TestControlCharactersInPathsAreRefused: in every field that names a
// file, whatever else the value looks like.
func TestControlCharactersInPathsAreRefused(t *testing.T) {
	url, requests := loopback(t)
	nl := url + "/x.yaml\n"
	tests := []struct{ kustomization, field string }{
		{"resources:\n- %q\n", "resources"},
		{"bases:\n- %q\n", "resources"},
		{"resources: [d.yaml]\ncomponents:\n- %q\n", "components"},
		{"crds:\n- %q\n", "crds"},
		{"resources: [d.yaml]\nconfigurations:\n- %q\n", "configurations"},
		{"resources: [d.yaml]\npatches:\n- path: %q\n", "patches"},
		{"resources: [d.yaml]\npatchesJson6902:\n- target: {kind: Deployment, name: web}\n  path: %q\n", "patchesJson6902"},
		{"resources: [d.yaml]\nreplacements:\n- path: %q\n", "replacements"},
		{"configMapGenerator:\n- name: c\n  files:\n  - %q\n", "configMapGenerator"},
		{"secretGenerator:\n- name: c\n  envs:\n  - %q\n", "secretGenerator"},
		{"resources: [d.yaml]\nopenapi:\n  path: %q\n", "openapi"},
		{"resources: [d.yaml]\ntransformers:\n- %q\n", "transformers"},
		{"resources: [d.yaml]\ngenerators:\n- %q\n", "generators"},
		{"resources: [d.yaml]\nvalidators:\n- %q\n", "validators"},
	}
	for _, value := range []string{nl, "d.yaml\r", "\td.yaml", "git@127.0.0.1:a/b.git\x00", "ok\u0085.yaml"} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s %q", tt.field, value), func(t *testing.T) {
				root := testutil.WriteTree(t, map[string]string{"kustomization.yaml": fmt.Sprintf(tt.kustomization, value), "d.yaml": deployment})
				_, err := Render(Options{Root: root})
				want := fmt.Sprintf("kustomization.yaml: %s entry %q holds a control character; a path never does: not allowed in digestpin", tt.field, value)
				if !errors.Is(err, ErrUnsafe) || err.Error() != want {
					t.Errorf("Render error =\n%v\nwant\n%s", err, want)
				}
			})
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the loopback server saw %d requests", n)
	}
}

// TestEntriesAreReadAsKustomizeReadsThem: an entry is inline content or a
// path exactly when kustomize takes it for one, so that one-line inline
// configurations are vetted, and inline patches are not mistaken for
// paths.
func TestEntriesAreReadAsKustomizeReadsThem(t *testing.T) {
	url, requests := loopback(t)
	tests := []struct{ name, kustomization, want string }{
		{"one-line inline transformer", "resources: [d.yaml]\ntransformers:\n- '{apiVersion: builtin, kind: PatchTransformer, metadata: {name: p}, path: \"git@127.0.0.1:a/b.git\"}'\n",
			`inline transformers entry: PatchTransformer path "git@127.0.0.1:a/b.git" is remote; digestpin renders only what is in the repository: not allowed in digestpin`},
		{"one-line inline function", "resources: [d.yaml]\ngenerators:\n- '{apiVersion: x/v1, kind: Run, metadata: {name: r, annotations: {config.kubernetes.io/function: \"exec: {path: /bin/sh}\"}}}'\n",
			`inline generators entry: generators "Run" is a KRM function (exec or container), which would run a program: not allowed in digestpin`},
		{"inline transformer path with a control character", "resources: [d.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PatchTransformer\n  metadata: {name: p}\n  path: \"p.yaml\\n\"\n",
			`inline transformers entry: PatchTransformer path "p.yaml\n" holds a control character; a path never does: not allowed in digestpin`},
		{"remote strategic merge patch file in a transformer", "resources: [d.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: PatchStrategicMergeTransformer\n  metadata: {name: p}\n  paths: [\"" + url + "/p.yaml\"]\n",
			`inline transformers entry: PatchStrategicMergeTransformer paths "` + url + `/p.yaml" is remote; digestpin renders only what is in the repository: not allowed in digestpin`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := testutil.WriteTree(t, map[string]string{"kustomization.yaml": tt.kustomization, "d.yaml": deployment})
			_, err := Render(Options{Root: root})
			if !errors.Is(err, ErrUnsafe) || err.Error() != tt.want {
				t.Errorf("Render error =\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the loopback server saw %d requests", n)
	}

	// An inline strategic merge patch that mentions a URL is content.
	root := testutil.WriteTree(t, map[string]string{
		"kustomization.yaml": "resources: [d.yaml]\npatchesStrategicMerge:\n- |\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: web, annotations: {docs: \"https://example.com/web\"}}\n",
		"d.yaml":             deployment,
	})
	if got := renderYAML(t, Options{Root: root}); !strings.Contains(got, "docs: https://example.com/web") {
		t.Errorf("the inline patch was not applied:\n%s", got)
	}
}

// TestWorkIsCountedBeforeKustomizeRuns: objects, documents and
// kustomizations are counted as kustomize would load them, what is
// included in several places once for each, and a render past a limit is
// refused by the walk.
func TestWorkIsCountedBeforeKustomizeRuns(t *testing.T) {
	cms := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\n", i)
		}
		return b.String()
	}
	// diamond is a chain of levels, each including the next twice.
	diamond := func(levels int, leaf string) map[string]string {
		files := map[string]string{}
		for i := range levels {
			files[fmt.Sprintf("l%d/kustomization.yaml", i)] = "resources: [a, b]\n"
			for _, side := range []string{"a", "b"} {
				files[fmt.Sprintf("l%d/%s/kustomization.yaml", i, side)] = fmt.Sprintf("namePrefix: %s-\nresources: [../../l%d]\n", side, i+1)
			}
		}
		files[fmt.Sprintf("l%d/kustomization.yaml", levels)] = "resources: [cm.yaml]\n"
		files[fmt.Sprintf("l%d/cm.yaml", levels)] = leaf
		return files
	}
	l := repofs.DefaultLimits()
	l.MaxObjects, l.MaxDocuments, l.MaxKustomizations, l.MaxNodes = 100, 300, 50, 1100
	const suffix = ", counting what is included in several places once for each; split the app: input exceeds the render limits"
	tests := []struct {
		name  string
		files map[string]string
		dir   string
		want  string
	}{
		{"objects in one file", map[string]string{"kustomization.yaml": "resources: [cms.yaml]\n", "cms.yaml": cms(101)}, "",
			"the render would make more than 100 objects" + suffix},
		{"objects in a List", map[string]string{"kustomization.yaml": "resources: [list.yaml]\n", "list.yaml": "kind: List\nitems:\n" + strings.Repeat("- {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n", 101)}, "",
			"the render would make more than 100 objects" + suffix},
		{"generated objects", map[string]string{"kustomization.yaml": "configMapGenerator:\n" + strings.Repeat("- name: c\n", 101)}, "",
			"the render would make more than 100 objects" + suffix},
		{"a base included twice", map[string]string{"kustomization.yaml": "resources: [a, b]\n", "a/kustomization.yaml": "namePrefix: a-\nresources: [../base]\n", "b/kustomization.yaml": "namePrefix: b-\nresources: [../base]\n", "base/kustomization.yaml": "resources: [cms.yaml]\n", "base/cms.yaml": cms(60)}, "",
			"the render would make more than 100 objects" + suffix},
		{"empty documents", map[string]string{"kustomization.yaml": "resources: [a.yaml, b.yaml]\n", "a.yaml": strings.Repeat("---\n", 200), "b.yaml": strings.Repeat("---\n", 200)}, "",
			"the render would read more than 300 YAML documents" + suffix},
		{"documents of patches", map[string]string{"kustomization.yaml": "resources: [d.yaml]\npatches:\n- path: p.yaml\n- path: p.yaml\n", "d.yaml": deployment, "p.yaml": strings.Repeat("---\n", 150)}, "",
			"the render would read more than 300 YAML documents" + suffix},
		{"nodes of a base included twice", map[string]string{"kustomization.yaml": "resources: [a, b]\n", "a/kustomization.yaml": "namePrefix: a-\nresources: [../base]\n", "b/kustomization.yaml": "namePrefix: b-\nresources: [../base]\n", "base/kustomization.yaml": "resources: [cm.yaml]\n", "base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n" + func() string {
			var b strings.Builder
			for i := range 300 {
				fmt.Fprintf(&b, "  k%d: v\n", i)
			}
			return b.String()
		}()}, "",
			"the render would read more than 1100 YAML nodes" + suffix},
		{"kustomizations that multiply", diamond(20, cms(1)), "l0",
			"the render would make more than 100 objects" + suffix},
		{"kustomizations that multiply, empty", diamond(20, ""), "l0",
			"the render would read more than 300 YAML documents" + suffix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(Options{Root: testutil.WriteTree(t, tt.files), Dir: tt.dir, Limits: l})
			if !errors.Is(err, repofs.ErrInputTooLarge) || err.Error() != tt.want {
				t.Errorf("Render error =\n%v\nwant\n%s", err, tt.want)
			}
		})
	}

	// Five levels load 125 kustomizations (3 + 2 × the next level's, and
	// 1 for the last), which read 157 documents (one each, and the 32
	// copies of the leaf's) and make 32 objects: just under the limits
	// renders, one more is refused.
	tree := testutil.WriteTree(t, diamond(5, cms(1)))
	exact := repofs.Limits{MaxObjects: 32, MaxDocuments: 157, MaxKustomizations: 125, MaxNodes: 100_000}
	if _, err := Render(Options{Root: tree, Dir: "l0", Limits: exact}); err != nil {
		t.Errorf("Render at the limits: %v", err)
	}
	for what, lower := range map[string]func(*repofs.Limits){
		"make more than 31 objects":         func(l *repofs.Limits) { l.MaxObjects-- },
		"read more than 156 YAML documents": func(l *repofs.Limits) { l.MaxDocuments-- },
		"load more than 124 kustomizations": func(l *repofs.Limits) { l.MaxKustomizations-- },
	} {
		l := exact
		lower(&l)
		_, err := Render(Options{Root: tree, Dir: "l0", Limits: l})
		if want := "the render would " + what + suffix; err == nil || err.Error() != want {
			t.Errorf("Render error =\n%v\nwant\n%s", err, want)
		}
	}
}

// TestKustomizationFilesThatCannotBeReadSayWhy: a kustomization file that
// is a symlink leading out, into a loop or to nothing is not "no
// kustomization".
func TestKustomizationFilesThatCannotBeReadSayWhy(t *testing.T) {
	outside := testutil.WriteTree(t, map[string]string{"kustomization.yaml": "resources: []\n"})
	tests := []struct{ name, link, target, dir, want string }{
		{"root leading out", "app/kustomization.yaml", filepath.Join(outside, "kustomization.yaml"), "app",
			`"app/kustomization.yaml" is a symlink to a place outside the repository`},
		{"root in a loop", "app/kustomization.yaml", "kustomization.yaml", "app",
			`"app/kustomization.yaml": its symlinks form a loop`},
		{"root to nothing", "app/kustomization.yml", "gone.yaml", "app",
			`"app/kustomization.yml" is a symlink to a file that does not exist`},
		{"base leading out", "base/Kustomization", filepath.Join(outside, "kustomization.yaml"), "",
			`"base/Kustomization" is a symlink to a place outside the repository`},
		{"base in a loop", "base/kustomization.yaml", "../base/kustomization.yaml", "",
			`"base/kustomization.yaml": its symlinks form a loop`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := testutil.WriteTree(t, map[string]string{"kustomization.yaml": "resources: [base]\n", "app/.keep": "", "base/.keep": ""})
			if err := os.Symlink(tt.target, filepath.Join(root, tt.link)); err != nil {
				t.Fatal(err)
			}
			_, err := Render(Options{Root: root, Dir: tt.dir})
			if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("Render error =\n%v\nwant it to end with\n%s", err, tt.want)
			}
		})
	}
}
