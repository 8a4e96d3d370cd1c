package pin

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// A rehearsal is the edit made, and verified by rendering, with stand-in
// digests while the registry resolves the real ones. Verifying takes a
// second render of every target, which is CPU; resolving waits on the
// network. Done one after the other, they add up; rehearsed, the second
// render runs while the registry answers.
//
// Why the rehearsal may stand for verifying the real edit: a render never
// reads a digest. kustomize, and the imagetag fast path held equal to it,
// only copy the string from an images: entry into the image fields it
// reaches; a manifest's image line is the string itself. So the render of
// the real edit is the render of the rehearsed one with each stand-in
// replaced by its digest, provided the edited files are equal under that
// replacement, which stands checks byte for byte. The stand-ins are random,
// so no file can already hold one: an image that renders unchanged with
// stand-ins renders unchanged with the real digests, and an image that
// shows its stand-in shows its digest.
//
// A rehearsal that finds a problem is not trusted either way: the real edit
// is verified after all, which also gives the messages their real digests.
// Neither is one whose images did not all resolve (KeepGoing), nor one
// where a rule picks a tag, which is known only once resolved.
type rehearsal struct {
	// standIns holds each job's stand-in digest.
	standIns map[*job]string
	// edited holds the rehearsed content of each file edited, by path.
	edited map[string][]byte
	// verified is set when the rehearsed edit verified.
	verified bool
}

// rehearse edits the tree with stand-in digests and verifies the edit. It
// returns nil when there is nothing it can rehearse. It leaves the
// rehearsed files in the tree, and r.edited empty.
func (r *run) rehearse(plans []*plan) *rehearsal {
	if len(r.failures) > 0 && !r.opts.KeepGoing {
		return nil // nothing will be written
	}
	rh := &rehearsal{standIns: map[*job]string{}}
	for _, p := range plans {
		for _, n := range p.needs {
			if n.failed || n.job == nil {
				continue
			}
			if n.job.byRule {
				return nil
			}
			if _, ok := rh.standIns[n.job]; !ok {
				rh.standIns[n.job] = standIn()
			}
		}
	}
	if len(rh.standIns) == 0 {
		return nil
	}
	pin := func(n *need) (tag, digest string, ok bool) {
		if n.failed || n.job == nil {
			return "", "", false
		}
		return n.job.tag, rh.standIns[n.job], true
	}
	rh.verified = true
	for _, p := range plans {
		if _, err := r.edit(p, pin); err != nil {
			rh.verified = false
		}
	}
	if rh.verified {
		rh.verified = r.verify(plans, pin) == nil
	}
	rh.edited, r.edited = r.edited, map[string][]byte{}
	return rh
}

// stands reports whether the rehearsal verified the real edit: it verified,
// every image resolved, and the files edited are the rehearsed ones with
// each stand-in replaced by its digest.
func (rh *rehearsal) stands(edited map[string][]byte) bool {
	if rh == nil || !rh.verified || len(edited) != len(rh.edited) {
		return false
	}
	var pairs []string
	for j, standIn := range rh.standIns {
		if j.err != nil {
			return false
		}
		pairs = append(pairs, standIn, j.digest)
	}
	real := strings.NewReplacer(pairs...)
	for p, data := range rh.edited {
		got, ok := edited[p]
		if !ok || real.Replace(string(data)) != string(got) {
			return false
		}
	}
	return true
}

// undo puts back, as committed, each file the rehearsal edited that the
// real edit did not, so that verifying the real edit renders the tree it
// will commit.
func (r *run) undo(rh *rehearsal) error {
	if rh == nil {
		return nil
	}
	for p := range rh.edited {
		if _, ok := r.edited[p]; ok {
			continue
		}
		f, err := r.tree.File(p)
		if err != nil {
			return err
		}
		if err := r.tree.Write(p, f.Data); err != nil {
			return err
		}
	}
	return nil
}

// standIn is a random sha256 digest: no repository holds it.
func standIn() string {
	var sum [32]byte
	rand.Read(sum[:]) // never fails: the runtime stops first
	return "sha256:" + hex.EncodeToString(sum[:])
}
