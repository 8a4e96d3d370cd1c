// Command digestpin-cluster-demo is `digestpin demo --cluster`: the whole
// story on a real Kubernetes control plane and a real Argo CD, over
// loopback only, ending with digestpin verify's table. `make cluster`
// builds it into ./bin with everything it runs.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"

	"github.com/digestpin/digestpin/e2e/loop"
	"github.com/digestpin/digestpin/internal/untrusted"
)

func main() {
	digestpin := flag.String("digestpin", "", "the digestpin binary (default: next to this one)")
	binDir := flag.String("bin", "", "the directory `make cluster` filled (default: $DIGESTPIN_CLUSTER_BIN, else this binary's)")
	dir := flag.String("dir", "", "directory for the demo's files (default: a new temporary directory)")
	keep := flag.Bool("keep", false, "keep the files and print where")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, *digestpin, *binDir, *dir, *keep)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo --cluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, digestpin, binDir, dir string, keep bool) (err error) {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if binDir == "" {
		binDir = os.Getenv("DIGESTPIN_CLUSTER_BIN")
	}
	if binDir == "" {
		binDir = filepath.Dir(self)
	}
	if digestpin == "" {
		digestpin = filepath.Join(filepath.Dir(self), "digestpin")
	}
	verify := filepath.Join(filepath.Dir(digestpin), "digestpin-verify")
	root := filepath.Dir(binDir)
	need := map[string]string{"digestpin-verify next to digestpin": verify, "plugin.yaml": filepath.Join(root, "plugin.yaml"), "Argo CD's CRDs": filepath.Join(binDir, "argocd-crds")}
	for _, b := range append(append([]string{}, loop.ControlPlaneBinaries...), "argocd", "redis-server") {
		need[b] = filepath.Join(binDir, b)
	}
	var missing []string
	for what, path := range need {
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, fmt.Sprintf("%s (%s)", what, path))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s; run `make cluster` in the clone (the first build takes about 11 minutes on 2 idle cores)", strings.Join(missing, ", "))
	}

	if dir == "" {
		// Short: the CMP server's socket path must stay under 108 bytes.
		if dir, err = os.MkdirTemp("", "dpd"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		if keep {
			fmt.Fprintf(out, "\nStopped everything. Logs, the config repository and the control plane's state are in %s.\n", dir)
			return
		}
		if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
			err = rmErr
		}
		fmt.Fprintf(out, "\nStopped everything and removed %s; run with --keep to look around.\n", dir)
	}()

	fmt.Fprintf(out, "digestpin demo --cluster: the whole loop on a real Kubernetes control plane and a real Argo CD, over loopback only.\n\n")
	t0 := time.Now()
	cp, err := loop.StartControlPlane(ctx, filepath.Join(dir, "k8s"), binDir)
	if err != nil {
		return err
	}
	stops = append(stops, cp.Stop)
	version, err := cp.Version()
	if err != nil {
		return err
	}
	kctx, kcancel := context.WithCancel(ctx)
	stops = append(stops, kcancel)
	kubelet, err := loop.StartKubelet(kctx, cp.Client)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Kubernetes %s is up (etcd, kube-apiserver, kube-controller-manager; node %s played by the demo) after %s.\n", version, loop.NodeName, since(t0))
	t1 := time.Now()
	argo, err := loop.StartArgoCD(ctx, filepath.Join(dir, "argocd"), cp, loop.ArgoCDOptions{
		Binary:      need["argocd"],
		RedisServer: need["redis-server"],
		PluginYAML:  need["plugin.yaml"],
		Digestpin:   digestpin,
		CRDs:        need["Argo CD's CRDs"],
		SocketDir:   filepath.Join(dir, "p"),
	})
	if err != nil {
		return err
	}
	stops = append(stops, argo.Stop)
	token, err := argo.CIToken(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Argo CD is up (application controller, API server at %s, repo-server, CMP server running plugin.yaml) after %s.\n", argo.Server, since(t1))

	reg, err := loop.StartRegistry()
	if err != nil {
		return err
	}
	stops = append(stops, reg.Stop)
	org := reg.Host + "/shop"
	web, err := reg.PushIndex("shop/web", "v1")
	if err != nil {
		return err
	}
	migrate, err := reg.PushImage("shop/migrate", "v1")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n1. CI built two images and pushed them to a registry (%s):\n", reg.Host)
	fmt.Fprintf(out, "     %s/web:v1      %s (linux/amd64, linux/arm64)\n", org, web.Digest)
	fmt.Fprintf(out, "     %s/migrate:v1  %s\n", org, migrate)

	repo, err := loop.NewRepo(ctx, filepath.Join(dir, "git"), loop.ShopApp("shop", org))
	if err != nil {
		return err
	}
	if err := cp.Namespace(ctx, "shop"); err != nil {
		return err
	}
	if err := argo.CreateApplication(ctx, loop.Application{Name: "shop", RepoURL: repo.URL, Path: "apps/shop", Namespace: "shop", Auto: true}); err != nil {
		return err
	}
	app, err := argo.WaitApp(ctx, token, "shop", 3*time.Minute, func(a *v1alpha1.Application) bool {
		_, ok := loop.Condition(a, v1alpha1.ApplicationConditionComparisonError)
		return ok
	})
	if err != nil {
		return err
	}
	refusal, _ := loop.Condition(app, v1alpha1.ApplicationConditionComparisonError)
	fmt.Fprintf(out, "\n2. The config repository holds apps/shop, which deploys tags:\n     %s\n   The Application \"shop\" auto-syncs it. Argo CD renders it through the\n   digestpin plugin, which refuses, so nothing is deployed. Argo CD's API (and\n   its UI) shows:\n\n", repo.URL)
	fmt.Fprintf(out, "     ComparisonError:\n%s\n", indent(refusal, "       "))

	ci := filepath.Join(dir, "ci")
	if err := repo.Clone(ctx, ci); err != nil {
		return err
	}
	promoteArgs := []string{"promote", "--output", "json", "--path", "apps/shop", "--image", org + "/web:v1", "--image", org + "/migrate:v1"}
	fmt.Fprintf(out, "\n3. CI pins the images in Git:\n\n     $ digestpin %s > promote.json\n", strings.Join(promoteArgs, " "))
	promote := exec.CommandContext(ctx, digestpin, promoteArgs...)
	promote.Dir = ci
	promote.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "DOCKER_CONFIG="+filepath.Join(dir, "docker"))
	record, err := promote.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("digestpin promote: %v: %s", err, exit.Stderr)
		}
		return err
	}
	var rec struct{ Commit string }
	if err := json.Unmarshal(record, &rec); err != nil {
		return fmt.Errorf("reading promote's output: %w", err)
	}
	resultFile := filepath.Join(dir, "promote.json")
	if err := os.WriteFile(resultFile, record, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "     (committed %s and pushed it to main)\n", rec.Commit)

	fmt.Fprintf(out, "\n4. Argo CD sees the commit, renders it, and syncs; the controller manager\n   creates the pods and the node runs them. CI proves what they run:\n\n     $ ARGOCD_SERVER=%s ARGOCD_AUTH_TOKEN=<the ci account's token> \\\n       digestpin verify --plaintext --app shop --promote-result promote.json --refresh\n", argo.Server)
	cmd := exec.CommandContext(ctx, digestpin, "verify", "--plaintext", "--app", "shop", "--promote-result", resultFile, "--refresh", "--timeout", "5m")
	cmd.Env = []string{"PATH=" + filepath.Dir(verify) + ":/usr/bin:/bin", "HOME=" + dir, "DOCKER_CONFIG=" + filepath.Join(dir, "docker"),
		"ARGOCD_SERVER=" + argo.Server, "ARGOCD_AUTH_TOKEN=" + token}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	copied := make(chan struct{})
	go func() {
		scanner := bufio.NewScanner(pr)
		for scanner.Scan() {
			fmt.Fprintf(out, "     %s\n", scanner.Text())
		}
		close(copied)
	}()
	err = cmd.Run()
	pw.Close()
	<-copied
	if err != nil {
		return fmt.Errorf("digestpin verify: %w", err)
	}
	if err := kubelet.Err(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nThe pods run exactly the digests Git pins: for web, the node runs the\nlinux/amd64 manifest (%s) of the index Git pins.\n", web.AMD64)
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

func indent(s, prefix string) string {
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(prefix + untrusted.Text(line))
	}
	return b.String()
}
