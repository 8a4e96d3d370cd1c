package pin

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/promote"
	"github.com/digestpin/digestpin/internal/untrusted"
	"github.com/digestpin/digestpin/internal/yamledit"
)

// run is one attempt: the paths pinned on one fetched head.
type run struct {
	opts Options
	tree *promote.Tree
	res  *resolver
	// edited holds the new content of each file edited, by path.
	edited   map[string][]byte
	failures []Failure
	// wanted holds every distinct image that lacks a digest or is
	// refused, in any target.
	wanted map[string]bool
}

// plan is what one target needs.
type plan struct {
	t      target
	before []use
	// needs are the images to pin, by the image as rendered.
	needs map[string]*need
}

// need is one image a target renders without the digest the policy asks.
type need struct {
	image     string
	name, tag string // as rendered; tag "" for none
	job       *job
	failed    bool
}

func (n *need) pinned() bool { return !n.failed && n.job != nil && n.job.err == nil }

// pinning says what a need is pinned to: the tag and the digest, or ok
// false when it is not pinned.
type pinning func(n *need) (tag, digest string, ok bool)

// resolved pins a need to what the registry answered.
func resolved(n *need) (tag, digest string, ok bool) {
	if !n.pinned() {
		return "", "", false
	}
	return n.job.tag, n.job.digest, true
}

func (r *run) fail(t, image string, err error) {
	r.failures = append(r.failures, Failure{Target: t, Image: image, Err: err})
}

// build finds, resolves, edits and verifies; it returns the change (nil
// when there is nothing to pin) and what it did.
func (r *run) build(ctx context.Context) (*promote.Change, *Result, error) {
	r.edited = map[string][]byte{}
	r.wanted = map[string]bool{}
	ts, err := targets(r.tree, r.opts.Paths)
	if err != nil {
		return nil, nil, err
	}
	var plans []*plan
	var jobs []*job
	started := map[*job]bool{}
	for _, t := range ts {
		if t.kustomization {
			r.speculate(ctx, t)
		}
	}
	for _, t := range ts {
		p, err := r.plan(ctx, t)
		if err != nil {
			r.fail(t.path, "", err)
			continue
		}
		plans = append(plans, p)
		for _, n := range p.needs {
			if n.job != nil && !started[n.job] {
				started[n.job] = true
				jobs = append(jobs, n.job)
			}
		}
	}
	// Resolving waits on the registry; verifying the edit is CPU. Rehearse
	// the edit with stand-in digests while the registry answers.
	waited := make(chan error, 1)
	go func() { waited <- r.res.wait(ctx, jobs) }()
	rehearsed := r.rehearse(plans)
	if err := <-waited; err != nil {
		return nil, nil, err
	}
	result := &Result{Images: len(r.wanted)}
	for _, p := range plans {
		for _, image := range slices.Sorted(maps.Keys(p.needs)) {
			if n := p.needs[image]; !n.failed && n.job.err != nil {
				r.fail(p.t.path, image, n.job.err)
			}
		}
	}
	for _, j := range jobs {
		if j.err == nil && j.choice != nil {
			result.Choices = append(result.Choices, *j.choice)
		}
	}
	slices.SortFunc(result.Choices, func(a, b promote.Choice) int { return strings.Compare(a.Repository, b.Repository) })
	if len(r.failures) > 0 && !r.opts.KeepGoing {
		return nil, nil, &Error{Failures: r.failures, Images: len(r.wanted)}
	}
	result.Failures = r.failures

	for _, p := range plans {
		pins, err := r.edit(p, resolved)
		if err != nil {
			if !r.opts.KeepGoing {
				return nil, nil, &Error{Failures: []Failure{{Target: p.t.path, Err: err}}, Images: len(r.wanted)}
			}
			result.Failures = append(result.Failures, Failure{Target: p.t.path, Err: err})
			continue
		}
		result.Pins = append(result.Pins, pins...)
	}
	if len(r.edited) == 0 {
		return nil, result, nil
	}
	if !rehearsed.stands(r.edited) {
		if err := r.undo(rehearsed); err != nil {
			return nil, nil, err
		}
		if err := r.verify(plans, resolved); err != nil {
			return nil, nil, err
		}
	}
	change := &promote.Change{}
	for _, p := range slices.Sorted(maps.Keys(r.edited)) {
		f, err := r.tree.File(p)
		if err != nil {
			return nil, nil, err
		}
		change.Files = append(change.Files, promote.FileChange{Path: p, Before: f.Data, After: r.edited[p]})
	}
	slices.SortFunc(result.Pins, func(a, b Pinned) int {
		return cmpJoin(strings.Compare(a.File, b.File), strings.Compare(a.Image, b.Image))
	})
	return change, result, nil
}

func cmpJoin(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}

// plan renders t and starts resolving what it needs pinned.
func (r *run) plan(ctx context.Context, t target) (*plan, error) {
	uses, err := r.scan(t)
	if err != nil {
		return nil, err
	}
	p := &plan{t: t, before: uses, needs: map[string]*need{}}
	seen := map[string]bool{}
	for _, u := range uses {
		if seen[u.image] {
			continue
		}
		seen[u.image] = true
		v, err := judge(r.opts.Policy, u.image)
		if v != passes {
			r.wanted[u.image] = true
		}
		switch v {
		case refused:
			r.fail(t.path, u.image, err)
		case unpinned:
			name, tag, _ := imageref.Split(u.image)
			p.needs[u.image] = &need{image: u.image, name: name, tag: tag}
		}
	}
	if t.kustomization {
		r.oneTagPerName(p)
	}
	for _, image := range slices.Sorted(maps.Keys(p.needs)) {
		if n := p.needs[image]; !n.failed {
			n.job = r.res.get(ctx, n.name, n.tag)
		}
	}
	return p, nil
}

// oneTagPerName fails the images of a name a kustomization renders with
// several tags: its one images: entry for the name cannot pin them all,
// unless a rule picks one tag for them.
func (r *run) oneTagPerName(p *plan) {
	tags := map[string][]string{}
	for _, n := range p.needs {
		if _, byRule := r.res.rules.For(n.name); !byRule && !slices.Contains(tags[n.name], n.tag) {
			tags[n.name] = append(tags[n.name], n.tag)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tags)) {
		if len(tags[name]) < 2 {
			continue
		}
		shown := slices.Sorted(slices.Values(tags[name]))
		for i, t := range shown {
			if t == "" {
				shown[i] = "(none)"
			}
		}
		err := fmt.Errorf("%s renders %s with tags %s, and its one images: entry for the name cannot pin them all; pin them where the tags are set (name those kustomizations as paths), or pick the tag with a rule", p.t.path, untrusted.Text(name), untrusted.Text(strings.Join(shown, ", ")))
		for _, image := range slices.Sorted(maps.Keys(p.needs)) {
			if n := p.needs[image]; n.name == name {
				n.failed = true
				r.fail(p.t.path, image, err)
			}
		}
	}
}

// edit records the digests pin gives in the target's own file.
func (r *run) edit(p *plan, pin pinning) ([]Pinned, error) {
	var pins []Pinned
	for _, image := range slices.Sorted(maps.Keys(p.needs)) {
		if tag, digest, ok := pin(p.needs[image]); ok {
			pins = append(pins, Pinned{Image: image, Name: p.needs[image].name, Tag: tag, Digest: digest, File: p.t.file.Path, Target: p.t.path})
		}
	}
	if len(pins) == 0 {
		return nil, nil
	}
	var out []byte
	var err error
	if p.t.kustomization {
		var entries []yamledit.ImagePin
		for _, pin := range pins {
			if !slices.ContainsFunc(entries, func(e yamledit.ImagePin) bool { return e.Name == pin.Name }) {
				entries = append(entries, yamledit.ImagePin{Name: pin.Name, Tag: pin.Tag, Digest: pin.Digest})
			}
		}
		out, _, err = yamledit.SetKustomizationImages(p.t.file.Data, entries...)
	} else {
		refs := map[string]string{}
		for _, pin := range pins {
			refs[pin.Image] = pin.Reference()
		}
		out, _, err = yamledit.PinImages(p.t.file.Data, r.opts.Policy.ImageFields, refs)
	}
	if err != nil {
		return nil, fmt.Errorf("editing %s: %w", p.t.file.Path, err)
	}
	r.edited[p.t.file.Path] = out
	if err := r.tree.Write(p.t.file.Path, out); err != nil {
		return nil, err
	}
	return pins, nil
}

// verify renders every target again: each image pinned now shows exactly
// the tag and digest pin gave it, and every other image is as it was.
func (r *run) verify(plans []*plan, pin pinning) error {
	var problems []string
	for _, p := range plans {
		after, err := r.scan(p.t)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", untrusted.Text(p.t.path), err))
			continue
		}
		byKey := map[string]use{}
		for _, u := range after {
			byKey[u.key] = u
		}
		if len(after) != len(p.before) {
			problems = append(problems, fmt.Sprintf("%s renders %d image fields, %d before the edit", untrusted.Text(p.t.path), len(after), len(p.before)))
			continue
		}
		for _, b := range p.before {
			a, ok := byKey[b.key]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: %s no longer renders", untrusted.Text(p.t.path), b.where))
				continue
			}
			var tag, digest string
			n, pinned := p.needs[b.image]
			if pinned {
				tag, digest, pinned = pin(n)
			}
			if !pinned {
				if a.image != b.image {
					problems = append(problems, fmt.Sprintf("%s: %s would change from %s to %s, which pin must not touch; an images: entry added for another image reaches it, so pin that image where it is set", untrusted.Text(p.t.path), b.where, untrusted.Text(b.image), untrusted.Text(a.image)))
				}
				continue
			}
			want := n.name + ":" + tag + "@" + digest
			if got, err := imageref.Parse(a.image); err != nil || got.Tag != tag || got.Digest != digest {
				problems = append(problems, fmt.Sprintf("%s: %s renders %s after the edit, not %s; is the image set later by another kustomization, or in a field its images: does not reach?", untrusted.Text(p.t.path), b.where, untrusted.Text(a.image), want))
			}
		}
	}
	if len(problems) > 0 {
		return &VerifyError{Problems: problems}
	}
	return nil
}
