//go:build linux

package render

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/digestpin/digestpin/internal/repofs"
)

// FuzzVet renders hostile kustomization trees built from the fuzzer's
// bytes: kustomizations in directories with odd names, every field that
// names a file, components added as parameters, values that are remote in
// every spelling kustomize accepts (http, https, ssh, file and git URLs,
// git::, scp-style and github.com shorthands, in any case, with control
// characters and spaces around or inside them), inline configurations,
// paths through "..", absolute paths, symlinks out of the root, to
// directories above, into loops and to nothing, and named pipes. Whatever
// the render says, no request may reach the loopback canary every remote
// value points at, no file outside the root may be opened (inotify
// watches the directory next to the root that paths and symlinks lead
// to), nothing outside may show in the output, and no read may block.
// CI runs it briefly (see the Makefile).
func FuzzVet(f *testing.F) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched-canary}\n"))
	}))
	f.Cleanup(srv.Close)
	outside := f.TempDir()
	for name, content := range map[string]string{
		"secret.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen-canary}\n",
		"kustomization.yaml": "resources: [secret.yaml]\n",
		"app.properties":     "stolen=canary\n",
	} {
		if err := os.WriteFile(filepath.Join(outside, name), []byte(content), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	watch := newOpenWatch(f, outside)

	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13"))
	f.Add([]byte("\x03\x02\x05\x01\x07\x00\x0b\x04\x02\x09\x01\x03\x08\x06\x0a\x05git@x\n"))
	f.Add([]byte("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0HTTPS://"))
	f.Add([]byte("\x01\x05\x0c\x02\x0d\x01\x0e\x03\x10\x04\x11\x05\x12\x06\x13\x07\x14\x08\x15\x09"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &hostileTree{c: &byteChooser{data: data}, url: srv.URL, outside: outside}
		root := t.TempDir()
		dir, overrides := g.build(t, root)
		watch.drain(t)
		before := requests.Load()

		type rendered struct {
			out []byte
			err error
		}
		done := make(chan rendered, 1)
		go func() {
			// Small limits keep a run short; what they refuse is refused
			// before anything is read past them.
			l := repofs.Limits{MaxObjects: 200, MaxDocuments: 500, MaxKustomizations: 200, MaxNodes: 20_000, MaxTotalBytes: 1 << 20}
			r, err := Render(Options{Root: root, Dir: dir, Overrides: overrides, Limits: l})
			var out []byte
			if err == nil {
				out, err = r.YAML()
			}
			done <- rendered{out, err}
		}()
		var r rendered
		select {
		case r = <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("the render blocked\ntree:\n%s", g.dump())
		}
		if n := requests.Load() - before; n != 0 {
			t.Fatalf("%d requests reached the canary (render error: %v)\ntree:\n%s", n, r.err, g.dump())
		}
		if opened := watch.drain(t); opened != "" {
			t.Fatalf("the render opened %s outside the root (render error: %v)\ntree:\n%s", opened, r.err, g.dump())
		}
		for _, canary := range []string{"stolen-canary", "stolen=canary", "fetched-canary"} {
			if bytes.Contains(r.out, []byte(canary)) || r.err != nil && strings.Contains(r.err.Error(), canary) {
				t.Fatalf("%s shows in the render\nout: %s\nerr: %v\ntree:\n%s", canary, r.out, r.err, g.dump())
			}
		}
		if r.err != nil && strings.Contains(r.err.Error(), root) {
			t.Fatalf("the error shows the temporary root: %v", r.err)
		}
	})
}

// hostileTree builds a tree from a byteChooser.
type hostileTree struct {
	c            *byteChooser
	url, outside string
	made         []string
}

// dirNames are where kustomizations go: plain, odd and control-character
// names.
var dirNames = []string{".", "a", "a/b", "c", "-x", " sp", "日本", "x\ny", "t\tab", "d\x7f", "%2e%2e", "git@h:p"}

func (g *hostileTree) pick(options []string) string { return options[g.c.intn(len(options))] }

// value is a file reference as a hostile repository would write it.
func (g *hostileTree) value() string {
	host := strings.TrimPrefix(g.url, "http://")
	ip, port, _ := strings.Cut(host, ":")
	values := []string{
		g.url + "/x.yaml",
		"https://" + host + "/acme/config.git",
		"HTTP://" + host + "/x.yaml",
		"git::" + g.url + "/acme/config.git",
		"GIT::https://" + host + "/a/b//c?ref=main",
		"git@" + ip + ":acme/config.git",
		"git@" + ip + ":" + port + "/acme/config.git",
		"ssh://git@" + host + "/acme/config.git",
		"file://" + g.outside,
		"github.com/acme/config/base?ref=v1",
		"GitHub.com:acme/config",
		" " + g.url + "/lead.yaml",
		g.outside + "/secret.yaml",
		g.outside,
		"../../../../../../../../" + g.outside + "/secret.yaml",
		"d.yaml", "a", "../a", "..", ".", "link.yaml", "dirlink", "dirlink/secret.yaml",
		"loop", "up", "up/up/secret.yaml", "pipe.yaml", "gone.yaml", "in.yaml", "k", "c",
		"app.properties", "k=" + g.outside + "/app.properties",
		g.c.text(),
	}
	v := g.pick(values)
	switch g.c.intn(8) {
	case 1:
		v += g.pick([]string{"\n", "\r", "\t", "\x00", "\u0085", "\u2028", " "})
	case 2:
		i := g.c.intn(len(v) + 1)
		v = v[:i] + g.pick([]string{"\n", "\r\n", "\x1b[2J", "\x00", "\t"}) + v[i:]
	case 3:
		v = strings.ToUpper(v)
	}
	return v
}

func (g *hostileTree) values(n int) []string {
	vs := make([]string, 1+g.c.intn(n))
	for i := range vs {
		vs[i] = g.value()
	}
	return vs
}

// kustomization writes one kustomization's fields from the chooser.
func (g *hostileTree) kustomization() string {
	var b strings.Builder
	list := func(field string, values []string) {
		fmt.Fprintf(&b, "%s:\n", field)
		for _, v := range values {
			fmt.Fprintf(&b, "- %q\n", v)
		}
	}
	for range 1 + g.c.intn(4) {
		switch g.c.intn(16) {
		case 0, 1:
			list("resources", g.values(3))
		case 2:
			list("bases", g.values(2))
		case 3:
			list("components", g.values(2))
		case 4:
			list("crds", g.values(1))
		case 5:
			list("configurations", g.values(1))
		case 6:
			fmt.Fprintf(&b, "patches:\n- path: %q\n", g.value())
		case 7:
			list("patchesStrategicMerge", g.values(2))
		case 8:
			fmt.Fprintf(&b, "patchesJson6902:\n- target: {kind: ConfigMap, name: c}\n  path: %q\n", g.value())
		case 9:
			fmt.Fprintf(&b, "replacements:\n- path: %q\n", g.value())
		case 10:
			fmt.Fprintf(&b, "configMapGenerator:\n- name: g\n  files: [%q]\n  envs: [%q]\n", g.value(), g.value())
		case 11:
			fmt.Fprintf(&b, "openapi:\n  path: %q\n", g.value())
		case 12:
			list(g.pick([]string{"generators", "transformers", "validators"}), g.values(2))
		case 13:
			// An inline configuration, on one line or several.
			kind := g.pick([]string{"PatchTransformer", "PatchStrategicMergeTransformer", "ReplacementTransformer", "ConfigMapGenerator", "Run"})
			field := map[string]string{"PatchTransformer": "path", "PatchStrategicMergeTransformer": "paths", "ReplacementTransformer": "replacements", "ConfigMapGenerator": "files", "Run": "path"}[kind]
			var value string
			switch field {
			case "paths", "files":
				value = fmt.Sprintf("[%q]", g.value())
			case "replacements":
				value = fmt.Sprintf("[{path: %q}]", g.value())
			default:
				value = fmt.Sprintf("%q", g.value())
			}
			inline := fmt.Sprintf("{apiVersion: builtin, kind: %s, metadata: {name: i}, %s: %s}", kind, field, value)
			if g.c.intn(2) == 0 {
				inline = strings.ReplaceAll(inline, ", ", "\n  ")
			}
			fmt.Fprintf(&b, "%s:\n- %q\n", g.pick([]string{"generators", "transformers"}), inline)
		case 14:
			fmt.Fprintf(&b, "helmCharts:\n- name: x\n  repo: %q\n", g.value())
		case 15:
			b.WriteString("namePrefix: p-\n")
		}
	}
	return b.String()
}

// build writes the tree under root and returns the directory to render
// and the overrides.
func (g *hostileTree) build(t *testing.T, root string) (string, Overrides) {
	write := func(name, content string) {
		path := filepath.Join(root, filepath.FromSlash(name))
		if os.MkdirAll(filepath.Dir(path), 0o755) != nil {
			return // a name the filesystem refuses
		}
		if os.WriteFile(path, []byte(content), 0o644) == nil {
			g.made = append(g.made, name+":\n"+content)
		}
	}
	link := func(name, target string) {
		path := filepath.Join(root, filepath.FromSlash(name))
		_ = os.MkdirAll(filepath.Dir(path), 0o755)
		if os.Symlink(target, path) == nil {
			g.made = append(g.made, name+" -> "+target)
		}
	}
	write("d.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	dirs := []string{"."}
	for range g.c.intn(4) {
		dirs = append(dirs, g.pick(dirNames))
	}
	for _, d := range dirs {
		write(d+"/kustomization.yaml", g.kustomization())
	}
	for range 1 + g.c.intn(4) {
		switch g.c.intn(9) {
		case 0:
			link(g.pick(dirs)+"/link.yaml", filepath.Join(g.outside, "secret.yaml"))
		case 1:
			link(g.pick(dirs)+"/dirlink", g.outside)
		case 2:
			link(g.pick(dirs)+"/loop", "loop")
		case 3:
			link(g.pick(dirs)+"/up", "..")
		case 4:
			link(g.pick(dirs)+"/in.yaml", "d.yaml")
		case 5:
			link(g.pick([]string{"k", "a", "c"})+"/kustomization.yaml", filepath.Join(g.outside, "kustomization.yaml"))
		case 6:
			link(g.pick(dirs)+"/gone.yaml", "nothing/here.yaml")
		case 7:
			path := filepath.Join(root, g.pick(dirs), "pipe.yaml")
			if os.MkdirAll(filepath.Dir(path), 0o755) == nil && syscall.Mkfifo(path, 0o644) == nil {
				g.made = append(g.made, filepath.Join(g.pick(dirs), "pipe.yaml")+" (named pipe)")
			}
		case 8:
			link(g.pick(dirs)+"/kustomization.yml", "kustomization.yml")
		}
	}
	var o Overrides
	if g.c.intn(2) == 0 {
		o.Components = g.values(2)
		o.ComponentsSource = "the fuzzer"
		g.made = append(g.made, fmt.Sprintf("components parameter: %q", o.Components))
	}
	return g.pick(dirs), o
}

func (g *hostileTree) dump() string { return strings.Join(g.made, "\n") }

// openWatch reports files opened in one directory, by anyone: inotify
// sees the render's reads, and those of any program it would run.
type openWatch struct {
	fd int
}

func newOpenWatch(f *testing.F, dir string) *openWatch {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		f.Skipf("inotify: %v", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_OPEN|syscall.IN_ACCESS); err != nil {
		syscall.Close(fd)
		f.Skipf("inotify: %v", err)
	}
	f.Cleanup(func() { syscall.Close(fd) })
	return &openWatch{fd: fd}
}

// drain returns what was opened since the last call ("" for nothing).
func (w *openWatch) drain(t *testing.T) string {
	var opened []string
	buf := make([]byte, 64<<10)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for ctx.Err() == nil {
		n, err := syscall.Read(w.fd, buf)
		if err == syscall.EAGAIN || n <= 0 {
			break
		}
		if err != nil {
			t.Fatalf("inotify: %v", err)
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := string(bytes.TrimRight(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)], "\x00"))
			if name == "" {
				name = "the directory"
			}
			opened = append(opened, name)
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
	}
	return strings.Join(opened, ", ")
}
