package render

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/digestpin/digestpin/internal/repofs"
	"github.com/digestpin/digestpin/internal/testutil"
)

// loopback is a server that every remote reference in these tests points
// at; a render that reaches the network shows up in its count.
func loopback(t *testing.T) (url string, requests *atomic.Int64) {
	t.Helper()
	requests = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = w.Write([]byte(deployment))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, requests
}

func TestRemoteReferencesAreRefusedBeforeAnyRequest(t *testing.T) {
	url, requests := loopback(t)
	host := strings.TrimPrefix(url, "http://")
	bare := t.TempDir() // a local repository a file:// URL could clone
	tests := []struct {
		name, kustomization, want string
	}{
		{"http resource", "resources:\n- " + url + "/deployment.yaml\n",
			`resources entry "` + url + `/deployment.yaml" is remote`},
		{"https git base", "resources:\n- https://" + host + "/acme/config//base?ref=main\n",
			`resources entry "https://` + host + `/acme/config//base?ref=main" is remote`},
		{"github shorthand", "resources:\n- github.com/acme/config/base?ref=v1\n",
			`resources entry "github.com/acme/config/base?ref=v1" is remote`},
		{"scp-style ssh", "resources:\n- git@" + strings.Split(host, ":")[0] + ":acme/config.git//base\n",
			`resources entry "git@127.0.0.1:acme/config.git//base" is remote`},
		{"ssh url", "resources:\n- ssh://git@" + host + "/acme/config.git\n",
			`resources entry "ssh://git@` + host + `/acme/config.git" is remote`},
		{"file url", "resources:\n- file://" + bare + "\n",
			`resources entry "file://` + bare + `" is remote`},
		{"go-getter prefix", "resources:\n- git::" + url + "/acme/config.git\n",
			`resources entry "git::` + url + `/acme/config.git" is remote`},
		{"deprecated bases", "bases:\n- " + url + "/base\n",
			`resources entry "` + url + `/base" is remote`},
		{"component", "resources: [deployment.yaml]\ncomponents:\n- " + url + "/component\n",
			`components entry "` + url + `/component" is remote`},
		{"patch path", "resources: [deployment.yaml]\npatches:\n- path: " + url + "/patch.yaml\n",
			`patches entry "` + url + `/patch.yaml" is remote`},
		{"strategic merge patch", "resources: [deployment.yaml]\npatchesStrategicMerge:\n- " + url + "/patch.yaml\n",
			`patchesStrategicMerge entry "` + url + `/patch.yaml" is remote`},
		{"json6902 patch", "resources: [deployment.yaml]\npatchesJson6902:\n- target: {kind: Deployment, name: web}\n  path: " + url + "/p.json\n",
			`patchesJson6902 entry "` + url + `/p.json" is remote`},
		{"generator file", "configMapGenerator:\n- name: c\n  files:\n  - app.properties=" + url + "/app.properties\n",
			`configMapGenerator entry "` + url + `/app.properties" is remote`},
		{"generator env", "secretGenerator:\n- name: s\n  envs: [" + url + "/.env]\n",
			`secretGenerator entry "` + url + `/.env" is remote`},
		{"replacements", "resources: [deployment.yaml]\nreplacements:\n- path: " + url + "/r.yaml\n",
			`replacements entry "` + url + `/r.yaml" is remote`},
		{"crds", "crds:\n- " + url + "/crd.json\n", `crds entry "` + url + `/crd.json" is remote`},
		{"openapi", "resources: [deployment.yaml]\nopenapi:\n  path: " + url + "/schema.json\n",
			`openapi entry "` + url + `/schema.json" is remote`},
		{"configurations", "resources: [deployment.yaml]\nconfigurations:\n- " + url + "/c.yaml\n",
			`configurations entry "` + url + `/c.yaml" is remote`},
		{"transformer file", "resources: [deployment.yaml]\ntransformers: [t.yaml]\n",
			`t.yaml: PatchTransformer path "` + url + `/patch.yaml" is remote`},
		{"inline transformer", "resources: [deployment.yaml]\ntransformers:\n- |\n  apiVersion: builtin\n  kind: ReplacementTransformer\n  metadata: {name: r}\n  replacements:\n  - path: " + url + "/r.yaml\n",
			`inline transformers entry: ReplacementTransformer replacements[].path "` + url + `/r.yaml" is remote`},
		{"transformer kustomization", "resources: [deployment.yaml]\ntransformers: [transformers]\n",
			`transformers/patch.yaml: PatchTransformer path "` + url + `/patch.yaml" is remote`},
		{"nested base", "resources: [overlay]\n",
			`overlay/kustomization.yaml: resources entry "` + url + `/deployment.yaml" is remote`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := testutil.WriteTree(t, map[string]string{
				"kustomization.yaml":              tt.kustomization,
				"deployment.yaml":                 deployment,
				"t.yaml":                          "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + url + "/patch.yaml\n",
				"transformers/kustomization.yaml": "resources: [patch.yaml]\n",
				"transformers/patch.yaml":         "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + url + "/patch.yaml\n",
				"overlay/kustomization.yaml":      "resources:\n- " + url + "/deployment.yaml\n",
			})
			_, err := Render(Options{Root: root})
			if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("Render error = %v, want ErrUnsafe", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the loopback server saw %d requests, want 0", n)
	}
}

// A component the Application's parameters add is vetted like one the
// kustomization lists.
func TestComponentsFromParametersAreVetted(t *testing.T) {
	url, requests := loopback(t)
	root := testutil.WriteTree(t, map[string]string{
		"app/kustomization.yaml": "resources: [deployment.yaml]\n",
		"app/deployment.yaml":    deployment,
		"c/kustomization.yaml":   "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- " + url + "/x.yaml\n",
	})
	_, err := Render(Options{Root: root, Dir: "app", Overrides: Overrides{Components: []string{"../c"}}})
	want := `c/kustomization.yaml: resources entry "` + url + `/x.yaml" is remote; digestpin renders only what is in the repository, so vendor it into the repository: not allowed in digestpin`
	if err == nil || err.Error() != want || !errors.Is(err, ErrUnsafe) {
		t.Errorf("Render error =\n%v\nwant\n%s", err, want)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the network", n)
	}
}

func TestProgramsAreRefused(t *testing.T) {
	tests := []struct {
		name, kustomization string
		files               map[string]string
		want                string
	}{
		{"helmCharts", "helmCharts:\n- name: redis\n  repo: https://charts.example.com\n", nil,
			"kustomization.yaml: helmCharts would run helm; render the chart into the repository instead: not allowed in digestpin"},
		{"helm generator", "generators: [helm.yaml]\n", map[string]string{"helm.yaml": "apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata: {name: h}\nchartName: redis\n"},
			"helm.yaml: generators HelmChartInflationGenerator would run helm; render the chart into the repository instead: not allowed in digestpin"},
		{"exec function", "transformers: [fn.yaml]\n", map[string]string{"fn.yaml": "apiVersion: example.com/v1\nkind: Run\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n"},
			`fn.yaml: transformers "Run" is a KRM function (exec or container), which would run a program: not allowed in digestpin`},
		{"container function", "generators: [fn.yaml]\n", map[string]string{"fn.yaml": "apiVersion: example.com/v1\nkind: Gen\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      container:\n        image: evil\n"},
			`fn.yaml: generators "Gen" is a KRM function (exec or container), which would run a program: not allowed in digestpin`},
		{"legacy plugin", "transformers: [plugin.yaml]\n", map[string]string{"plugin.yaml": "apiVersion: someteam.example.com/v1\nkind: ChartRenderer\nmetadata: {name: x}\n"},
			`plugin.yaml: transformers "ChartRenderer" is not a kustomize built-in; plugins would run programs: not allowed in digestpin`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"kustomization.yaml": tt.kustomization}
			for k, v := range tt.files {
				files[k] = v
			}
			_, err := Render(Options{Root: testutil.WriteTree(t, files)})
			if !errors.Is(err, ErrUnsafe) || err.Error() != tt.want {
				t.Errorf("Render error =\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
}

func TestNothingOutsideTheRootIsRead(t *testing.T) {
	outside := testutil.WriteTree(t, map[string]string{
		"kustomization.yaml": "resources: [deployment.yaml]\n",
		"deployment.yaml":    deployment,
		"secret.yaml":        "apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\n",
	})
	tests := []struct {
		name  string
		files map[string]string
		link  [2]string // symlink name → target, made inside the root
		dir   string
		want  string
	}{
		{name: "dot-dot base", dir: "app",
			files: map[string]string{"app/kustomization.yaml": "resources: [OUTSIDE]\n"},
			want:  `app/kustomization.yaml: resources entry "FROM-APP": "FROM-ROOT" is outside the repository`},
		{name: "symlinked file", link: [2]string{"secret.yaml", filepath.Join(outside, "secret.yaml")},
			files: map[string]string{"kustomization.yaml": "resources: [secret.yaml]\n"},
			want:  `kustomization.yaml: resources entry "secret.yaml" is a symlink to a place outside the repository`},
		{name: "symlinked base", link: [2]string{"base", outside},
			files: map[string]string{"kustomization.yaml": "resources: [base]\n"},
			want:  `kustomization.yaml: resources entry "base" is a symlink to a place outside the repository`},
		{name: "patch through dot-dot", dir: "app",
			files: map[string]string{"app/kustomization.yaml": "resources: [d.yaml]\npatches:\n- path: OUTSIDE/secret.yaml\n", "app/d.yaml": deployment},
			want:  `"FROM-ROOT/secret.yaml" is outside the repository`},
		{name: "symlinked app directory", link: [2]string{"app", outside}, dir: "app",
			want: `kustomization directory "app" is a symlink to a place outside the repository`},
		{name: "file under a symlinked directory", link: [2]string{"lib", outside},
			files: map[string]string{"kustomization.yaml": "resources: [lib/secret.yaml]\n"},
			want:  `kustomization.yaml: resources entry "lib/secret.yaml" is a symlink to a place outside the repository`},
		{name: "patch under a symlinked directory", link: [2]string{"lib", outside},
			files: map[string]string{"kustomization.yaml": "resources: [d.yaml]\npatches:\n- path: lib/secret.yaml\n", "d.yaml": deployment},
			want:  `"lib/secret.yaml" is a symlink to a place outside the repository`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			fromApp, _ := filepath.Rel(filepath.Join(root, "app"), outside)
			fromRoot, _ := filepath.Rel(root, outside)
			tt.want = strings.NewReplacer("FROM-APP", fromApp, "FROM-ROOT", fromRoot).Replace(tt.want)
			for name, content := range tt.files {
				path := filepath.Join(root, name)
				_ = os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, []byte(strings.ReplaceAll(content, "OUTSIDE", fromApp)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.link[0] != "" {
				if err := os.Symlink(tt.link[1], filepath.Join(root, tt.link[0])); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Render(Options{Root: root, Dir: tt.dir})
			if !errors.Is(err, repofs.ErrOutsideRoot) && !strings.Contains(err.Error(), "outside the repository") {
				t.Fatalf("Render error = %v, want repofs.ErrOutsideRoot", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), root) || strings.Contains(err.Error(), outside) {
				t.Errorf("error shows an absolute path: %v", err)
			}
		})
	}
}

func TestRenderErrorsShowRepositoryPaths(t *testing.T) {
	root := testutil.WriteTree(t, map[string]string{"apps/web/kustomization.yaml": "resources: [missing.yaml]\n"})
	_, err := Render(Options{Root: root, Dir: "apps/web"})
	if err == nil {
		t.Fatal("Render succeeded with a missing resource")
	}
	if strings.Contains(err.Error(), root) {
		t.Errorf("error shows the temporary root: %v", err)
	}
	if !strings.Contains(err.Error(), "apps/web/missing.yaml") {
		t.Errorf("error does not name the missing file by its repository path: %v", err)
	}
}
