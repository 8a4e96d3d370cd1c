// Package clusterloop runs digestpin's whole loop on a real Kubernetes
// control plane with a real Argo CD: CI pushes to a registry, digestpin
// promote pins the digest in Git, Argo CD's application controller renders
// it through the CMP server running plugin.yaml and syncs it, the
// controller manager creates the pods, a kubelet played by the test runs
// them, and digestpin verify proves, through Argo CD's API, what they run.
//
// It needs the control plane, Argo CD's binary and redis-server in ../../bin
// (`make cluster` puts them there). Without them it fails when CI=true
// and skips otherwise, saying how to build them.
package clusterloop

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digestpin/digestpin/e2e/loop"
)

// The environment the scenarios share, set up once by TestMain.
var (
	skip string // why the suite cannot run here

	root    string // the repository
	binDir  string // what `make cluster` built
	bin     string // digestpin, digestpin-verify and digestpin-cluster-demo, built for this run
	cp      *loop.ControlPlane
	argo    *loop.ArgoCD
	kubelet *loop.Kubelet
	reg     *loop.Registry
	token   string // the ci account's token
)

// Generous bounds for a loaded 2-core machine; none of them is a sleep.
const (
	setupTimeout  = 10 * time.Minute
	verifyTimeout = "4m"
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	if root, err = filepath.Abs("../.."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir = os.Getenv("DIGESTPIN_CLUSTER_BIN")
	if binDir == "" {
		binDir = filepath.Join(root, "bin")
	}
	var missing []string
	for _, b := range append(append([]string{}, loop.ControlPlaneBinaries...), "argocd", "argocd-crds", "redis-server") {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		skip = fmt.Sprintf("the cluster suite needs %s in %s; build them with `make cluster` (the first build takes about 11 minutes on 2 idle cores; later runs reuse ~/.cache/digestpin)",
			strings.Join(missing, ", "), binDir)
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "FAIL: "+skip)
			return 1
		}
		return m.Run()
	}

	tmp, err := os.MkdirTemp("", "dpc")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	stop, err := setup(ctx, tmp, binDir)
	defer stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster e2e setup:", err)
		return 1
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "logs of the failed run:\n%s", argo.Logs(30))
	}
	return code
}

// setup builds digestpin and digestpin-verify and starts everything the
// scenarios share. stop undoes whatever was started, in reverse.
func setup(ctx context.Context, tmp, binDir string) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	bin = filepath.Join(tmp, "bin")
	if err := build(ctx, root, filepath.Join(bin, "digestpin"), "./cmd/digestpin"); err != nil {
		return stop, err
	}
	if err := build(ctx, filepath.Join(root, "cmd", "digestpin-verify"), filepath.Join(bin, "digestpin-verify"), "."); err != nil {
		return stop, err
	}
	if err := build(ctx, filepath.Join(root, "e2e"), filepath.Join(bin, "digestpin-cluster-demo"), "./cmd/clusterdemo"); err != nil {
		return stop, err
	}
	crds, err := argoCRDs(ctx)
	if err != nil {
		return stop, err
	}

	if cp, err = loop.StartControlPlane(ctx, filepath.Join(tmp, "k8s"), binDir); err != nil {
		return stop, err
	}
	stops = append(stops, cp.Stop)
	kctx, kcancel := context.WithCancel(context.Background())
	stops = append(stops, kcancel)
	if kubelet, err = loop.StartKubelet(kctx, cp.Client); err != nil {
		return stop, err
	}
	if reg, err = loop.StartRegistry(); err != nil {
		return stop, err
	}
	stops = append(stops, reg.Stop)
	argo, err = loop.StartArgoCD(ctx, filepath.Join(tmp, "argocd"), cp, loop.ArgoCDOptions{
		Binary:      filepath.Join(binDir, "argocd"),
		RedisServer: filepath.Join(binDir, "redis-server"),
		PluginYAML:  filepath.Join(root, "plugin.yaml"),
		Digestpin:   filepath.Join(bin, "digestpin"),
		CRDs:        crds,
		SocketDir:   filepath.Join(tmp, "p"),
	})
	if err != nil {
		return stop, err
	}
	stops = append(stops, argo.Stop)
	if token, err = argo.CIToken(ctx); err != nil {
		return stop, err
	}
	return stop, nil
}

// build builds a binary with its own module's go.mod, as it ships.
func build(ctx context.Context, dir, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s in %s: %v\n%s", pkg, dir, err, stderr.Bytes())
	}
	return nil
}

// argoCRDs is the argo-cd module's manifests/crds, of the version this
// module requires.
func argoCRDs(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/argoproj/argo-cd/v2").Output()
	if err != nil {
		return "", fmt.Errorf("finding the argo-cd module: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "manifests", "crds"), nil
}

func needCluster(t *testing.T) {
	t.Helper()
	if skip != "" {
		t.Skip(skip)
	}
	if err := cp.Check(); err != nil {
		t.Fatal(err)
	}
	if err := argo.Check(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := kubelet.Err(); err != nil {
			t.Errorf("the kubelet: %v", err)
		}
	})
}
