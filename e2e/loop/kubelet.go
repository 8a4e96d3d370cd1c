package loop

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// NodeName is the fake node's name.
const NodeName = "node-1"

// Kubelet plays the kubelet (and the scheduler) for one fake Node: it
// binds new pods to the node, "pulls" their images, and reports them
// Running and Ready with the image IDs a container runtime would report.
//
// A pulled image's ID is what containerd reports: "<repository>@<digest>",
// where the digest is the reference's own for a digest reference, and for
// a tag the digest the registry serves for it at pull time. When the
// digest is an index, the node runs, and reports, its linux/amd64 manifest.
type Kubelet struct {
	client kubernetes.Interface
	ctx    context.Context // the loop's

	mu sync.Mutex
	// hold lists namespaces whose pods are bound but never start.
	hold map[string]bool
	// drift maps a namespace to the image ID reported for every
	// container there, whatever it asks for.
	drift map[string]string
	// errs are failures of the loop, reported by Err.
	errs []error
}

// StartKubelet registers the node and starts playing its kubelet until
// ctx ends.
func StartKubelet(ctx context.Context, client kubernetes.Interface) (*Kubelet, error) {
	k := &Kubelet{client: client, ctx: ctx, hold: map[string]bool{}, drift: map[string]string{}}
	now := metav1.Now()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: NodeName, Labels: map[string]string{"kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
		Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: mustQuantity("8"), corev1.ResourceMemory: mustQuantity("32Gi"), corev1.ResourcePods: mustQuantity("110")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: mustQuantity("8"), corev1.ResourceMemory: mustQuantity("32Gi"), corev1.ResourcePods: mustQuantity("110")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}},
			NodeInfo:    corev1.NodeSystemInfo{OperatingSystem: "linux", Architecture: "amd64", KubeletVersion: "v1.37.2", ContainerRuntimeVersion: "containerd://2.0.0"},
			Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		},
	}
	created, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("registering node %s: %w", NodeName, err)
	}
	created.Status = node.Status
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("reporting node %s ready: %w", NodeName, err)
	}
	go k.heartbeat(ctx)
	go k.run(ctx)
	return k, nil
}

// Hold keeps the pods of a namespace from starting (true): they stay
// Pending, so a rollout never becomes healthy. Hold false lets them
// start, those already pending too.
func (k *Kubelet) Hold(namespace string, on bool) {
	k.mu.Lock()
	k.hold[namespace] = on
	k.mu.Unlock()
	if on {
		return
	}
	// Nothing changes a held pod, so no watch event would start it.
	list, err := k.client.CoreV1().Pods(namespace).List(k.ctx, metav1.ListOptions{})
	if err != nil {
		if k.ctx.Err() == nil {
			k.fail(fmt.Errorf("listing the pods of %s to start them: %w", namespace, err))
		}
		return
	}
	for i := range list.Items {
		k.handle(k.ctx, &list.Items[i])
	}
}

// Drift makes the node report imageID for every container of the pods it
// starts in namespace from now on, whatever they ask for ("" reports the
// truth again).
func (k *Kubelet) Drift(namespace, imageID string) {
	k.mu.Lock()
	if imageID == "" {
		delete(k.drift, namespace)
	} else {
		k.drift[namespace] = imageID
	}
	k.mu.Unlock()
}

// Err returns what went wrong in the loop so far.
func (k *Kubelet) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return errors.Join(k.errs...)
}

func (k *Kubelet) fail(err error) {
	k.mu.Lock()
	k.errs = append(k.errs, err)
	k.mu.Unlock()
}

// heartbeat renews the node's Lease, as a kubelet does every 10 seconds,
// so that the node lifecycle controller keeps the node Ready.
func (k *Kubelet) heartbeat(ctx context.Context) {
	leases := k.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	holder, duration := NodeName, int32(40)
	for {
		now := metav1.NewMicroTime(time.Now())
		lease, err := leases.Get(ctx, NodeName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: NodeName},
				Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &duration, RenewTime: &now},
			}, metav1.CreateOptions{})
		case err == nil:
			lease.Spec.RenewTime = &now
			_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		}
		if err != nil && ctx.Err() == nil && !apierrors.IsConflict(err) {
			k.fail(fmt.Errorf("renewing the node lease: %w", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
	}
}

// run watches all pods and acts on each change, re-listing when the watch
// ends.
func (k *Kubelet) run(ctx context.Context) {
	for ctx.Err() == nil {
		list, err := k.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			if ctx.Err() == nil {
				time.Sleep(time.Second)
			}
			continue
		}
		for i := range list.Items {
			k.handle(ctx, &list.Items[i])
		}
		w, err := k.client.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			continue
		}
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			if pod, ok := ev.Object.(*corev1.Pod); ok {
				k.handle(ctx, pod)
			}
		}
		w.Stop()
	}
}

func (k *Kubelet) handle(ctx context.Context, pod *corev1.Pod) {
	pods := k.client.CoreV1().Pods(pod.Namespace)
	switch {
	case pod.DeletionTimestamp != nil:
		// The kubelet confirms a graceful deletion once the containers
		// stopped; these stop at once.
		if pod.Spec.NodeName == NodeName {
			zero := int64(0)
			err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
				k.fail(fmt.Errorf("deleting pod %s/%s: %w", pod.Namespace, pod.Name, err))
			}
		}
	case pod.Spec.NodeName == "":
		err := pods.Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: NodeName},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			k.fail(fmt.Errorf("binding pod %s/%s: %w", pod.Namespace, pod.Name, err))
		}
	case pod.Spec.NodeName == NodeName && pod.Status.Phase == corev1.PodPending:
		k.mu.Lock()
		held, drift := k.hold[pod.Namespace], k.drift[pod.Namespace]
		k.mu.Unlock()
		if held {
			return
		}
		if err := k.startPod(ctx, pod, drift); err != nil && ctx.Err() == nil {
			k.fail(fmt.Errorf("starting pod %s/%s: %w", pod.Namespace, pod.Name, err))
		}
	}
}

// startPod pulls the pod's images and reports it Running and Ready.
func (k *Kubelet) startPod(ctx context.Context, pod *corev1.Pod, drift string) error {
	now := metav1.Now()
	status := pod.Status.DeepCopy()
	status.Phase = corev1.PodRunning
	status.HostIP, status.PodIP = "127.0.0.1", "10.244.0.10"
	status.HostIPs, status.PodIPs = []corev1.HostIP{{IP: "127.0.0.1"}}, []corev1.PodIP{{IP: "10.244.0.10"}}
	status.StartTime = &now
	status.Conditions = nil
	for _, t := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		status.Conditions = append(status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	status.InitContainerStatuses, status.ContainerStatuses = nil, nil
	for i, c := range pod.Spec.InitContainers {
		id, err := k.pull(ctx, c.Image, drift)
		if err != nil {
			return err
		}
		status.InitContainerStatuses = append(status.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: id,
			ContainerID: fmt.Sprintf("containerd://%s-init-%d", pod.UID, i),
			State:       corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}},
		})
	}
	started := true
	for i, c := range pod.Spec.Containers {
		id, err := k.pull(ctx, c.Image, drift)
		if err != nil {
			return err
		}
		status.ContainerStatuses = append(status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: id, Ready: true, Started: &started,
			ContainerID: fmt.Sprintf("containerd://%s-%d", pod.UID, i),
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	updated := pod.DeepCopy()
	updated.Status = *status
	_, err := k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // a newer version of the pod comes through the watch
	}
	return err
}

// pull resolves what the node runs for image and returns the image ID a
// runtime reports for it.
func (k *Kubelet) pull(ctx context.Context, image, drift string) (string, error) {
	if drift != "" {
		return drift, nil
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("pulling %q: %w", image, err)
	}
	desc, err := remote.Get(ref, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	if err != nil {
		return "", fmt.Errorf("pulling %s: %w", image, err)
	}
	digest := desc.Digest
	if desc.MediaType.IsIndex() {
		img, err := desc.Image() // the linux/amd64 manifest, by WithPlatform
		if err != nil {
			return "", fmt.Errorf("pulling %s for linux/amd64: %w", image, err)
		}
		if digest, err = img.Digest(); err != nil {
			return "", err
		}
	}
	return strings.TrimPrefix(ref.Context().Name(), "index.docker.io/") + "@" + digest.String(), nil
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
