package clusterloop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/digestpin/digestpin/e2e/loop"
)

// scenario is one Application of its own: a namespace, images in the
// registry under 127.0.0.1:<port>/<name>/, a config repository holding
// apps/<name>, and a CI clone of it.
type scenario struct {
	name, org string
	repo      *loop.Repo
	ci        string
	web       loop.Index // a multi-platform image
	migrate   string     // a single-platform image's digest
}

func newScenario(t *testing.T, name string, hold bool) *scenario {
	t.Helper()
	return newScenarioOf(t, name, hold, loop.ShopApp)
}

// newScenarioOf is newScenario with the config repository's files from
// app, which gets the scenario's name and its images' organization.
func newScenarioOf(t *testing.T, name string, hold bool, app func(name, org string) map[string]string) *scenario {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := &scenario{name: name, org: reg.Host + "/" + name}
	if err := cp.Namespace(ctx, name); err != nil {
		t.Fatal(err)
	}
	kubelet.Hold(name, hold)
	var err error
	if s.web, err = reg.PushIndex(name+"/web", "v1"); err != nil {
		t.Fatal(err)
	}
	if s.migrate, err = reg.PushImage(name+"/migrate", "v1"); err != nil {
		t.Fatal(err)
	}
	if s.repo, err = loop.NewRepo(ctx, t.TempDir(), app(name, s.org)); err != nil {
		t.Fatal(err)
	}
	s.ci = filepath.Join(t.TempDir(), "ci")
	if err := s.repo.Clone(ctx, s.ci); err != nil {
		t.Fatal(err)
	}
	if err := argo.CreateApplication(ctx, loop.Application{Name: name, RepoURL: s.repo.URL, Path: "apps/" + name, Namespace: name, Auto: true}); err != nil {
		t.Fatal(err)
	}
	return s
}

// promote runs `digestpin promote --output json` in the CI clone, as a
// pipeline does after pushing webTag, and returns the file it wrote and
// the commit it pushed.
func (s *scenario) promote(t *testing.T, webTag string) (file, commit string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "digestpin"), "promote", "--output", "json", "--path", "apps/"+s.name,
		"--image", s.org+"/web:"+webTag, "--image", s.org+"/migrate:v1")
	cmd.Dir = s.ci
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "DOCKER_CONFIG="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("digestpin promote: %v\n%s", err, stderr.Bytes())
	}
	var rec struct{ Commit string }
	if err := json.Unmarshal(stdout.Bytes(), &rec); err != nil || len(rec.Commit) != 40 {
		t.Fatalf("promote --output json: %v\n%s", err, stdout.Bytes())
	}
	head, err := s.repo.Head(ctx)
	if err != nil || head != rec.Commit {
		t.Fatalf("promote reported %s; main is at %s (%v)", rec.Commit, head, err)
	}
	file = filepath.Join(t.TempDir(), "promote.json")
	if err := os.WriteFile(file, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, rec.Commit
}

type run struct {
	code           int
	stdout, stderr string
}

// verify runs `digestpin verify` as CI does: the main binary, which runs
// digestpin-verify from next to itself, with the server and the token in
// the environment.
func verify(t *testing.T, tok string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := verifyCmd(ctx, t, tok, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	r := run{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
	t.Logf("digestpin verify %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

func verifyCmd(ctx context.Context, t *testing.T, tok string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "digestpin"), append([]string{"verify", "--plaintext"}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "DOCKER_CONFIG=" + t.TempDir(),
		"ARGOCD_SERVER=" + argo.Server, "ARGOCD_AUTH_TOKEN=" + tok}
	return cmd
}

func short(sha string) string { return sha[:7] }

var podName = regexp.MustCompile(`\bweb-[a-z0-9]{5,10}-[a-z0-9]{5}\b`)

// normalize names the pods in order of appearance (pod-1, pod-2) and
// collapses the table's padding, which follows the names' lengths.
func normalize(s string) string {
	seen := map[string]string{}
	s = podName.ReplaceAllStringFunc(s, func(p string) string {
		if _, ok := seen[p]; !ok {
			seen[p] = "pod-" + string(rune('1'+len(seen)))
		}
		return seen[p]
	})
	var lines []string
	for line := range strings.Lines(s) {
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
		lines = append(lines, indent+strings.Join(strings.Fields(line), " "))
	}
	return strings.Join(lines, "\n") + "\n"
}

// progressLine matches what verify may say while it waits.
var progressLine = regexp.MustCompile(`^(waiting: (Synced|OutOfSync|Unknown)( at [0-9a-f]{7})?, want [0-9a-f]{7}|waiting: (Synced|OutOfSync|Unknown) at [0-9a-f]{7}, want [0-9a-f]{7} \(sync (requested|Running|Terminating)\)|waiting: Synced at [0-9a-f]{7} \(sync (requested|Running|Terminating)\)|(Progressing|Missing|Degraded|Unknown|Suspended|Healthy): \d+/\d+ pods ready|Healthy: \d+/\d+ pods ready, \d+ pods? terminating|ComparisonError:|    .*)$`)

func checkProgress(t *testing.T, stderr string) {
	t.Helper()
	for line := range strings.Lines(stderr) {
		if !progressLine.MatchString(strings.TrimSuffix(line, "\n")) {
			t.Errorf("unexpected progress line %q in:\n%s", line, stderr)
		}
	}
}

// waitApp waits until Argo CD's API shows the Application in a state ok
// accepts, and returns it.
func waitApp(t *testing.T, name string, timeout time.Duration, ok func(*v1alpha1.Application) bool) *v1alpha1.Application {
	t.Helper()
	app, err := argo.WaitApp(context.Background(), token, name, timeout, ok)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestWholeStory: CI pushes images, Argo CD refuses the tags, promote pins
// the digests, the real controller syncs, the controller manager creates
// the pods, the node runs them, and verify proves they run what Git pins.
func TestWholeStory(t *testing.T) {
	needCluster(t)
	s := newScenario(t, "story", false)

	// A refusal read back through Argo CD's API: the ComparisonError
	// condition the real controller sets, the text the UI shows.
	app := waitApp(t, s.name, 3*time.Minute, func(a *v1alpha1.Application) bool {
		_, ok := loop.Condition(a, v1alpha1.ApplicationConditionComparisonError)
		return ok
	})
	msg, _ := loop.Condition(app, v1alpha1.ApplicationConditionComparisonError)
	want := "Failed to load target state: failed to generate manifest for source 1 of 1: rpc error: code = Unknown desc = plugin sidecar failed. " +
		"error generating manifests in cmp: rpc error: code = Unknown desc = error generating manifests: `digestpin generate` failed exit status 1: " +
		"refusing to render: 2 images are not pinned by a sha256 digest.\n" +
		"  - Deployment web, init container \"migrate\": image \"" + s.org + "/migrate:v1\": no digest (tag \"v1\" can be moved in the registry) (from apps/story/deployment.yaml)\n" +
		"  - Deployment web, container \"web\": image \"" + s.org + "/web:v1\": no digest (tag \"v1\" can be moved in the registry) (from apps/story/deployment.yaml)\n" +
		"fix: pin each image by digest in Git, for example with `digestpin promote --image " + s.org + "/migrate:v1 --path apps/story` in CI, or an images: entry with a digest in the kustomization."
	if msg != want {
		t.Errorf("the ComparisonError condition, as Argo CD's API returns it:\n%s\nwant:\n%s", msg, want)
	}
	if app.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced {
		t.Errorf("the refused app is %s", app.Status.Sync.Status)
	}
	pods, err := cp.Client.CoreV1().Pods(s.name).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("the refused app runs %d pods (%v)", len(pods.Items), err)
	}

	file, commit := s.promote(t, "v1")
	r := verify(t, token, "--app", s.name, "--promote-result", file, "--refresh", "--timeout", verifyTimeout)
	want = "verified: story at " + short(commit) + " is Synced and Healthy, and its 2 pods run the digests Git pins\n" +
		"POD CONTAINER DIGEST NOTE\n" +
		"story/pod-1 migrate (init) " + s.migrate + "\n" +
		"story/pod-1 web " + s.web.Digest + " platform linux/amd64 of the pinned index\n" +
		"story/pod-2 migrate (init) " + s.migrate + "\n" +
		"story/pod-2 web " + s.web.Digest + " platform linux/amd64 of the pinned index\n"
	if r.code != 0 || normalize(r.stdout) != want {
		t.Errorf("verify: exit %d\nstdout:\n%s\nwant (normalized):\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	checkProgress(t, r.stderr)

	// The pods run what the node reports: the amd64 manifest of the index.
	pods, err = cp.Client.CoreV1().Pods(s.name).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("%d pods (%v)", len(pods.Items), err)
	}
	for _, p := range pods.Items {
		if id := p.Status.ContainerStatuses[0].ImageID; id != s.org+"/web@"+s.web.AMD64 {
			t.Errorf("pod %s: imageID %s", p.Name, id)
		}
	}

	// --output json says the same for programs.
	r = verify(t, token, "--app", s.name, "--revision", commit, "--output", "json", "--timeout", verifyTimeout)
	var doc struct {
		Result, Revision string
		Mismatches       int
		Containers       []struct{ Status, ExpectedDigest, Actual string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 || doc.Result != "verified" || doc.Revision != commit || doc.Mismatches != 0 || len(doc.Containers) != 4 {
		t.Errorf("verify --output json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
}

// TestDrift: the node reports another image than Git pins, pulled from a
// mirror; verify names every pod and container with the expected and the
// actual digest and the likely cause, and exits 1.
func TestDrift(t *testing.T) {
	needCluster(t)
	s := newScenario(t, "drift", false)
	other := "sha256:" + strings.Repeat("0", 63) + "1"
	kubelet.Drift(s.name, "mirror.example.com/drift/web@"+other)
	file, commit := s.promote(t, "v1")
	r := verify(t, token, "--app", s.name, "--promote-result", file, "--refresh", "--timeout", verifyTimeout)
	cause := "likely cause: the node pulled from registry host mirror.example.com where Git names " + reg.Host + ": a registry mirror served other content\n"
	want := "drift: drift at " + short(commit) + " is Synced and Healthy, but 4 of 4 containers do not run the digest Git pins\n"
	for _, pod := range []string{"pod-1", "pod-2"} {
		want += "  pod drift/" + pod + ", init container migrate:\n" +
			"    expected: " + s.org + "/migrate:v1@" + s.migrate + " (Git, Deployment.apps drift/web)\n" +
			"    actual: mirror.example.com/drift/web@" + other + " (as the node reports it)\n" +
			"    " + cause +
			"  pod drift/" + pod + ", container web:\n" +
			"    expected: " + s.org + "/web:v1@" + s.web.Digest + " (Git, Deployment.apps drift/web)\n" +
			"    actual: mirror.example.com/drift/web@" + other + " (as the node reports it)\n" +
			"    " + cause
	}
	if r.code != 1 || normalize(r.stdout) != want {
		t.Errorf("verify: exit %d\nstdout:\n%s\nwant (normalized):\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	checkProgress(t, r.stderr)
}

// TestAdmissionRewrite: an image policy on admission (a mutating webhook
// the real apiserver calls) swaps the pinned digests for tags, and the tag
// has moved since promote pinned it; verify names the rewrite as the
// likely cause, and exits 1.
func TestAdmissionRewrite(t *testing.T) {
	needCluster(t)
	s := newScenario(t, "admission", true) // no pod starts before the tag moves
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hook, err := loop.StartWebhook(ctx, cp.Client, "strip-digests", s.name, func(image string) string {
		name, _, _ := strings.Cut(image, "@")
		return name
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hook.Stop)
	file, commit := s.promote(t, "v1")
	moved, err := reg.PushIndex(s.name+"/web", "v1")
	if err != nil {
		t.Fatal(err)
	}
	kubelet.Hold(s.name, false)

	r := verify(t, token, "--app", s.name, "--promote-result", file, "--refresh", "--timeout", verifyTimeout)
	want := "drift: admission at " + short(commit) + " is Synced and Healthy, but 2 of 4 containers do not run the digest Git pins\n"
	for _, pod := range []string{"pod-1", "pod-2"} {
		want += "  pod admission/" + pod + ", container web:\n" +
			"    expected: " + s.org + "/web:v1@" + s.web.Digest + " (Git, Deployment.apps admission/web)\n" +
			"    actual: " + s.org + "/web@" + moved.AMD64 + " (as the node reports it)\n" +
			"    likely cause: the pod asks for " + s.org + "/web:v1, not the image its template in Git names: rewritten on admission (a mutating webhook)\n"
	}
	if r.code != 1 || normalize(r.stdout) != want {
		t.Errorf("verify: exit %d\nstdout:\n%s\nwant (normalized):\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	checkProgress(t, r.stderr)
}

// statefulApp is the shop app with its web as a StatefulSet that replaces
// a pod only when the pod is deleted (updateStrategy OnDelete), as stateful
// services often do: a new revision leaves the old pods running, and
// Argo CD calls the app Healthy.
func statefulApp(name, org string) map[string]string {
	dir := "apps/" + name + "/"
	files := loop.ShopApp(name, org)
	sts := strings.Replace(files[dir+"deployment.yaml"], "kind: Deployment\n", "kind: StatefulSet\n", 1)
	sts = strings.Replace(sts, "  replicas: 2\n", "  serviceName: web\n  replicas: 2\n  podManagementPolicy: Parallel\n  updateStrategy:\n    type: OnDelete\n", 1)
	delete(files, dir+"deployment.yaml")
	files[dir+"statefulset.yaml"] = sts
	files[dir+"kustomization.yaml"] = strings.Replace(files[dir+"kustomization.yaml"], "- deployment.yaml\n", "- statefulset.yaml\n", 1)
	return files
}

// TestOlderRevision: a newer revision pins a new web image, but its
// StatefulSet replaces pods only when they are deleted, so the pods of the
// older revision keep running; verify names each, with both revisions,
// and exits 1.
func TestOlderRevision(t *testing.T) {
	needCluster(t)
	s := newScenarioOf(t, "older", false, statefulApp)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	_, first := s.promote(t, "v1")
	if _, err := argo.Refresh(ctx, token, s.name); err != nil {
		t.Fatal(err)
	}
	waitApp(t, s.name, 3*time.Minute, func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Revision == first && a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced && a.Status.Health.Status == "Healthy"
	})
	pods, err := cp.Client.CoreV1().Pods(s.name).List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("%d pods of the first revision (%v)", len(pods.Items), err)
	}
	old := pods.Items[0].Labels["controller-revision-hash"]

	v2, err := reg.PushIndex(s.name+"/web", "v2")
	if err != nil {
		t.Fatal(err)
	}
	file, second := s.promote(t, "v2")
	r := verify(t, token, "--app", s.name, "--promote-result", file, "--refresh", "--timeout", verifyTimeout)
	sts, err := cp.Client.AppsV1().StatefulSets(s.name).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if old == "" || sts.Status.UpdateRevision == old {
		t.Fatalf("the pods are of revision %q, the StatefulSet's update revision is %q", old, sts.Status.UpdateRevision)
	}
	want := "drift: older at " + short(second) + " is Synced and Healthy, but 2 of 4 containers do not run the digest Git pins\n"
	for _, pod := range []string{"web-0", "web-1"} {
		want += "  pod older/" + pod + ", container web:\n" +
			"    expected: " + s.org + "/web:v2@" + v2.Digest + " (Git, StatefulSet.apps older/web)\n" +
			"    actual: " + s.org + "/web@" + s.web.AMD64 + " (as the node reports it)\n" +
			"    likely cause: a pod of an older revision is still running: it was made from revision " + old + " of StatefulSet.apps older/web, which is at " + sts.Status.UpdateRevision + "\n"
	}
	if r.code != 1 || normalize(r.stdout) != want {
		t.Errorf("verify: exit %d\nstdout:\n%s\nwant (normalized):\n%s\nstderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	checkProgress(t, r.stderr)
}

// TestSuperseded: while verify waits for one pipeline's commit, a newer
// promote lands and Argo CD moves on to it; verify exits 3.
func TestSuperseded(t *testing.T) {
	needCluster(t)
	s := newScenario(t, "super", true) // the rollout never finishes on its own
	file, first := s.promote(t, "v1")

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := verifyCmd(ctx, t, token, "--app", s.name, "--promote-result", file, "--refresh", "--timeout", verifyTimeout)
	var stdout bytes.Buffer
	stderr := &lineWatcher{want: "Progressing: 0/2 pods ready\n", seen: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stderr.seen:
	case <-time.After(4 * time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("verify never saw the first commit deployed:\n%s", stderr.String())
	}

	if _, err := reg.PushIndex(s.name+"/web", "v2"); err != nil {
		t.Fatal(err)
	}
	_, second := s.promote(t, "v2")
	// A webhook from the config repository tells Argo CD at once.
	if _, err := argo.Refresh(ctx, token, s.name); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("verify: %v, stdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	want := "superseded: super moved on from " + short(first) + " to " + short(second) + "; the newer revision's pipeline verifies it\n"
	if stdout.String() != "" || !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("stdout:\n%s\nstderr:\n%s\nwant it to end:\n%s", stdout.String(), stderr.String(), want)
	}
	checkProgress(t, strings.TrimSuffix(stderr.String(), want))
	kubelet.Hold(s.name, false)
}

// TestTimeout: the rollout never becomes healthy; verify gives up at its
// timeout with the last state it saw, and exits 4.
func TestTimeout(t *testing.T) {
	needCluster(t)
	s := newScenario(t, "hold", true)
	_, commit := s.promote(t, "v1")
	// A webhook from the config repository tells Argo CD at once; let it
	// sync, so that the last state is the rollout's.
	if _, err := argo.Refresh(context.Background(), token, s.name); err != nil {
		t.Fatal(err)
	}
	waitApp(t, s.name, 3*time.Minute, func(a *v1alpha1.Application) bool {
		return a.Status.Sync.Revision == commit && a.Status.Sync.Status == v1alpha1.SyncStatusCodeSynced
	})
	r := verify(t, token, "--app", s.name, "--revision", commit, "--timeout", "20s")
	want := "timed out after 20s: hold did not run " + short(commit) + " Synced and Healthy; last state: Progressing: 0/2 pods ready\n"
	if r.code != 4 || r.stdout != "" || !strings.HasSuffix(r.stderr, want) {
		t.Errorf("verify: exit %d\nstdout:\n%s\nstderr:\n%s\nwant it to end:\n%s", r.code, r.stdout, r.stderr, want)
	}
	kubelet.Hold(s.name, false)
}

// TestBadToken: Argo CD refuses the token; verify names the server and
// says what to do, and exits 2.
func TestBadToken(t *testing.T) {
	needCluster(t)
	r := verify(t, "not-a-token", "--app", "story", "--revision", "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70", "--timeout", "1m")
	want := "Argo CD at " + argo.Server + " rejected the token in ARGOCD_AUTH_TOKEN (invalid session: token contains an invalid number of segments): it is invalid, expired or revoked; generate a new one with `argocd account generate-token`\n"
	if r.code != 2 || r.stdout != "" || r.stderr != want {
		t.Errorf("verify: exit %d\nstdout:\n%s\nstderr:\n%s\nwant:\n%s", r.code, r.stdout, r.stderr, want)
	}
	r = verify(t, token, "--app", "no-such-app", "--revision", "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70", "--timeout", "1m")
	want = "Argo CD at " + argo.Server + " refused reading application \"no-such-app\" (permission denied): the application does not exist, or the token's account lacks the RBAC permission `applications, get` on it\n"
	if r.code != 2 || r.stdout != "" || r.stderr != want {
		t.Errorf("verify: exit %d\nstdout:\n%s\nstderr:\n%s\nwant:\n%s", r.code, r.stdout, r.stderr, want)
	}
}

// lineWatcher collects output and signals once it contains want.
type lineWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	done bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.want) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
