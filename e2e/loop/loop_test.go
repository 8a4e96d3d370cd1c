package loop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// controlPlaneBin finds the control plane's binaries, or skips (fails
// when CI=true) saying how to build them.
func controlPlaneBin(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("DIGESTPIN_CLUSTER_BIN")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin")
	}
	dir, _ = filepath.Abs(dir)
	for _, b := range ControlPlaneBinaries {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			msg := fmt.Sprintf("%s is not in %s; build the control plane with `make cluster` (the first build takes about 7 minutes on 2 idle cores)", b, dir)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// TestControlPlaneRunsADeployment: the control plane starts on loopback,
// the controller manager turns a Deployment into pods, the kubelet runs
// them with the image IDs a runtime reports, and Stop ends every process.
func TestControlPlaneRunsADeployment(t *testing.T) {
	bin := controlPlaneBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cp, err := StartControlPlane(ctx, dir, bin)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	if v, err := cp.Version(); err != nil || v != "v1.37.2" {
		t.Errorf("version %q, %v", v, err)
	}

	reg, err := StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Stop()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	idx, err := reg.PushIndex("acme/web", "v1")
	if err != nil {
		t.Fatal(err)
	}
	single, err := reg.PushImage("acme/migrate", "v1")
	if err != nil {
		t.Fatal(err)
	}

	kctx, kcancel := context.WithCancel(ctx)
	defer kcancel()
	k, err := StartKubelet(kctx, cp.Client)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Namespace(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	replicas := int32(2)
	labels := map[string]string{"app": "web"}
	_, err = cp.Client.AppsV1().Deployments("shop").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "migrate", Image: reg.Host + "/acme/migrate:v1"}},
					Containers:     []corev1.Container{{Name: "web", Image: reg.Host + "/acme/web@" + idx.Digest}},
				},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = waitFor(ctx, "the Deployment's pods", 2*time.Minute, nil, func(ctx context.Context) error {
		d, err := cp.Client.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d.Status.AvailableReplicas != 2 {
			return fmt.Errorf("%d of 2 available", d.Status.AvailableReplicas)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := cp.Client.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("%d pods, %v", len(pods.Items), err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != NodeName || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s: node %q, phase %s", p.Name, p.Spec.NodeName, p.Status.Phase)
		}
		// A digest reference to an index runs the platform's manifest; a
		// tag runs what the registry served for it at pull time.
		if got, want := p.Status.ContainerStatuses[0].ImageID, reg.Host+"/acme/web@"+idx.AMD64; got != want {
			t.Errorf("pod %s: web imageID %s, want %s", p.Name, got, want)
		}
		if got, want := p.Status.InitContainerStatuses[0].ImageID, reg.Host+"/acme/migrate@"+single; got != want {
			t.Errorf("pod %s: migrate imageID %s, want %s", p.Name, got, want)
		}
	}
	if err := k.Err(); err != nil {
		t.Error(err)
	}

	var pids []int
	for _, p := range cp.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	cp.Stop()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil || !strings.Contains(err.Error(), "no such process") {
			t.Errorf("process %d still runs after Stop (%v)", pid, err)
		}
	}
	for _, name := range ControlPlaneBinaries {
		if _, err := os.Stat(filepath.Join(dir, name+".pid")); err != nil {
			t.Errorf("no PID file for %s: %v", name, err)
		}
	}
}
