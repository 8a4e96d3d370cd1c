package loop

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Webhook is a mutating admission webhook that the apiserver calls for
// every pod created in one namespace. It rewrites each container's and
// init container's image with a function, as image policies on admission
// do (a registry mirror policy, a policy that swaps digests for tags). It
// serves HTTPS on 127.0.0.1 with a certificate from a CA of its own, which
// its registration hands to the apiserver.
type Webhook struct {
	client kubernetes.Interface
	name   string
	srv    *httptest.Server
}

// StartWebhook serves the webhook, registers it with the apiserver as the
// MutatingWebhookConfiguration name for pods of namespace, and returns
// once the apiserver calls it: a dry-run pod comes back rewritten. On an
// error it has stopped and unregistered what it started.
func StartWebhook(ctx context.Context, client kubernetes.Interface, name, namespace string, rewrite func(image string) string) (_ *Webhook, err error) {
	now := time.Now().Add(-time.Hour)
	ca, err := issue(nil, &x509.Certificate{
		Subject:   pkix.Name{CommonName: name + "-ca"},
		NotBefore: now, NotAfter: now.Add(25 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	})
	if err != nil {
		return nil, err
	}
	serving, err := issue(ca, &x509.Certificate{
		Subject:   pkix.Name{CommonName: name},
		NotBefore: now, NotAfter: now.Add(25 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	})
	if err != nil {
		return nil, err
	}
	w := &Webhook{client: client, name: name}
	w.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { review(rw, r, rewrite) }))
	w.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{serving.cert.Raw}, PrivateKey: serving.key}}}
	w.srv.StartTLS()
	defer func() {
		if err != nil {
			w.Stop()
		}
	}()

	url := w.srv.URL + "/mutate"
	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         name + ".e2e.digestpin.dev",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: namespace}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("registering webhook %s: %w", name, err)
	}

	// The apiserver learns of the registration a moment later.
	image := "registry.example/probe:v1@sha256:" + strings.Repeat("0", 64)
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-probe"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: image}}},
	}
	want := rewrite(image)
	if want == image {
		return nil, fmt.Errorf("webhook %s: its rewrite leaves %s as it is, so its calls cannot be told", name, image)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		got, err := client.CoreV1().Pods(namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && got.Spec.Containers[0].Image == want {
			return w, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("webhook %s: the apiserver did not call it within a minute (last: %v)", name, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop unregisters the webhook and stops serving it.
func (w *Webhook) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = w.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, w.name, metav1.DeleteOptions{})
	w.srv.Close()
}

// review answers one AdmissionReview with a JSON patch that rewrites the
// pod's images.
func review(w http.ResponseWriter, r *http.Request, rewrite func(string) string) {
	var ar admissionv1.AdmissionReview
	if err := json.NewDecoder(r.Body).Decode(&ar); err != nil {
		http.Error(w, "not an AdmissionReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	if ar.Request == nil {
		http.Error(w, "an AdmissionReview without a request", http.StatusBadRequest)
		return
	}
	var pod corev1.Pod
	if err := json.Unmarshal(ar.Request.Object.Raw, &pod); err != nil {
		http.Error(w, "not a pod: "+err.Error(), http.StatusBadRequest)
		return
	}
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value string `json:"value"`
	}
	var patch []op
	for i, c := range pod.Spec.InitContainers {
		if image := rewrite(c.Image); image != c.Image {
			patch = append(patch, op{"replace", fmt.Sprintf("/spec/initContainers/%d/image", i), image})
		}
	}
	for i, c := range pod.Spec.Containers {
		if image := rewrite(c.Image); image != c.Image {
			patch = append(patch, op{"replace", fmt.Sprintf("/spec/containers/%d/image", i), image})
		}
	}
	resp := &admissionv1.AdmissionResponse{UID: ar.Request.UID, Allowed: true}
	if len(patch) > 0 {
		data, err := json.Marshal(patch)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = data, &pt
	}
	ar.Request, ar.Response = nil, resp
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&ar)
}
