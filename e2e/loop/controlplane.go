package loop

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ControlPlaneBinaries are the programs a control plane runs, as built by
// e2e/cluster/build.sh.
var ControlPlaneBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// ControlPlane is etcd, kube-apiserver and kube-controller-manager on
// 127.0.0.1, on ports the kernel picked.
type ControlPlane struct {
	// Kubeconfig is a kubeconfig for an admin (system:masters), whose
	// context's namespace is "argocd".
	Kubeconfig string
	// Config and Client talk to the apiserver as that admin.
	Config *rest.Config
	Client kubernetes.Interface
	// Server is the apiserver's URL.
	Server string

	procs []*proc
}

// StartControlPlane starts the three processes from binDir with their
// state and logs under dir, and returns once the apiserver is ready and
// the controller manager healthy.
func StartControlPlane(ctx context.Context, dir, binDir string) (cp *ControlPlane, err error) {
	for _, b := range ControlPlaneBinaries {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			return nil, fmt.Errorf("the control plane needs %s in %s: %w", b, binDir, err)
		}
	}
	pki, err := newPKI(filepath.Join(dir, "pki"))
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort, kcmPort := ports[0], ports[1], ports[2], ports[3]
	cp = &ControlPlane{Server: fmt.Sprintf("https://127.0.0.1:%d", apiPort)}
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + dir}

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	etcd, err := start(dir, "etcd", filepath.Join(binDir, "etcd"), []string{
		"--name=e2e", "--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=e2e=" + peerURL,
		// Tests throw the data away: no fsync.
		"--unsafe-no-fsync", "--log-level=warn",
	}, env)
	if err != nil {
		return nil, err
	}
	cp.procs = append(cp.procs, etcd)
	if err := waitFor(ctx, "etcd", time.Minute, etcd, httpOK(http.DefaultClient, etcdURL+"/health")); err != nil {
		return nil, err
	}

	apiserver, err := start(dir, "kube-apiserver", filepath.Join(binDir, "kube-apiserver"), []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", apiPort),
		// On loopback the default reconciler would publish 127.0.0.1 as
		// the kubernetes Service's endpoint and fight over it.
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file=" + pki.servingCert, "--tls-private-key-file=" + pki.servingKey,
		"--client-ca-file=" + pki.caCert,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + pki.saPub, "--service-account-signing-key-file=" + pki.saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		"--profiling=false",
	}, env)
	if err != nil {
		return nil, err
	}
	cp.procs = append(cp.procs, apiserver)

	cp.Kubeconfig = filepath.Join(dir, "kubeconfig")
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster: {server: %q, certificate-authority: %q}
users:
- name: admin
  user: {client-certificate: %q, client-key: %q}
contexts:
- name: e2e
  context: {cluster: e2e, user: admin, namespace: argocd}
current-context: e2e
`, cp.Server, pki.caCert, pki.adminCert, pki.adminKey)
	if err := os.WriteFile(cp.Kubeconfig, []byte(kubeconfig), 0o600); err != nil {
		return nil, err
	}
	if cp.Config, err = clientcmd.BuildConfigFromFlags("", cp.Kubeconfig); err != nil {
		return nil, err
	}
	cp.Config.QPS, cp.Config.Burst = 100, 200
	if cp.Client, err = kubernetes.NewForConfig(cp.Config); err != nil {
		return nil, err
	}
	tlsClient, err := clientTLS(pki)
	if err != nil {
		return nil, err
	}
	if err := waitFor(ctx, "kube-apiserver", 2*time.Minute, apiserver, httpOK(tlsClient, cp.Server+"/readyz")); err != nil {
		return nil, err
	}

	kcm, err := start(dir, "kube-controller-manager", filepath.Join(binDir, "kube-controller-manager"), []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--authentication-kubeconfig=" + cp.Kubeconfig, "--authorization-kubeconfig=" + cp.Kubeconfig,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", kcmPort),
		"--cert-dir=" + filepath.Join(dir, "kcm-certs"),
		"--leader-elect=false",
		"--service-account-private-key-file=" + pki.saKey, "--root-ca-file=" + pki.caCert,
		"--use-service-account-credentials=true",
		"--controllers=*",
	}, env)
	if err != nil {
		return nil, err
	}
	cp.procs = append(cp.procs, kcm)
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // its own self-signed serving certificate
	if err := waitFor(ctx, "kube-controller-manager", 2*time.Minute, kcm, httpOK(insecure, fmt.Sprintf("https://127.0.0.1:%d/healthz", kcmPort))); err != nil {
		return nil, err
	}
	return cp, nil
}

func clientTLS(p *pki) (*http.Client, error) {
	ca, err := os.ReadFile(p.caCert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(p.adminCert, p.adminKey)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}}, nil
}

// Stop stops the processes by PID, newest first.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		cp.procs[i].stop()
	}
	cp.procs = nil
}

// Check returns an error when a process of the control plane has exited.
func (cp *ControlPlane) Check() error {
	for _, p := range cp.procs {
		if err := p.exited(); err != nil {
			return err
		}
	}
	return nil
}

// Namespace creates a namespace and waits until the controller manager
// has given it the default ServiceAccount, which pods need to be admitted.
func (cp *ControlPlane) Namespace(ctx context.Context, name string) error {
	_, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return waitFor(ctx, "the default ServiceAccount of namespace "+name, time.Minute, nil, func(ctx context.Context) error {
		_, err := cp.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// Version is the apiserver's version, e.g. "v1.37.2".
func (cp *ControlPlane) Version() (string, error) {
	v, err := cp.Client.Discovery().ServerVersion()
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(v.GitVersion, "v1.") {
		return "", fmt.Errorf("the apiserver reports version %q: build it with e2e/cluster/build.sh, which stamps the version", v.GitVersion)
	}
	return v.GitVersion, nil
}
