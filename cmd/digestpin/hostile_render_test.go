package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/digestpin/digestpin/internal/testutil"
)

// These tests run generate and check on repositories an attacker with
// commit access could write, through the built binary, and assert what the
// user sees (exit status, empty stdout on refusal, the exact message), that
// nothing reached the network (a loopback canary counts requests), that
// nothing was written outside the temporary directories, and that time and
// memory stayed bounded (the child's rusage, against generous limits).

// canary is a loopback server that every remote reference points at.
func canary(t *testing.T) (url string, requests *atomic.Int64) {
	t.Helper()
	requests = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	t.Cleanup(func() {
		srv.Close()
		if n := requests.Load(); n != 0 {
			t.Errorf("the loopback canary saw %d requests", n)
		}
	})
	return srv.URL, requests
}

// snapshot records every entry under dir: type, size, content hash and
// symlink target. It never opens anything but regular files.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		entry := info.Mode().String()
		switch {
		case info.Mode().IsRegular():
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			h := sha256.New()
			if _, err := io.Copy(h, f); err != nil {
				return err
			}
			entry += fmt.Sprintf(" %x", h.Sum(nil))
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			entry += " -> " + target
		}
		entries[path] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// hostile runs digestpin in dir with env, with a TMPDIR and HOME of its
// own, and fails the test if the run changed anything under root, TMPDIR
// or HOME.
func hostile(t *testing.T, root, dir string, env []string, args ...string) result {
	t.Helper()
	tmp, home := t.TempDir(), t.TempDir()
	hasTMPDIR := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "TMPDIR="); ok {
			tmp, hasTMPDIR = v, true
		}
	}
	if !hasTMPDIR {
		env = append(env, "TMPDIR="+tmp)
	}
	env = append(env, "HOME="+home)
	before := map[string]map[string]string{}
	for _, d := range []string{root, tmp, home} {
		before[d] = snapshot(t, d)
	}
	r := digestpin(t, dir, env, args...)
	for _, d := range []string{root, tmp, home} {
		after := snapshot(t, d)
		for path, entry := range after {
			if before[d][path] != entry {
				t.Errorf("the run changed %s: %q, was %q", path, entry, before[d][path])
			}
		}
		for path := range before[d] {
			if _, ok := after[path]; !ok {
				t.Errorf("the run removed %s", path)
			}
		}
	}
	return r
}

// bounded fails the test if the run's peak memory passed limit MiB.
func (r result) bounded(t *testing.T, limit int64) {
	t.Helper()
	if r.maxRSS > limit<<20 {
		t.Errorf("peak memory %d MiB, want at most %d MiB", r.maxRSS>>20, limit)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// pinnedApp is an app/ whose one Deployment is pinned.
func pinnedApp(kustomization string) map[string]string {
	return map[string]string{
		"app/kustomization.yaml": kustomization,
		"app/deployment.yaml":    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: app, image: \"ghcr.io/acme/web@" + digest + "\"}\n",
	}
}

func TestGenerateVetsEveryKustomizationBeforeAnyRequest(t *testing.T) {
	url, _ := canary(t)
	files := pinnedApp("resources: [deployment.yaml]\n")
	files["comp/remote/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- " + url + "/acme/config.git\n"
	files["comp/base/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [../../lib]\n"
	files["lib/kustomization.yaml"] = "resources:\n- " + url + "/lib.yaml\n"
	const vendor = "is remote; digestpin renders only what is in the repository, so vendor it into the repository: not allowed in digestpin\n"
	const control = "holds a control character; a path never does: not allowed in digestpin\n"
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"a remote component parameter",
			[]string{`ARGOCD_APP_PARAMETERS=[{"name":"components","array":["` + url + `/c"]}]`},
			`digestpin: rendering app: app/kustomization.yaml: components entry "` + url + `/c" from the Application's components parameter ` + vendor},
		{"a component parameter that is a git URL with a line break",
			[]string{`ARGOCD_APP_PARAMETERS=[{"name":"components","array":["` + url + `/acme/c.git\n"]}]`},
			`digestpin: rendering app: app/kustomization.yaml: components entry "` + url + `/acme/c.git\n" from the Application's components parameter ` + control},
		{"a component from plugin env with a remote resource",
			[]string{"ARGOCD_ENV_COMPONENTS=../comp/remote"},
			`digestpin: rendering app: comp/remote/kustomization.yaml: resources entry "` + url + `/acme/config.git" ` + vendor},
		{"a component from plugin env whose base is remote",
			[]string{"ARGOCD_ENV_COMPONENTS=../comp/base"},
			`digestpin: rendering app: lib/kustomization.yaml: resources entry "` + url + `/lib.yaml" ` + vendor},
		{"a remote component from plugin env",
			[]string{"ARGOCD_ENV_COMPONENTS=https://github.com/acme/c"},
			`digestpin: rendering app: app/kustomization.yaml: components entry "https://github.com/acme/c" from the Application's plugin env COMPONENTS ` + vendor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := testutil.WriteTree(t, files)
			r := hostile(t, root, filepath.Join(root, "app"), argoEnv("app", tt.env...), "generate")
			r.expect(t, 2, "", tt.want)
		})
	}

	// The repository's own entries, whatever characters they hold.
	for name, entry := range map[string]string{
		"a git URL with a line break":      url + "/acme/config.git\n",
		"a git URL with a carriage return": url + "/acme/config.git\r",
		"a scp-style URL with a tab":       "git@127.0.0.1:acme/config.git\t",
		"a NUL":                            "base\x00.yaml",
	} {
		t.Run(name, func(t *testing.T) {
			root := testutil.WriteTree(t, pinnedApp(fmt.Sprintf("resources:\n- deployment.yaml\n- %q\n", entry)))
			r := hostile(t, root, filepath.Join(root, "app"), argoEnv("app"), "generate")
			r.expect(t, 2, "", fmt.Sprintf("digestpin: rendering app: app/kustomization.yaml: resources entry %q %s", entry, control))
		})
	}
}

func TestGenerateReadsRegularFilesOnly(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		make  func(t *testing.T, root string)
		want  string
	}{
		{"a named pipe as a resource", pinnedApp("resources: [deployment.yaml, pipe.yaml]\n"),
			func(t *testing.T, root string) { mkfifo(t, filepath.Join(root, "app/pipe.yaml")) },
			`digestpin: rendering app: "app/pipe.yaml" is a named pipe, not a regular file` + "\n"},
		{"a named pipe as the kustomization", map[string]string{"app/deployment.yaml": "x: 1\n"},
			func(t *testing.T, root string) { mkfifo(t, filepath.Join(root, "app/kustomization.yaml")) },
			`digestpin: rendering app: "app/kustomization.yaml" is a named pipe, not a regular file` + "\n"},
		{"a named pipe as a patch", pinnedApp("resources: [deployment.yaml]\npatches:\n- path: pipe.yaml\n"),
			func(t *testing.T, root string) { mkfifo(t, filepath.Join(root, "app/pipe.yaml")) },
			`digestpin: rendering app: "app/pipe.yaml" is a named pipe, not a regular file` + "\n"},
		{"a named pipe as a generator's file", pinnedApp("resources: [deployment.yaml]\nconfigMapGenerator:\n- name: c\n  files: [pipe.txt]\n"),
			func(t *testing.T, root string) { mkfifo(t, filepath.Join(root, "app/pipe.txt")) },
			`digestpin: rendering app: "app/pipe.txt" is a named pipe, not a regular file` + "\n"},
		{"a named pipe as a configuration", pinnedApp("resources: [deployment.yaml]\nconfigurations: [pipe.yaml]\n"),
			func(t *testing.T, root string) { mkfifo(t, filepath.Join(root, "app/pipe.yaml")) },
			`digestpin: rendering app: "app/pipe.yaml" is a named pipe, not a regular file` + "\n"},
		{"a symlink to a named pipe", pinnedApp("resources: [deployment.yaml, link.yaml]\n"),
			func(t *testing.T, root string) {
				mkfifo(t, filepath.Join(root, "pipes/p"))
				symlink(t, "../pipes/p", filepath.Join(root, "app/link.yaml"))
			},
			`digestpin: rendering app: "pipes/p" is a named pipe, not a regular file` + "\n"},
		{"a symlink to /dev/zero", pinnedApp("resources: [deployment.yaml, zero.yaml]\n"),
			func(t *testing.T, root string) { symlink(t, "/dev/zero", filepath.Join(root, "app/zero.yaml")) },
			`digestpin: rendering app: app/kustomization.yaml: resources entry "zero.yaml": "app/zero.yaml" is a symlink to a place outside the repository` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := testutil.WriteTree(t, tt.files)
			tt.make(t, root)
			r := hostile(t, root, filepath.Join(root, "app"), argoEnv("app"), "generate")
			r.expect(t, 2, "", tt.want)
			r.bounded(t, 128)
		})
	}
}

func TestGenerateSaysWhyAKustomizationCannotBeRead(t *testing.T) {
	outside := testutil.WriteTree(t, map[string]string{"kustomization.yaml": "resources: []\n"})
	tests := []struct{ name, link, target, want string }{
		{"a symlink leading out", "app/kustomization.yaml", filepath.Join(outside, "kustomization.yaml"),
			`"app/kustomization.yaml" is a symlink to a place outside the repository`},
		{"a symlink loop", "app/kustomization.yaml", "kustomization.yaml",
			`"app/kustomization.yaml": its symlinks form a loop`},
		{"a symlink to nothing", "app/kustomization.yml", "gone.yaml",
			`"app/kustomization.yml" is a symlink to a file that does not exist`},
		{"a base's symlink leading out", "base/kustomization.yaml", filepath.Join(outside, "kustomization.yaml"),
			`"base/kustomization.yaml" is a symlink to a place outside the repository`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"app/deployment.yaml": "x: 1\n", "base/.keep": ""}
			if !strings.HasPrefix(tt.link, "app/") {
				files["app/kustomization.yaml"] = "resources: [../base]\n"
			}
			root := testutil.WriteTree(t, files)
			symlink(t, tt.target, filepath.Join(root, tt.link))
			r := hostile(t, root, filepath.Join(root, "app"), argoEnv("app"), "generate")
			r.expect(t, 2, "", "digestpin: rendering app: "+tt.want+"\n")
		})
	}
}

// stream is a file's content, written straight to disk: the inputs of
// these tests reach 64 MiB, and the test process must stay small, as a
// child's peak memory counts its parent's at the fork.
type stream func(w io.Writer)

func text(s string) stream { return func(w io.Writer) { io.WriteString(w, s) } }

func repeat(s string, n int) stream {
	return func(w io.Writer) {
		for range n {
			io.WriteString(w, s)
		}
	}
}

func configMaps(n int) stream {
	return func(w io.Writer) {
		for i := range n {
			fmt.Fprintf(w, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\n", i)
		}
	}
}

func writeStreams(t *testing.T, files map[string]stream) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		content(w)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestGenerateBoundsWork(t *testing.T) {
	const split = ", counting what is included in several places once for each; split the app: input exceeds the render limits\n"
	tests := []struct {
		name  string
		files func() map[string]stream
		want  string
	}{
		{"10,000 tiny ConfigMaps", func() map[string]stream {
			return map[string]stream{"app/kustomization.yaml": text("resources: [cms.yaml]\n"), "app/cms.yaml": configMaps(10_000)}
		}, "digestpin: rendering app: the render would make more than 5000 objects" + split},
		{"64 MiB of empty documents", func() map[string]stream {
			files := map[string]stream{"app/kustomization.yaml": text("resources: [e0.yaml, e1.yaml, e2.yaml, e3.yaml, e4.yaml, e5.yaml, e6.yaml, e7.yaml]\n")}
			for i := range 8 {
				files[fmt.Sprintf("app/e%d.yaml", i)] = repeat("---\n", 2<<20)
			}
			return files
		}, `digestpin: rendering app: "app/e0.yaml" holds more than 20000 YAML documents: input exceeds the render limits` + "\n"},
		{"empty documents spread over files", func() map[string]stream {
			var names []string
			files := map[string]stream{}
			for i := range 8 {
				names = append(names, fmt.Sprintf("e%d.yaml", i))
				files[fmt.Sprintf("app/e%d.yaml", i)] = repeat("---\n", 15_000)
			}
			files["app/kustomization.yaml"] = text("resources: [" + strings.Join(names, ", ") + "]\n")
			return files
		}, "digestpin: rendering app: the render would read more than 20000 YAML documents" + split},
		{"a base included 2^30 times", func() map[string]stream {
			files := map[string]stream{"app/kustomization.yaml": text("resources: [../l0]\n")}
			for i := range 30 {
				files[fmt.Sprintf("l%d/kustomization.yaml", i)] = text("resources: [a, b]\n")
				for _, side := range []string{"a", "b"} {
					files[fmt.Sprintf("l%d/%s/kustomization.yaml", i, side)] = text(fmt.Sprintf("namePrefix: %s-\nresources: [../../l%d]\n", side, i+1))
				}
			}
			files["l30/kustomization.yaml"] = text("resources: [cm.yaml]\n")
			files["l30/cm.yaml"] = configMaps(1)
			return files
		}, "digestpin: rendering app: the render would make more than 5000 objects" + split},
		{"a million YAML nodes in small files", func() map[string]stream {
			var names []string
			files := map[string]stream{}
			for i := range 20 {
				names = append(names, fmt.Sprintf("c%d.yaml", i))
				files[fmt.Sprintf("app/c%d.yaml", i)] = func(w io.Writer) {
					for j := range 50 {
						fmt.Fprintf(w, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d-%d}\ndata:\n", i, j)
						for k := range 500 {
							fmt.Fprintf(w, "  k%d: v\n", k)
						}
					}
				}
			}
			files["app/kustomization.yaml"] = text("resources: [" + strings.Join(names, ", ") + "]\n")
			return files
		}, "digestpin: rendering app: the render would read more than 400000 YAML nodes" + split},
		{"one mapping of 40,000 keys", func() map[string]stream {
			return map[string]stream{"app/kustomization.yaml": text("resources: [cm.yaml]\n"), "app/cm.yaml": func(w io.Writer) {
				io.WriteString(w, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n")
				for k := range 40_000 {
					fmt.Fprintf(w, "  k%d: v\n", k)
				}
			}}
		}, `digestpin: rendering app: "app/cm.yaml": a YAML mapping at line 5 has more than 10000 entries: input exceeds the render limits` + "\n"},
		{"an alias that contains itself", func() map[string]stream {
			return map[string]stream{"app/kustomization.yaml": text("resources: [cm.yaml]\n"), "app/cm.yaml": text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: &a {b: *a}\n")}
		}, `digestpin: rendering app: "app/cm.yaml": a YAML alias refers to a node that contains it: input exceeds the render limits` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeStreams(t, tt.files())
			r := hostile(t, root, filepath.Join(root, "app"), argoEnv("app"), "generate")
			r.expect(t, 2, "", tt.want)
			r.bounded(t, 256)
		})
	}
}

func TestGenerateStopsBeforeArgoCDsTimeout(t *testing.T) {
	// 4,000 ConfigMaps are within the limits, and take kustomize far more
	// than a second: its accumulation compares every object with every
	// other.
	root := writeStreams(t, map[string]stream{"app/kustomization.yaml": text("resources: [cms.yaml]\n"), "app/cms.yaml": configMaps(4000)})
	r := hostile(t, root, filepath.Join(root, "app"), argoEnv("app", "DIGESTPIN_RENDER_TIMEOUT=1s"), "generate")
	r.expect(t, 2, "", "digestpin: rendering app: the render did not finish within 1s (DIGESTPIN_RENDER_TIMEOUT), so digestpin stopped it before Argo CD's own timeout; split the app, or raise DIGESTPIN_RENDER_TIMEOUT along with Argo CD's controller.repo.server.timeout.seconds\n")

	r = digestpin(t, filepath.Join(root, "app"), argoEnv("app", "DIGESTPIN_RENDER_TIMEOUT=soon"), "generate")
	r.expect(t, 2, "", `digestpin: sidecar configuration: DIGESTPIN_RENDER_TIMEOUT is "soon"; use a duration such as 45s`+"\n")
}

func TestGenerateStopsBeforeTheSidecarsMemoryLimit(t *testing.T) {
	// Within every input limit: 500 tiny ConfigMaps and one patch of 300
	// long values (600 KB). kustomize applies the patch to each of them,
	// and holds hundreds of copies of it.
	root := writeStreams(t, map[string]stream{
		"app/kustomization.yaml": text("resources: [cms.yaml]\npatches:\n- path: patch.yaml\n  target: {kind: ConfigMap}\n"),
		"app/cms.yaml":           configMaps(500),
		"app/patch.yaml": func(w io.Writer) {
			io.WriteString(w, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: any}\ndata:\n")
			for k := range 300 {
				fmt.Fprintf(w, "  k%d: %s\n", k, strings.Repeat("v", 2000))
			}
		},
	})
	r := hostile(t, root, filepath.Join(root, "app"), argoEnv("app", "DIGESTPIN_RENDER_MEMORY=64MiB"), "generate")
	r.expect(t, 2, "", "digestpin: rendering app: the render needed more than 64 MiB of memory (DIGESTPIN_RENDER_MEMORY), so digestpin stopped it before the sidecar's memory limit would kill it; split the app, or raise DIGESTPIN_RENDER_MEMORY along with the sidecar's memory limit\n")
	r.bounded(t, 192)

	for _, v := range []string{"lots", "16MiB", "-1", "1TB"} {
		r = digestpin(t, filepath.Join(root, "app"), argoEnv("app", "DIGESTPIN_RENDER_MEMORY="+v), "generate")
		r.expect(t, 2, "", fmt.Sprintf("digestpin: sidecar configuration: DIGESTPIN_RENDER_MEMORY is %q; use a size of at least 32MiB, such as 256MiB\n", v))
	}
}

func TestGenerateRootStaysInTheCheckout(t *testing.T) {
	// argocd-cmp-server unpacks each request into $TMPDIR/_cmp_server/<uuid>.
	// Another request's tree lies next to this one.
	tmp := t.TempDir()
	const secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: other-teams-secret}\n"
	testutil.WriteFiles(t, tmp, map[string]string{
		"_cmp_server/7f3a/app/kustomization.yaml": "resources: [../../other/secret.yaml]\n",
		"_cmp_server/other/secret.yaml":           secret,
	})
	checkout := filepath.Join(tmp, "_cmp_server/7f3a")
	// The Application's source path is longer than the tail Argo CD sent,
	// and its first element names the checkout.
	r := hostile(t, tmp, filepath.Join(checkout, "app"), argoEnv("7f3a/app", "TMPDIR="+tmp), "generate")
	r.expect(t, 2, "", `digestpin: rendering 7f3a/app: 7f3a/app/kustomization.yaml: resources entry "../../other/secret.yaml": "other/secret.yaml" is outside the files digestpin was given: Argo CD sent only 7f3a, because the Application's argocd.argoproj.io/manifest-generate-paths annotation does not list ../../other/secret.yaml`+"\n")
}

func TestCheckFollowsSymlinksInsideTheRepository(t *testing.T) {
	unpinned := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: app, image: \"ghcr.io/acme/web:v1\"}\n"
	files := map[string]string{
		"overlays/prod/kustomization.yaml": "resources: [deployment.yaml]\n",
		"overlays/prod/deployment.yaml":    unpinned,
		"manifests/web.yaml":               unpinned,
		"docs/README.md":                   "nothing to judge\n",
	}
	root := testutil.WriteTree(t, files)
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlink(t, "../overlays/prod", filepath.Join(root, "apps/prod"))
	symlink(t, "../manifests/web.yaml", filepath.Join(root, "plain/web.yaml"))
	symlink(t, "..", filepath.Join(root, "apps/loop"))
	fail := func(target, from string) string {
		return "FAIL  " + target + `: refusing to render: 1 image is not pinned by a sha256 digest.
  - Deployment web, container "app": image "ghcr.io/acme/web:v1": no digest (tag "v1" can be moved in the registry) (from ` + from + ")\n" +
			"fix: pin each image by digest in Git, for example with `digestpin promote --image ghcr.io/acme/web:v1 --path " + target + "` in CI, or an images: entry with a digest in the kustomization.\n"
	}
	tests := []struct {
		args   []string
		code   int
		stdout string
	}{
		// The path itself is a symlink to a kustomization.
		{[]string{"apps/prod"}, 1, fail("apps/prod", "overlays/prod/deployment.yaml")},
		// A directory below the path is; the loop back up judges nothing
		// twice.
		{[]string{"apps"}, 1, fail("apps/prod", "overlays/prod/deployment.yaml")},
		// A manifest that is a symlink.
		{[]string{"plain"}, 1, fail("plain/web.yaml", "plain/web.yaml")},
		// Nothing to judge is an error, not a pass.
		{[]string{"docs"}, 2, `error docs: nothing to judge: no kustomization and no .yaml, .yml or .json file under "docs"` + "\n"},
	}
	for _, tt := range tests {
		r := hostile(t, root, root, nil, append([]string{"check"}, tt.args...)...)
		if r.code != tt.code || r.stdout != tt.stdout || r.stderr != "" {
			t.Errorf("check %v: exit %d, stdout\n%s\nstderr %q\nwant exit %d, stdout\n%s", tt.args, r.code, r.stdout, r.stderr, tt.code, tt.stdout)
		}
	}
	// Each real target once, under the first name reached.
	r := hostile(t, root, root, nil, "check")
	r.expect(t, 1, fail("apps/prod", "overlays/prod/deployment.yaml")+fail("manifests/web.yaml", "manifests/web.yaml"), "")
}

func TestCheckReadsRegularFilesInsideTheRepositoryOnly(t *testing.T) {
	outside := testutil.WriteTree(t, map[string]string{"kustomization.yaml": "resources: []\n", "secret.yaml": "kind: Secret\n"})
	tests := []struct {
		name string
		make func(t *testing.T, root string)
		want string
	}{
		{"a manifest that is a symlink to /dev/zero", func(t *testing.T, root string) { symlink(t, "/dev/zero", filepath.Join(root, "plain/zero.yaml")) },
			"ok    plain/ok.yaml\n" + `error plain/zero.yaml: "plain/zero.yaml" is a symlink to a place outside the repository` + "\n"},
		{"a manifest that is a named pipe", func(t *testing.T, root string) { mkfifo(t, filepath.Join(root, "plain/pipe.yaml")) },
			"ok    plain/ok.yaml\n" + `error plain/pipe.yaml: "plain/pipe.yaml" is a named pipe, not a regular file` + "\n"},
		{"a manifest that is a symlink out", func(t *testing.T, root string) {
			symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(root, "plain/secret.yaml"))
		}, "ok    plain/ok.yaml\n" + `error plain/secret.yaml: "plain/secret.yaml" is a symlink to a place outside the repository` + "\n"},
		{"a directory that is a symlink out", func(t *testing.T, root string) { symlink(t, outside, filepath.Join(root, "plain/lib")) },
			`error plain/lib: "plain/lib" is a symlink to a place outside the repository` + "\n" + "ok    plain/ok.yaml\n"},
		{"a kustomization that is a symlink out", func(t *testing.T, root string) {
			symlink(t, filepath.Join(outside, "kustomization.yaml"), filepath.Join(root, "plain/app/kustomization.yaml"))
		}, `error plain/app: "plain/app/kustomization.yaml" is a symlink to a place outside the repository` + "\n" + "ok    plain/ok.yaml\n"},
		{"a kustomization in a symlink loop", func(t *testing.T, root string) {
			symlink(t, "kustomization.yaml", filepath.Join(root, "plain/app/kustomization.yaml"))
		}, `error plain/app: "plain/app/kustomization.yaml": its symlinks form a loop` + "\n" + "ok    plain/ok.yaml\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := testutil.WriteTree(t, map[string]string{"plain/ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n"})
			tt.make(t, root)
			r := hostile(t, root, root, nil, "check", "--root", ".", "plain")
			r.expect(t, 2, tt.want, "")
			r.bounded(t, 128)
		})
	}
}
