package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"github.com/argoproj/gitops-engine/pkg/health"
	synccommon "github.com/argoproj/gitops-engine/pkg/sync/common"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/argocd"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/compare"
	"github.com/digestpin/digestpin/internal/registry"
)

const (
	revA = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
	revB = "4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"
	revC = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
)

var (
	dWeb    = "sha256:" + strings.Repeat("a", 64)
	dOld    = "sha256:" + strings.Repeat("b", 64)
	pinWeb  = "ghcr.io/acme/web:v2@" + dWeb
	oldWeb  = "ghcr.io/acme/web:v1@" + dOld
	webJSON = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"template":{"spec":{"containers":[{"name":"web","image":"` + pinWeb + `"}]}}}}`
	// webV3JSON pins another web image.
	webV3JSON = strings.Replace(webJSON, pinWeb, "ghcr.io/acme/web:v3@sha256:"+strings.Repeat("e", 64), 1)
	svcJSON   = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":80}]}}`
)

// state is what Argo CD says about the Application at one look.
type state struct {
	rev       string
	sync      v1alpha1.SyncStatusCode
	health    health.HealthStatusCode
	auto      bool
	op        synccommon.OperationPhase // "" for no operation state
	history   []string
	condition string // a ComparisonError message
	tree      *v1alpha1.ApplicationTree
}

// fakeArgo answers from a script of states, one per Get (the last one
// repeats), with the manifests, live objects and revision dates it holds.
// It is a stand-in for Argo CD's API server in these unit tests only; the
// e2e suite runs the real one.
type fakeArgo struct {
	mu        sync.Mutex
	states    []state
	gets      int
	refreshes int
	syncs     []string
	manifests map[string][]string
	live      map[string]string // "Kind/ns/name" -> JSON
	dates     map[string]time.Time
	getErr    error
}

func (f *fakeArgo) cur() state {
	i := min(f.gets, len(f.states)-1)
	return f.states[i]
}

func (f *fakeArgo) Get(_ context.Context, app argocd.App, refresh bool) (*v1alpha1.Application, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return nil, f.getErr
	}
	if refresh {
		f.refreshes++
	}
	s := f.cur()
	f.gets++
	a := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{Name: app.Name, Namespace: "argocd"}}
	a.Spec.Destination.Namespace = "shop"
	a.Spec.Source = &v1alpha1.ApplicationSource{RepoURL: "file:///config.git", Path: "apps/shop", TargetRevision: "main"}
	if s.auto {
		a.Spec.SyncPolicy = &v1alpha1.SyncPolicy{Automated: &v1alpha1.SyncPolicyAutomated{}}
	}
	a.Status.Sync = v1alpha1.SyncStatus{Status: s.sync, Revision: s.rev}
	a.Status.Health = v1alpha1.HealthStatus{Status: s.health}
	if s.op != "" {
		a.Status.OperationState = &v1alpha1.OperationState{Phase: s.op, SyncResult: &v1alpha1.SyncOperationResult{Revision: s.rev}}
	}
	for i, h := range s.history {
		a.Status.History = append(a.Status.History, v1alpha1.RevisionHistory{ID: int64(i), Revision: h})
	}
	if s.condition != "" {
		a.Status.Conditions = []v1alpha1.ApplicationCondition{{Type: v1alpha1.ApplicationConditionComparisonError, Message: s.condition}}
	}
	return a, nil
}

func (f *fakeArgo) Sync(_ context.Context, _ argocd.App, revision string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs = append(f.syncs, revision)
	return nil
}

func (f *fakeArgo) Manifests(_ context.Context, _ argocd.App, revision string) ([]string, error) {
	m, ok := f.manifests[revision]
	if !ok {
		return nil, fmt.Errorf("no manifests at %s", revision)
	}
	return m, nil
}

func (f *fakeArgo) Tree(context.Context, argocd.App) (*v1alpha1.ApplicationTree, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.states[min(max(f.gets-1, 0), len(f.states)-1)]
	if s.tree == nil {
		return &v1alpha1.ApplicationTree{}, nil
	}
	return s.tree, nil
}

func (f *fakeArgo) Resource(_ context.Context, _ argocd.App, ref v1alpha1.ResourceRef) (string, error) {
	raw, ok := f.live[ref.Kind+"/"+ref.Namespace+"/"+ref.Name]
	if !ok {
		return "", &argocd.Error{Kind: argocd.NotFound}
	}
	return raw, nil
}

func (f *fakeArgo) RevisionDate(_ context.Context, _ argocd.App, revision string) (time.Time, error) {
	d, ok := f.dates[revision]
	if !ok {
		return time.Time{}, errors.New("unknown revision")
	}
	return d, nil
}

// noRegistry fails every lookup: these tests never need one unless they
// say so.
type noRegistry struct{}

func (noRegistry) Contents(context.Context, string) (registry.Contents, error) {
	return registry.Contents{}, errors.New("the test registry holds nothing")
}

// plainImages answers that every pinned image is a single-platform image
// with an unrelated config.
type plainImages struct{}

func (plainImages) Contents(context.Context, string) (registry.Contents, error) {
	return registry.Contents{Config: "sha256:" + strings.Repeat("c", 64)}, nil
}

// tree is a Deployment with ReplicaSets (name -> revision) and their pods
// (name -> ReplicaSet, health, status reason).
type podNode struct {
	name, rs string
	health   health.HealthStatusCode
	reason   string
}

func tree(deploymentRev int, replicaSets map[string]int, pods ...podNode) *v1alpha1.ApplicationTree {
	t := &v1alpha1.ApplicationTree{Nodes: []v1alpha1.ResourceNode{{
		ResourceRef: v1alpha1.ResourceRef{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"},
		Info:        []v1alpha1.InfoItem{{Name: "Revision", Value: fmt.Sprintf("Rev:%d", deploymentRev)}},
	}}}
	for name, rev := range replicaSets {
		t.Nodes = append(t.Nodes, v1alpha1.ResourceNode{
			ResourceRef: v1alpha1.ResourceRef{Group: "apps", Version: "v1", Kind: "ReplicaSet", Namespace: "shop", Name: name},
			ParentRefs:  []v1alpha1.ResourceRef{{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}},
			Info:        []v1alpha1.InfoItem{{Name: "Revision", Value: fmt.Sprintf("Rev:%d", rev)}},
		})
	}
	for _, p := range pods {
		reason := p.reason
		if reason == "" {
			reason = "Running"
		}
		t.Nodes = append(t.Nodes, v1alpha1.ResourceNode{
			ResourceRef: v1alpha1.ResourceRef{Version: "v1", Kind: "Pod", Namespace: "shop", Name: p.name},
			ParentRefs:  []v1alpha1.ResourceRef{{Group: "apps", Kind: "ReplicaSet", Namespace: "shop", Name: p.rs}},
			Info:        []v1alpha1.InfoItem{{Name: "Status Reason", Value: reason}},
			Health:      &v1alpha1.HealthStatus{Status: p.health},
		})
	}
	return t
}

func livePod(t *testing.T, name, image, imageID string) string {
	t.Helper()
	p := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "web", Image: image, ImageID: imageID, Ready: true}}},
	}
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func verify(t *testing.T, f *fakeArgo, opts Options) (*Result, string, error) {
	t.Helper()
	var progress strings.Builder
	opts.App = argocd.App{Name: "shop"}
	if opts.Revision == "" {
		opts.Revision = revB
	}
	opts.Poll = time.Millisecond
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	opts.Progress = &progress
	if opts.Registry == nil {
		opts.Registry = noRegistry{}
	}
	res, err := Verify(context.Background(), f, opts)
	return res, progress.String(), err
}

func TestWaitsThenVerifies(t *testing.T) {
	healthy := tree(2, map[string]int{"web-2": 2}, podNode{"web-2-a", "web-2", health.HealthStatusHealthy, ""}, podNode{"web-2-b", "web-2", health.HealthStatusHealthy, ""})
	f := &fakeArgo{
		states: []state{
			{rev: revA, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusHealthy, auto: true},
			{rev: revA, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusHealthy, auto: true},
			{rev: revB, sync: v1alpha1.SyncStatusCodeOutOfSync, health: health.HealthStatusHealthy, auto: true},
			{rev: revB, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusProgressing, auto: true, op: synccommon.OperationRunning},
			{rev: revB, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusProgressing, auto: true, op: synccommon.OperationSucceeded,
				tree: tree(2, map[string]int{"web-1": 1, "web-2": 2}, podNode{"web-1-a", "web-1", health.HealthStatusHealthy, ""}, podNode{"web-2-a", "web-2", health.HealthStatusHealthy, ""}, podNode{"web-2-b", "web-2", health.HealthStatusProgressing, ""})},
			{rev: revB, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusHealthy, auto: true, op: synccommon.OperationSucceeded,
				tree: tree(2, map[string]int{"web-1": 1, "web-2": 2}, podNode{"web-1-a", "web-1", health.HealthStatusHealthy, "Terminating"}, podNode{"web-2-a", "web-2", health.HealthStatusHealthy, ""}, podNode{"web-2-b", "web-2", health.HealthStatusHealthy, ""})},
			{rev: revB, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusHealthy, auto: true, op: synccommon.OperationSucceeded, tree: healthy},
		},
		manifests: map[string][]string{revB: {webJSON}},
		live: map[string]string{
			"Pod/shop/web-2-a": livePod(t, "web-2-a", pinWeb, "ghcr.io/acme/web@"+dWeb),
			"Pod/shop/web-2-b": livePod(t, "web-2-b", pinWeb, "docker-pullable://ghcr.io/acme/web@"+dWeb),
		},
		// Argo CD has not fetched revB yet at the first looks.
		dates: map[string]time.Time{revA: time.Unix(100, 0)},
	}
	res, progress, err := verify(t, f, Options{Refresh: true})
	if err != nil {
		t.Fatal(err)
	}
	want := `waiting: Synced at 1a2b3c4, want 4d5e6f7
waiting: OutOfSync at 4d5e6f7, want 4d5e6f7
waiting: Synced at 4d5e6f7 (sync Running)
Progressing: 2/3 pods ready
Healthy: 2/2 pods ready, 1 pod terminating
`
	if progress != want {
		t.Errorf("progress:\n%s\nwant\n%s", progress, want)
	}
	if res.Outcome != Verified || res.Revision != revB || len(res.Rows) != 2 || res.Mismatches() != 0 || res.Sync != "Synced" || res.Health != "Healthy" {
		t.Errorf("result %+v", res)
	}
	if f.refreshes != 1 {
		t.Errorf("%d refreshes, want 1", f.refreshes)
	}
	if len(f.syncs) != 0 {
		t.Errorf("synced without --sync: %v", f.syncs)
	}
}

func TestSyncIsRequestedOnceWithoutAutoSync(t *testing.T) {
	f := &fakeArgo{states: []state{
		{rev: revB, sync: v1alpha1.SyncStatusCodeOutOfSync, health: health.HealthStatusHealthy},
		{rev: revB, sync: v1alpha1.SyncStatusCodeOutOfSync, health: health.HealthStatusHealthy},
		{rev: revB, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusHealthy, tree: tree(1, nil)},
	}, manifests: map[string][]string{revB: {webJSON}}}
	res, progress, err := verify(t, f, Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(f.syncs) != "["+revB+"]" {
		t.Errorf("syncs %v", f.syncs)
	}
	if progress != "waiting: OutOfSync at 4d5e6f7, want 4d5e6f7\nsync requested: 4d5e6f7\nwaiting: OutOfSync at 4d5e6f7, want 4d5e6f7\n" {
		t.Errorf("progress:\n%s", progress)
	}
	if res.Outcome != Verified || len(res.Rows) != 0 {
		t.Errorf("result %+v", res)
	}

	auto := &fakeArgo{states: []state{
		{rev: revB, sync: v1alpha1.SyncStatusCodeOutOfSync, health: health.HealthStatusHealthy, auto: true},
		{rev: revB, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusHealthy, auto: true},
	}, manifests: map[string][]string{revB: {webJSON}}}
	_, progress, err = verify(t, auto, Options{Sync: true})
	if err != nil || len(auto.syncs) != 0 || !strings.Contains(progress, "auto-sync is on: leaving the sync to Argo CD\n") {
		t.Errorf("auto-sync app: syncs %v, err %v, progress:\n%s", auto.syncs, err, progress)
	}
}

func TestDriftFromAnOlderReplicaSet(t *testing.T) {
	f := &fakeArgo{
		states: []state{{rev: revB, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusHealthy,
			tree: tree(2, map[string]int{"web-1": 1, "web-2": 2}, podNode{"web-1-a", "web-1", health.HealthStatusHealthy, ""}, podNode{"web-2-a", "web-2", health.HealthStatusHealthy, ""})}},
		manifests: map[string][]string{revB: {webJSON}},
		live: map[string]string{
			"Pod/shop/web-1-a": livePod(t, "web-1-a", oldWeb, "ghcr.io/acme/web@"+dOld),
			"Pod/shop/web-2-a": livePod(t, "web-2-a", pinWeb, "ghcr.io/acme/web@"+dWeb),
		},
	}
	res, _, err := verify(t, f, Options{Registry: plainImages{}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Drift || res.Mismatches() != 1 {
		t.Fatalf("result %+v", res)
	}
	r := res.Rows[0]
	if r.Pod != "web-1-a" || r.Cause != compare.OlderRevision || r.Detail != "a pod of an older revision is still running: its ReplicaSet shop/web-1 is revision 1 of Deployment.apps shop/web, which is at revision 2" {
		t.Errorf("row %+v", r)
	}
	if r.Workload != "Deployment.apps shop/web" || r.Expected != pinWeb || r.Actual != dOld {
		t.Errorf("row %+v", r)
	}
}

func TestSuperseded(t *testing.T) {
	t.Run("after the revision was deployed", func(t *testing.T) {
		f := &fakeArgo{states: []state{
			{rev: revB, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusProgressing},
			{rev: revC, sync: v1alpha1.SyncStatusCodeOutOfSync, health: health.HealthStatusProgressing, history: []string{revB}},
		}, manifests: map[string][]string{revB: {webJSON}, revC: {webV3JSON}}}
		res, progress, err := verify(t, f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Superseded || res.Current != revC || progress != "Progressing: 0/0 pods ready\n" {
			t.Errorf("result %+v, progress:\n%s", res, progress)
		}
	})
	t.Run("a later commit before Argo CD deployed it", func(t *testing.T) {
		f := &fakeArgo{states: []state{{rev: revC, sync: v1alpha1.SyncStatusCodeOutOfSync, health: health.HealthStatusHealthy}},
			dates:     map[string]time.Time{revB: time.Unix(100, 0), revC: time.Unix(200, 0)},
			manifests: map[string][]string{revB: {webJSON}, revC: {webV3JSON}}}
		res, _, err := verify(t, f, Options{Sync: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Superseded || res.Current != revC {
			t.Errorf("result %+v", res)
		}
		if len(f.syncs) != 0 {
			t.Errorf("synced an older revision over a newer one: %v", f.syncs)
		}
	})
	t.Run("while comparing", func(t *testing.T) {
		f := &fakeArgo{states: []state{
			{rev: revB, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusHealthy},
			{rev: revC, sync: v1alpha1.SyncStatusCodeOutOfSync, health: health.HealthStatusHealthy},
		}, manifests: map[string][]string{revB: {webJSON}, revC: {webV3JSON}}}
		res, _, err := verify(t, f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Superseded || res.Current != revC || res.Rows != nil {
			t.Errorf("result %+v", res)
		}
	})
}

// In a config repository many apps share, another app's commit moves this
// one's revision on without changing what it pins: verify follows it.
func TestALaterCommitPinningTheSameImagesIsFollowed(t *testing.T) {
	f := &fakeArgo{states: []state{
		{rev: revB, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusProgressing},
		{rev: revC, sync: v1alpha1.SyncStatusCodeOutOfSync, health: health.HealthStatusProgressing},
		{rev: revC, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusHealthy},
	}, manifests: map[string][]string{revB: {webJSON}, revC: {svcJSON, webJSON}}}
	res, progress, err := verify(t, f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Verified || res.Revision != revB || res.Current != revC {
		t.Errorf("result %+v", res)
	}
	want := "Progressing: 0/0 pods ready\nfollowing 9f8e7d6: a later commit that pins the same images as 4d5e6f7\nwaiting: OutOfSync at 9f8e7d6, want 9f8e7d6\n"
	if progress != want {
		t.Errorf("progress:\n%s\nwant\n%s", progress, want)
	}
}

func TestAnOlderCommitIsWaitedFor(t *testing.T) {
	f := &fakeArgo{states: []state{{rev: revA, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusHealthy}},
		dates: map[string]time.Time{revA: time.Unix(100, 0), revB: time.Unix(200, 0)}}
	res, progress, err := verify(t, f, Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != TimedOut || res.State != "waiting: Synced at 1a2b3c4, want 4d5e6f7" || progress != "waiting: Synced at 1a2b3c4, want 4d5e6f7\n" {
		t.Errorf("result %+v, progress:\n%s", res, progress)
	}
}

func TestTimeoutKeepsTheRefusal(t *testing.T) {
	refusal := "rpc error: code = Unknown desc = plugin sidecar failed. refusing to render: 1 image is not pinned by a sha256 digest.\n  - Deployment web: image \"ghcr.io/acme/web:v2\"\n\x1b[31mverified\x1b[0m"
	f := &fakeArgo{states: []state{{rev: revB, sync: v1alpha1.SyncStatusCodeUnknown, health: health.HealthStatusHealthy, condition: refusal}}}
	res, progress, err := verify(t, f, Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	wantProgress := `ComparisonError:
    rpc error: code = Unknown desc = plugin sidecar failed. refusing to render: 1 image is not pinned by a sha256 digest.
      - Deployment web: image "ghcr.io/acme/web:v2"
    \x1b[31mverified\x1b[0m
waiting: Unknown at 4d5e6f7, want 4d5e6f7
`
	if progress != wantProgress {
		t.Errorf("progress:\n%s\nwant\n%s", progress, wantProgress)
	}
	if res.Outcome != TimedOut || len(res.Conditions) != 1 || res.Conditions[0].Message != refusal || res.Conditions[0].Type != "ComparisonError" {
		t.Errorf("result %+v", res)
	}
}

func TestArgoCDErrorsEndTheRun(t *testing.T) {
	f := &fakeArgo{getErr: &argocd.Error{Kind: argocd.Unauthenticated, Code: codes.Unauthenticated}}
	if _, _, err := verify(t, f, Options{}); err != f.getErr {
		t.Errorf("err %v", err)
	}
	if _, _, err := verify(t, &fakeArgo{states: []state{{}}}, Options{Revision: "main"}); err == nil || err.Error() != `revision "main" is not a commit SHA (7 to 64 lowercase hex digits)` {
		t.Errorf("err %v", err)
	}
	_ = status.New
}

func TestShortRevisionMatchesArgoCDsFullOne(t *testing.T) {
	f := &fakeArgo{states: []state{{rev: revB, sync: v1alpha1.SyncStatusCodeSynced, health: health.HealthStatusHealthy}},
		manifests: map[string][]string{revB: {webJSON}}}
	res, _, err := verify(t, f, Options{Revision: revB[:7]})
	if err != nil || res.Outcome != Verified || res.Revision != revB {
		t.Errorf("result %+v, err %v", res, err)
	}
}
