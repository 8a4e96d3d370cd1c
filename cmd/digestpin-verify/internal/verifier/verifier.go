// Package verifier waits until Argo CD has deployed a revision and then
// proves, pod by pod, that the cluster runs the digests Git pins at it.
//
// It only ever talks to Argo CD's API (and, for multi-arch images, to the
// registry): the desired manifests are the ones Argo CD renders for exactly
// that revision, and the pods are the live pods of the Application's
// resource tree. Waiting ends in one of four outcomes: verified, drift,
// superseded (the Application moved on to another revision, so a newer
// pipeline owns it) or timed out; errors are left for problems reaching
// Argo CD.
package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/argocd"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/compare"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/desired"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/escape"
)

// API is what verify asks Argo CD. *argocd.Client implements it.
type API interface {
	Get(ctx context.Context, app argocd.App, refresh bool) (*v1alpha1.Application, error)
	Sync(ctx context.Context, app argocd.App, revision string) error
	Manifests(ctx context.Context, app argocd.App, revision string) ([]string, error)
	Tree(ctx context.Context, app argocd.App) (*v1alpha1.ApplicationTree, error)
	Resource(ctx context.Context, app argocd.App, ref v1alpha1.ResourceRef) (string, error)
	RevisionDate(ctx context.Context, app argocd.App, revision string) (time.Time, error)
}

// Options configure Verify.
type Options struct {
	App argocd.App
	// Revision is the Git commit to verify: a full SHA, or an unambiguous
	// prefix of at least 7 hex digits.
	Revision string
	// Timeout bounds the whole run. Default: 10 minutes.
	Timeout time.Duration
	// Refresh asks Argo CD to compare the Application with Git at once.
	Refresh bool
	// Sync asks Argo CD to sync Revision when the Application has no
	// automated sync policy.
	Sync bool
	// Poll is the interval between looks at the Application. Default: 2s.
	Poll time.Duration
	// Progress receives one line per change of state. Default: io.Discard.
	Progress io.Writer
	// Registry is asked about pinned images whose digest a node does not
	// report as such (multi-arch, bare config digests).
	Registry compare.Registry
}

// Outcome is how a run ended.
type Outcome string

const (
	Verified   Outcome = "verified"
	Drift      Outcome = "drift"
	Superseded Outcome = "superseded"
	TimedOut   Outcome = "timeout"
)

// Result is what a run found.
type Result struct {
	Outcome Outcome
	App     string
	// Revision is the revision verified, as Argo CD spells it once seen
	// (the full SHA), otherwise as given.
	Revision string
	// Current is the revision the Application is at now, when it differs.
	Current string
	Sync    string
	Health  string
	// State is the last state seen, in the words of the progress lines.
	State string
	// Conditions are the Application's error and warning conditions, as
	// Argo CD reports them.
	Conditions []Condition
	Rows       []compare.Row
	// Skipped are pods of the Application that were not judged, and why.
	Skipped []string
	Elapsed time.Duration
}

// Condition is one of the Application's conditions.
type Condition struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Mismatches counts the rows that do not match.
func (r *Result) Mismatches() int {
	n := 0
	for _, row := range r.Rows {
		if row.Status == compare.Mismatch {
			n++
		}
	}
	return n
}

var hexRE = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// CheckRevision checks that a revision is a commit SHA or a prefix of one.
func CheckRevision(rev string) error {
	if !hexRE.MatchString(rev) {
		return fmt.Errorf("revision %q is not a commit SHA (7 to 64 lowercase hex digits)", rev)
	}
	return nil
}

// Verify waits for the Application to be Synced and Healthy at the
// revision and compares its pods with Git. It returns an error only when
// Argo CD cannot be asked (unreachable, token refused, no such
// application) or the options are wrong; every other ending is a Result.
func Verify(ctx context.Context, api API, opts Options) (*Result, error) {
	if err := CheckRevision(opts.Revision); err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	v := &verifier{api: api, o: opts, dates: map[string]time.Time{}, shown: map[string]bool{},
		target: opts.Revision, pins: map[string]string{},
		res: &Result{App: opts.App.String(), Revision: opts.Revision}}
	res, err := v.run(ctx)
	if err != nil && ctx.Err() != nil && !errors.Is(err, errUsage) {
		// The deadline, not Argo CD, ended the run.
		v.res.Outcome, err = TimedOut, nil
		res = v.res
	}
	if res != nil {
		res.Elapsed = time.Since(start)
	}
	return res, err
}

var errUsage = errors.New("usage")

type verifier struct {
	api API
	o   Options
	res *Result
	// seen: the Application was at the revision once, so any other
	// revision now is a newer one.
	seen      bool
	synced    bool
	dates     map[string]time.Time
	shown     map[string]bool
	lastLine  string
	refreshed bool
	// target is the revision waited for: the one to verify, or a later
	// one that pins the same images.
	target string
	// pins caches what each revision pins, for comparing revisions.
	pins map[string]string
}

func (v *verifier) matches(rev string) bool {
	return rev != "" && strings.HasPrefix(rev, v.target)
}

func short(rev string) string {
	if len(rev) > 7 {
		return rev[:7]
	}
	return rev
}

// progress prints a state line when it differs from the last one.
func (v *verifier) progress(line string) {
	v.res.State = line
	if line != v.lastLine {
		fmt.Fprintln(v.o.Progress, line)
		v.lastLine = line
	}
}

func (v *verifier) run(ctx context.Context) (*Result, error) {
	first := true
	for {
		app, err := v.api.Get(ctx, v.o.App, v.o.Refresh && !v.refreshed)
		switch {
		case err != nil && first:
			return nil, err
		case err != nil && argocd.IsTransient(err) && ctx.Err() == nil:
			v.progress("waiting: " + err.Error())
		case err != nil:
			return nil, err
		default:
			v.refreshed = true
			done, err := v.step(ctx, app)
			if err != nil || done {
				return v.res, err
			}
		}
		first = false
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(v.o.Poll):
		}
	}
}

// step looks at the Application once; done means v.res holds the outcome.
func (v *verifier) step(ctx context.Context, app *v1alpha1.Application) (done bool, err error) {
	if app.Spec.HasMultipleSources() {
		return false, fmt.Errorf("%w: application %s has several sources; verify supports single-source applications", errUsage, v.res.App)
	}
	st := app.Status
	v.res.Sync, v.res.Health = string(st.Sync.Status), string(st.Health.Status)
	v.conditions(st.Conditions)

	rev := st.Sync.Revision
	if v.matches(rev) {
		v.seen = true
		if v.target == v.o.Revision {
			v.res.Revision = rev
		}
	}
	if op := st.OperationState; op != nil && op.SyncResult != nil && v.matches(op.SyncResult.Revision) {
		v.seen = true
	}
	for _, h := range st.History {
		if v.matches(h.Revision) {
			v.seen = true
		}
	}

	if rev != "" && !v.matches(rev) {
		newer, err := v.newer(ctx, rev)
		if err != nil {
			return false, err
		}
		if newer {
			same, err := v.samePins(ctx, app, rev)
			if err != nil {
				return false, err
			}
			if !same {
				v.res.Outcome, v.res.Current = Superseded, rev
				return true, nil
			}
			// A later commit (another app's, in a shared config
			// repository) that pins the same images: what it runs is
			// what the revision pins.
			v.target, v.res.Current = rev, rev
			v.progress(fmt.Sprintf("following %s: a later commit that pins the same images as %s", short(rev), short(v.o.Revision)))
			return v.step(ctx, app)
		}
		v.progress(fmt.Sprintf("waiting: %s at %s, want %s", orUnknown(st.Sync.Status), short(rev), short(v.target)))
		return false, v.maybeSync(ctx, app)
	}
	if rev == "" {
		v.progress(fmt.Sprintf("waiting: %s, want %s", orUnknown(st.Sync.Status), short(v.target)))
		return false, v.maybeSync(ctx, app)
	}
	if st.Sync.Status != v1alpha1.SyncStatusCodeSynced {
		v.progress(fmt.Sprintf("waiting: %s at %s, want %s%s", orUnknown(st.Sync.Status), short(rev), short(v.target), operation(app)))
		return false, v.maybeSync(ctx, app)
	}
	if op := operation(app); op != "" {
		v.progress(fmt.Sprintf("waiting: Synced at %s%s", short(rev), op))
		return false, nil
	}

	tree, err := v.api.Tree(ctx, v.o.App)
	if err != nil {
		return false, v.transient(err)
	}
	ready, running, terminating := podCounts(tree)
	if st.Health.Status != "Healthy" {
		health := string(st.Health.Status)
		if health == "" {
			health = "Unknown"
		}
		v.progress(fmt.Sprintf("%s: %d/%d pods ready", health, ready, running))
		return false, nil
	}
	if terminating > 0 {
		v.progress(fmt.Sprintf("Healthy: %d/%d pods ready, %s terminating", ready, running, plural(terminating, "pod")))
		return false, nil
	}
	return v.compare(ctx, app, tree)
}

func orUnknown(s v1alpha1.SyncStatusCode) string {
	if s == "" {
		return "Unknown"
	}
	return string(s)
}

// operation describes a sync Argo CD has not finished, "" when none runs.
func operation(app *v1alpha1.Application) string {
	if app.Operation != nil {
		return " (sync requested)"
	}
	if op := app.Status.OperationState; op != nil && !op.Phase.Completed() {
		return fmt.Sprintf(" (sync %s)", op.Phase)
	}
	return ""
}

// transient keeps waiting through a moment of unreachability.
func (v *verifier) transient(err error) error {
	if argocd.IsTransient(err) {
		v.progress("waiting: " + err.Error())
		return nil
	}
	return err
}

// newer decides whether rev, where the Application is now, is newer than
// the revision to verify. Once the Application was at that revision,
// anything else is newer. Before, rev is newer when Git dates it later;
// an Argo CD that has not fetched the revision yet is still catching up.
func (v *verifier) newer(ctx context.Context, rev string) (bool, error) {
	if v.seen {
		return true, nil
	}
	want, err := v.date(ctx, v.o.Revision)
	if err != nil {
		if argocd.IsTransient(err) {
			return false, nil
		}
		// Argo CD cannot read the revision (not fetched yet): wait.
		return false, nil
	}
	now, err := v.date(ctx, rev)
	if err != nil {
		return false, nil
	}
	return now.After(want), nil
}

func (v *verifier) date(ctx context.Context, rev string) (time.Time, error) {
	if d, ok := v.dates[rev]; ok {
		return d, nil
	}
	d, err := v.api.RevisionDate(ctx, v.o.App, rev)
	if err != nil {
		return time.Time{}, err
	}
	v.dates[rev] = d
	return d, nil
}

// samePins reports whether rev pins the same images, container by
// container, as the revision to verify, in the manifests Argo CD renders
// for each.
func (v *verifier) samePins(ctx context.Context, app *v1alpha1.Application, rev string) (bool, error) {
	if rev == "" {
		return false, nil
	}
	a, err := v.pinsAt(ctx, app, v.res.Revision)
	if err != nil {
		return false, v.unrenderable(err)
	}
	b, err := v.pinsAt(ctx, app, rev)
	if err != nil {
		return false, v.unrenderable(err)
	}
	return a == b, nil
}

// unrenderable lets a revision Argo CD cannot render (refused, broken)
// count as pinning something else; other errors stand.
func (v *verifier) unrenderable(err error) error {
	var e *argocd.Error
	if errors.As(err, &e) && (e.Kind == argocd.Failed || e.Kind == argocd.NotFound) {
		return nil
	}
	var unusable *desired.Error
	if errors.As(err, &unusable) {
		return nil
	}
	return v.transient(err)
}

func (v *verifier) pinsAt(ctx context.Context, app *v1alpha1.Application, rev string) (string, error) {
	if p, ok := v.pins[rev]; ok {
		return p, nil
	}
	manifests, err := v.api.Manifests(ctx, v.o.App, rev)
	if err != nil {
		return "", err
	}
	workloads, err := desired.Workloads(manifests, app.Spec.Destination.Namespace)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, w := range desired.Sorted(workloads) {
		for _, c := range w.Containers {
			fmt.Fprintf(&b, "%s\x00%s\x00%v\x00%s\n", w.Key, c.Name, c.Init, c.Image)
		}
	}
	v.pins[rev] = b.String()
	return v.pins[rev], nil
}

// maybeSync asks Argo CD to sync the revision, once, when asked to and the
// Application does not sync by itself.
func (v *verifier) maybeSync(ctx context.Context, app *v1alpha1.Application) error {
	if !v.o.Sync || v.synced {
		return nil
	}
	v.synced = true
	if app.Spec.SyncPolicy != nil && app.Spec.SyncPolicy.Automated != nil {
		v.progress("auto-sync is on: leaving the sync to Argo CD")
		return nil
	}
	if app.Operation != nil || (app.Status.OperationState != nil && !app.Status.OperationState.Phase.Completed()) {
		v.progress("a sync is already running: waiting for it")
		return nil
	}
	if err := v.api.Sync(ctx, v.o.App, v.target); err != nil {
		var e *argocd.Error
		if errors.As(err, &e) && (e.Kind == argocd.Unauthenticated || e.Kind == argocd.Forbidden || e.Kind == argocd.Unreachable) {
			return err
		}
		v.progress("sync not started: " + err.Error())
		return nil
	}
	v.progress("sync requested: " + short(v.target))
	return nil
}

// conditions prints each error or warning condition once.
func (v *verifier) conditions(cs []v1alpha1.ApplicationCondition) {
	v.res.Conditions = v.res.Conditions[:0]
	for _, c := range cs {
		if !c.IsError() && !strings.HasSuffix(c.Type, "Warning") {
			continue
		}
		v.res.Conditions = append(v.res.Conditions, Condition{Type: c.Type, Message: c.Message})
		key := c.Type + "\x00" + c.Message
		if !v.shown[key] {
			v.shown[key] = true
			fmt.Fprintf(v.o.Progress, "%s:\n%s\n", escape.Line(c.Type), escape.Indent(c.Message, "    "))
		}
	}
}

// podCounts counts the tree's pods that run or should: ready ones, all,
// and those being deleted.
func podCounts(tree *v1alpha1.ApplicationTree) (ready, running, terminating int) {
	for _, n := range tree.Nodes {
		if n.Kind != "Pod" || n.Group != "" {
			continue
		}
		switch reason := info(n, "Status Reason"); reason {
		case "Completed", "Succeeded", "Failed", "Error":
			continue
		case "Terminating":
			terminating++
			continue
		}
		running++
		if n.Health != nil && n.Health.Status == "Healthy" {
			ready++
		}
	}
	return ready, running, terminating
}

func info(n v1alpha1.ResourceNode, name string) string {
	for _, i := range n.Info {
		if i.Name == name {
			return i.Value
		}
	}
	return ""
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// compare reads the desired manifests at the revision and the live pods,
// and judges them. The Application is read again afterwards: if it moved
// on meanwhile, the result is superseded rather than a comparison of two
// revisions.
func (v *verifier) compare(ctx context.Context, app *v1alpha1.Application, tree *v1alpha1.ApplicationTree) (bool, error) {
	manifests, err := v.api.Manifests(ctx, v.o.App, v.res.Revision)
	if err != nil {
		return false, v.transient(err)
	}
	workloads, err := desired.Workloads(manifests, app.Spec.Destination.Namespace)
	if err != nil {
		return false, err
	}
	pods, skipped, err := v.pods(ctx, tree, workloads)
	if err != nil {
		return false, v.transient(err)
	}
	rows := compare.Compare(ctx, pods, v.o.Registry)
	if ctx.Err() != nil {
		// Registry reads were cut short: not a verdict.
		return false, ctx.Err()
	}

	after, err := v.api.Get(ctx, v.o.App, false)
	if err != nil {
		return false, v.transient(err)
	}
	if rev := after.Status.Sync.Revision; !v.matches(rev) {
		same, err := v.samePins(ctx, after, rev)
		if err != nil {
			return false, err
		}
		if !same {
			v.res.Outcome, v.res.Current = Superseded, rev
			return true, nil
		}
		v.res.Current = rev
	}
	v.res.Rows, v.res.Skipped = rows, skipped
	v.res.Outcome = Verified
	if v.res.Mismatches() > 0 {
		v.res.Outcome = Drift
	}
	return true, nil
}

type nodeKey struct{ group, kind, namespace, name string }

func keyOf(r v1alpha1.ResourceRef) nodeKey { return nodeKey{r.Group, r.Kind, r.Namespace, r.Name} }

// pods finds the running pods of the Application's workloads, with the
// revision of their workload they belong to.
func (v *verifier) pods(ctx context.Context, tree *v1alpha1.ApplicationTree, workloads map[desired.Key]desired.Workload) ([]compare.Pod, []string, error) {
	nodes := map[nodeKey]v1alpha1.ResourceNode{}
	for _, n := range tree.Nodes {
		nodes[keyOf(n.ResourceRef)] = n
	}
	var podNodes []v1alpha1.ResourceNode
	for _, n := range tree.Nodes {
		if n.Kind == "Pod" && n.Group == "" {
			podNodes = append(podNodes, n)
		}
	}
	sort.Slice(podNodes, func(i, j int) bool {
		return podNodes[i].Namespace+"/"+podNodes[i].Name < podNodes[j].Namespace+"/"+podNodes[j].Name
	})
	var pods []compare.Pod
	var skipped []string
	owners := map[nodeKey]map[string]any{}
	for _, n := range podNodes {
		w, chain, ok := owner(n, nodes, workloads)
		if !ok {
			skipped = append(skipped, fmt.Sprintf("pod %s/%s: not made from a workload in Git", n.Namespace, n.Name))
			continue
		}
		raw, err := v.api.Resource(ctx, v.o.App, n.ResourceRef)
		if err != nil {
			var e *argocd.Error
			if errors.As(err, &e) && e.Kind == argocd.NotFound {
				skipped = append(skipped, fmt.Sprintf("pod %s/%s: deleted while verify read it", n.Namespace, n.Name))
				continue
			}
			return nil, nil, err
		}
		var pod corev1.Pod
		if err := json.Unmarshal([]byte(raw), &pod); err != nil {
			return nil, nil, fmt.Errorf("reading pod %s/%s from Argo CD: %w", n.Namespace, n.Name, err)
		}
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			skipped = append(skipped, fmt.Sprintf("pod %s/%s: %s, not running", n.Namespace, n.Name, pod.Status.Phase))
			continue
		}
		stale, err := v.stale(ctx, &pod, w, chain, nodes, owners)
		if err != nil {
			return nil, nil, err
		}
		pods = append(pods, compare.Pod{Pod: &pod, Workload: w, Stale: stale})
	}
	return pods, skipped, nil
}

// owner walks a pod's owners up the tree to the workload in Git it was
// made from; chain lists the owners on the way, nearest first.
func owner(n v1alpha1.ResourceNode, nodes map[nodeKey]v1alpha1.ResourceNode, workloads map[desired.Key]desired.Workload) (desired.Workload, []v1alpha1.ResourceNode, bool) {
	var chain []v1alpha1.ResourceNode
	cur := n
	for range 8 {
		if len(cur.ParentRefs) == 0 {
			break
		}
		p := cur.ParentRefs[0]
		if w, ok := workloads[desired.Key{Group: p.Group, Kind: p.Kind, Namespace: p.Namespace, Name: p.Name}]; ok {
			if pn, ok := nodes[keyOf(p)]; ok {
				chain = append(chain, pn)
			}
			return w, chain, true
		}
		next, ok := nodes[keyOf(p)]
		if !ok {
			break
		}
		chain = append(chain, next)
		cur = next
	}
	// A bare Pod in Git is its own workload.
	if w, ok := workloads[desired.Key{Group: "", Kind: "Pod", Namespace: n.Namespace, Name: n.Name}]; ok {
		return w, nil, true
	}
	return desired.Workload{}, nil, false
}

// stale says why a pod belongs to an older revision of its workload, ""
// when it belongs to the current one or that cannot be told.
func (v *verifier) stale(ctx context.Context, pod *corev1.Pod, w desired.Workload, chain []v1alpha1.ResourceNode, nodes map[nodeKey]v1alpha1.ResourceNode, owners map[nodeKey]map[string]any) (string, error) {
	if len(chain) == 0 {
		return "", nil
	}
	parent := chain[0]
	top := chain[len(chain)-1]
	switch {
	case parent.Kind == "ReplicaSet" && top.Kind == "Deployment" && len(chain) == 2:
		rs, okRS := revisionNumber(info(parent, "Revision"))
		dep, okDep := revisionNumber(info(top, "Revision"))
		if okRS && okDep && rs < dep {
			return fmt.Sprintf("its ReplicaSet %s/%s is revision %d of %s, which is at revision %d", parent.Namespace, parent.Name, rs, w.Key, dep), nil
		}
	case parent.Kind == "StatefulSet" && len(chain) == 1:
		k := keyOf(parent.ResourceRef)
		obj, ok := owners[k]
		if !ok {
			raw, err := v.api.Resource(ctx, v.o.App, parent.ResourceRef)
			if err != nil {
				return "", err
			}
			if err := json.Unmarshal([]byte(raw), &obj); err != nil {
				return "", fmt.Errorf("reading StatefulSet %s/%s from Argo CD: %w", parent.Namespace, parent.Name, err)
			}
			owners[k] = obj
		}
		st, _ := obj["status"].(map[string]any)
		update, _ := st["updateRevision"].(string)
		if have := pod.Labels["controller-revision-hash"]; update != "" && have != "" && have != update {
			return fmt.Sprintf("it was made from revision %s of %s, which is at %s", have, w.Key, update), nil
		}
	}
	return "", nil
}

// revisionNumber reads Argo CD's "Rev:N" info.
func revisionNumber(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "Rev:"))
	return n, err == nil && strings.HasPrefix(s, "Rev:")
}
