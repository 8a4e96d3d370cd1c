package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	registryHost = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	digestRE     = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	commitRE     = regexp.MustCompile(`\b[0-9a-f]{40}\b`)
)

// normalize replaces what differs between runs (port, digests, commits,
// directory) with stable names, keeping which digest is which.
func normalize(out, dir string) string {
	out = strings.ReplaceAll(out, dir, "<dir>")
	out = registryHost.ReplaceAllString(out, "<registry>")
	seen := map[string]string{}
	out = digestRE.ReplaceAllStringFunc(out, func(d string) string {
		if _, ok := seen[d]; !ok {
			seen[d] = fmt.Sprintf("sha256:<digest %d>", len(seen)+1)
		}
		return seen[d]
	})
	return commitRE.ReplaceAllString(out, "<commit>")
}

func TestDemoTellsTheStory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	r := digestpin(t, t.TempDir(), nil, "demo", "--dir", dir)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	got := normalize(r.stdout, dir)
	golden := filepath.Join("testdata", "demo.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("demo output =\n%s\nwant (testdata/demo.txt)\n%s", got, want)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the demo left %s behind: %v", dir, err)
	}
}

func TestDemoKeepLeavesThePinnedRepository(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	r := digestpin(t, t.TempDir(), nil, "demo", "--keep", "--dir", dir)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if !strings.HasSuffix(r.stdout, "\nEverything is in "+dir+": config.git (the config repository), ci (the clone promote pushed from), argocd (the checkout Argo CD rendered).\n") {
		t.Errorf("the demo does not say where it left its files:\n%s", r.stdout)
	}
	out, err := exec.Command("git", "--git-dir", filepath.Join(dir, "config.git"), "log", "--format=%s", "main").Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "Pin 2 images in apps/shop/staging\nAdd the shop app\n" {
		t.Errorf("config.git history:\n%s", out)
	}
	for _, d := range digestRE.FindAllString(r.stdout[:strings.Index(r.stdout, "\n2.")], -1) {
		kustomization, err := os.ReadFile(filepath.Join(dir, "argocd/apps/shop/staging/kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(kustomization), "digest: "+d+"\n") {
			t.Errorf("the kept checkout does not pin %s:\n%s", d, kustomization)
		}
	}
}

func TestDemoClusterSaysHowToBuildWhatItNeeds(t *testing.T) {
	saved := binary
	defer func() { binary = saved }()
	binary = withVerify(t, "")
	r := digestpin(t, t.TempDir(), []string{"PATH=/nonexistent"}, "demo", "--cluster")
	want := "demo --cluster: it runs digestpin-cluster-demo, which is not next to digestpin (" + filepath.Dir(binary) + ") or on PATH.\n" +
		"It needs a Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager), Argo CD and redis-server.\n" +
		"From a clone of digestpin, build them all into ./bin (about 11 minutes the first time, seconds after):\n" +
		"    make cluster\n" +
		"then run bin/digestpin demo --cluster. Plain `digestpin demo` needs none of this.\n"
	r.expect(t, 1, "", want)
}

func TestDemoClusterRunsTheClusterDemo(t *testing.T) {
	saved := binary
	defer func() { binary = saved }()
	binary = withVerify(t, "")
	script := "#!/bin/sh\nfor a in \"$@\"; do echo \"arg: $a\"; done\nexit 0\n"
	if err := os.WriteFile(filepath.Join(filepath.Dir(binary), "digestpin-cluster-demo"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := digestpin(t, t.TempDir(), []string{"PATH=/usr/bin:/bin"}, "demo", "--cluster", "--keep", "--dir", "/tmp/x")
	r.expect(t, 0, "arg: --digestpin\narg: "+binary+"\narg: --keep\narg: --dir\narg: /tmp/x\n", "")
}
