package compare

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/desired"
	"github.com/digestpin/digestpin/internal/registry"
)

// testRegistry is go-containerregistry's registry on loopback, counting
// manifest reads.
type testRegistry struct {
	host      string
	manifests atomic.Int64
}

func newRegistry(t *testing.T) *testRegistry {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	r := &testRegistry{}
	h := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/manifests/") {
			r.manifests.Add(1)
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *testRegistry) push(t *testing.T, repo string, img v1.Image) string {
	t.Helper()
	ref, err := name.NewTag(r.host+"/"+repo+":latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

func (r *testRegistry) pushIndex(t *testing.T, repo string, idx v1.ImageIndex) string {
	t.Helper()
	ref, err := name.NewTag(r.host+"/"+repo+":latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	return d.String()
}

func (r *testRegistry) lookup() Lookup {
	return Lookup{Options: []registry.Option{registry.WithInsecure(true), registry.WithRetries(0)}}
}

func image(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t *testing.T, img interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func configOf(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

var web = desired.Key{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}

func workload(images map[string]string) desired.Workload {
	w := desired.Workload{Key: web}
	for _, n := range []string{"migrate", "web"} {
		if img, ok := images[n]; ok {
			w.Containers = append(w.Containers, desired.Container{Name: n, Init: n == "migrate", Image: img})
		}
	}
	return w
}

// pod is a running pod of the web Deployment: spec images and the image
// IDs its node reports, by container name ("migrate" is the init
// container).
func pod(name string, spec, ids map[string]string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}}
	for _, n := range []string{"migrate", "web", "istio-proxy"} {
		img, ok := spec[n]
		if !ok {
			continue
		}
		c := corev1.Container{Name: n, Image: img}
		s := corev1.ContainerStatus{Name: n, Image: img, ImageID: ids[n]}
		if n == "migrate" {
			p.Spec.InitContainers = append(p.Spec.InitContainers, c)
			p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, s)
		} else {
			p.Spec.Containers = append(p.Spec.Containers, c)
			if _, reported := ids[n]; reported {
				p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, s)
			}
		}
	}
	return p
}

func TestMatchesInEveryRuntimeFormat(t *testing.T) {
	reg := newRegistry(t)
	webImg, migrateImg := image(t), image(t)
	dw := reg.push(t, "acme/web", webImg)
	dm := reg.push(t, "acme/migrate", migrateImg)
	pinWeb := reg.host + "/acme/web:v1@" + dw
	pinMigrate := reg.host + "/acme/migrate@" + dm
	w := workload(map[string]string{"web": pinWeb, "migrate": pinMigrate})
	spec := map[string]string{"web": pinWeb, "migrate": pinMigrate}

	pods := []Pod{
		{Workload: w, Pod: pod("web-1", spec, map[string]string{"web": "docker-pullable://" + reg.host + "/acme/web@" + dw, "migrate": reg.host + "/acme/migrate@" + dm})},
		{Workload: w, Pod: pod("web-2", spec, map[string]string{"web": dw, "migrate": "docker-pullable://" + reg.host + "/acme/migrate@" + dm})},
		// The runtime knows only the image's ID, its config digest.
		{Workload: w, Pod: pod("web-3", spec, map[string]string{"web": "docker://" + configOf(t, webImg), "migrate": dm})},
	}
	rows := Compare(context.Background(), pods, reg.lookup())
	var got []string
	for _, r := range rows {
		got = append(got, strings.Join([]string{r.Pod, r.Container, string(r.Status), r.Actual, r.Note}, " "))
	}
	configWeb := configOf(t, webImg)
	want := []string{
		"web-1 migrate match " + dm + " ",
		"web-1 web match " + dw + " ",
		"web-2 migrate match " + dm + " ",
		"web-2 web match " + dw + " ",
		"web-3 migrate match " + dm + " ",
		"web-3 web match " + configWeb + " the runtime reports the pinned image's config digest",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Only the config digest needed the registry: one read of web's manifest.
	if n := reg.manifests.Load(); n != 1 {
		t.Errorf("%d manifest reads, want 1", n)
	}
	if rows[0].Workload != "Deployment.apps shop/web" || !rows[0].Init || rows[0].Expected != pinMigrate || rows[0].ExpectedDigest != dm || rows[0].PodImage != pinMigrate {
		t.Errorf("row 0 = %+v", rows[0])
	}
}

func TestMultiArch(t *testing.T) {
	reg := newRegistry(t)
	amd64, arm64, other := image(t), image(t), image(t)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	di := reg.pushIndex(t, "acme/web", idx)
	do := reg.push(t, "acme/other", other)
	pin := reg.host + "/acme/web@" + di
	w := workload(map[string]string{"web": pin})
	spec := map[string]string{"web": pin}
	repo := reg.host + "/acme/web@"

	rows := Compare(context.Background(), []Pod{
		{Workload: w, Pod: pod("amd", spec, map[string]string{"web": repo + digestOf(t, amd64)})},
		{Workload: w, Pod: pod("arm", spec, map[string]string{"web": "docker-pullable://" + repo + digestOf(t, arm64)})},
		{Workload: w, Pod: pod("cfg", spec, map[string]string{"web": configOf(t, arm64)})},
		{Workload: w, Pod: pod("zzz", spec, map[string]string{"web": repo + do})},
	}, reg.lookup())
	want := []struct {
		status Status
		note   string
		cause  Cause
	}{
		{Match, "platform linux/amd64 of the pinned index", ""},
		{Match, "platform linux/arm64/v8 of the pinned index", ""},
		{Match, "the runtime reports the config digest of platform linux/arm64/v8 of the pinned index", ""},
		{Mismatch, "", RuntimeDigest},
	}
	for i, r := range rows {
		if r.Status != want[i].status || r.Note != want[i].note || r.Cause != want[i].cause {
			t.Errorf("%s: %s %q %s %q", r.Pod, r.Status, r.Note, r.Cause, r.Detail)
		}
	}
	if rows[3].Detail != "the pod asks for the pinned image, but the node reports another digest for it: the runtime resolved it elsewhere (a node-level registry rewrite)" {
		t.Errorf("detail: %s", rows[3].Detail)
	}
}

func TestCauses(t *testing.T) {
	reg := newRegistry(t)
	pinned, old := image(t), image(t)
	dp := reg.push(t, "acme/web", pinned)
	dOld := reg.push(t, "acme/web-old", old)
	pin := reg.host + "/acme/web:v2@" + dp
	w := workload(map[string]string{"web": pin})
	oldImage := reg.host + "/acme/web:v1@" + dOld
	mirror := "mirror.example.com/acme/web:v2@" + dOld

	for _, tc := range []struct {
		name   string
		p      Pod
		cause  Cause
		detail string
	}{{
		name: "an older ReplicaSet's pod",
		p: Pod{Workload: w, Stale: "its ReplicaSet shop/web-1 is revision 1 of Deployment.apps shop/web, which is at revision 2",
			Pod: pod("web-1-abc", map[string]string{"web": oldImage}, map[string]string{"web": oldImage})},
		cause:  OlderRevision,
		detail: "a pod of an older revision is still running: its ReplicaSet shop/web-1 is revision 1 of Deployment.apps shop/web, which is at revision 2",
	}, {
		name:   "rewritten on admission",
		p:      Pod{Workload: w, Pod: pod("web-2-abc", map[string]string{"web": oldImage}, map[string]string{"web": oldImage})},
		cause:  AdmissionRewrite,
		detail: "the pod asks for " + oldImage + ", not the image its template in Git names: rewritten on admission (a mutating webhook)",
	}, {
		name:   "rewritten to a mirror on admission",
		p:      Pod{Workload: w, Pod: pod("web-2-def", map[string]string{"web": mirror}, map[string]string{"web": mirror})},
		cause:  RegistryHost,
		detail: "the pod asks for registry host mirror.example.com where Git names " + reg.host + ": its image was rewritten on admission (a registry mirror policy)",
	}, {
		name:   "pulled from a mirror",
		p:      Pod{Workload: w, Pod: pod("web-3-abc", map[string]string{"web": pin}, map[string]string{"web": "mirror.example.com/acme/web@" + dOld})},
		cause:  RegistryHost,
		detail: "the node pulled from registry host mirror.example.com where Git names " + reg.host + ": a registry mirror served other content",
	}, {
		name:   "a bare digest that is nothing of the pin",
		p:      Pod{Workload: w, Pod: pod("web-4-abc", map[string]string{"web": pin}, map[string]string{"web": dOld})},
		cause:  RuntimeDigest,
		detail: "the pod asks for the pinned image, but the runtime reports only a digest that is neither the pinned digest, a platform of it, nor a config digest of it: the node runs a locally built or loaded image",
	}, {
		name:   "not started",
		p:      Pod{Workload: w, Pod: pod("web-5-abc", map[string]string{"web": pin}, nil)},
		cause:  NoImageID,
		detail: "the node reports no image ID for this container: it has not started",
	}, {
		name:   "not pinned in Git",
		p:      Pod{Workload: workload(map[string]string{"web": reg.host + "/acme/web:v2"}), Pod: pod("web-6-abc", map[string]string{"web": pin}, map[string]string{"web": pin})},
		cause:  NotPinned,
		detail: "Git names this image without a digest, so there is nothing to hold the node to; pin it with digestpin promote",
	}, {
		name:   "an odd image is quoted",
		p:      Pod{Workload: w, Pod: pod("web-7-abc", map[string]string{"web": "evil\nverified: all good"}, map[string]string{"web": oldImage})},
		cause:  AdmissionRewrite,
		detail: `the pod asks for "evil\nverified: all good", not the image its template in Git names: rewritten on admission (a mutating webhook)`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rows := Compare(context.Background(), []Pod{tc.p}, reg.lookup())
			if len(rows) != 1 {
				t.Fatalf("%d rows", len(rows))
			}
			r := rows[0]
			if r.Status != Mismatch || r.Cause != tc.cause || r.Detail != tc.detail {
				t.Errorf("got %s %s\n%s\nwant %s\n%s", r.Status, r.Cause, r.Detail, tc.cause, tc.detail)
			}
		})
	}
}

func TestUnreadableRegistryIsUnconfirmedNotMatched(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	srv := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	pin := host + "/acme/web@sha256:" + strings.Repeat("a", 64)
	w := workload(map[string]string{"web": pin})
	rows := Compare(context.Background(), []Pod{{Workload: w, Pod: pod("web-1", map[string]string{"web": pin}, map[string]string{"web": host + "/acme/web@sha256:" + strings.Repeat("b", 64)})}},
		Lookup{Options: []registry.Option{registry.WithInsecure(true), registry.WithRetries(0)}})
	if r := rows[0]; r.Status != Mismatch || r.Cause != Unconfirmed || !strings.HasPrefix(r.Detail, "the node reports sha256:bbbb") || !strings.Contains(r.Detail, "reading the pinned image from the registry, to check whether that is one of its platforms, failed: ") {
		t.Errorf("%+v", r)
	}

	// When the pod asks for another image, that is the likely cause still.
	old := host + "/acme/web@sha256:" + strings.Repeat("b", 64)
	rows = Compare(context.Background(), []Pod{{Workload: w, Stale: "its ReplicaSet shop/web-1 is revision 1 of Deployment.apps shop/web, which is at revision 2",
		Pod: pod("web-1", map[string]string{"web": old}, map[string]string{"web": old})}},
		Lookup{Options: []registry.Option{registry.WithInsecure(true), registry.WithRetries(0)}})
	if r := rows[0]; r.Status != Mismatch || r.Cause != OlderRevision ||
		!strings.HasPrefix(r.Detail, "a pod of an older revision is still running: its ReplicaSet shop/web-1 is revision 1 of Deployment.apps shop/web, which is at revision 2 (the registry could not be read to rule out a platform digest: ") {
		t.Errorf("%+v", r)
	}
}

func TestSidecarAddedOnAdmissionIsListedNotJudged(t *testing.T) {
	reg := newRegistry(t)
	dw := reg.push(t, "acme/web", image(t))
	pin := reg.host + "/acme/web@" + dw
	proxy := "docker.io/istio/proxyv2@sha256:" + strings.Repeat("c", 64)
	rows := Compare(context.Background(), []Pod{{Workload: workload(map[string]string{"web": pin}),
		Pod: pod("web-1", map[string]string{"web": pin, "istio-proxy": "istio/proxyv2:1.20"}, map[string]string{"web": pin, "istio-proxy": proxy})}}, reg.lookup())
	if len(rows) != 2 || rows[0].Status != Match || rows[1].Status != NotInGit || rows[1].Actual != "sha256:"+strings.Repeat("c", 64) ||
		rows[1].Note != "not in Deployment.apps shop/web's template in Git: added on admission" {
		t.Errorf("%+v", rows)
	}
	if n := reg.manifests.Load(); n != 0 {
		t.Errorf("%d manifest reads, want none", n)
	}
}
