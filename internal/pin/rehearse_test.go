package pin

import (
	"errors"
	"regexp"
	"testing"
)

func TestStandIn(t *testing.T) {
	a, b := standIn(), standIn()
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(a) {
		t.Errorf("standIn() = %q, not a sha256 digest", a)
	}
	if a == b {
		t.Errorf("two stand-ins are both %q", a)
	}
}

// stands trusts a rehearsal only for the very edit it rehearsed.
func TestRehearsalStands(t *testing.T) {
	const (
		s1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
		s2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
		d  = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	)
	rehearsed := func() *rehearsal {
		// Two jobs whose images turn out to be the same bytes: one digest.
		return &rehearsal{
			standIns: map[*job]string{{key: "a:v1", digest: d}: s1, {key: "b:v1", digest: d}: s2},
			edited: map[string][]byte{
				"k/kustomization.yaml": []byte("images:\n- name: a\n  newTag: v1\n  digest: " + s1 + "\n- name: b\n  newTag: v1\n  digest: " + s2 + "\n"),
				"m/pod.yaml":           []byte("image: b:v1@" + s2 + "\n"),
			},
			verified: true,
		}
	}
	real := func() map[string][]byte {
		return map[string][]byte{
			"k/kustomization.yaml": []byte("images:\n- name: a\n  newTag: v1\n  digest: " + d + "\n- name: b\n  newTag: v1\n  digest: " + d + "\n"),
			"m/pod.yaml":           []byte("image: b:v1@" + d + "\n"),
		}
	}
	if !rehearsed().stands(real()) {
		t.Error("the rehearsal of this very edit does not stand")
	}
	tests := map[string]func(*rehearsal, map[string][]byte) *rehearsal{
		"no rehearsal": func(*rehearsal, map[string][]byte) *rehearsal { return nil },
		"found a problem": func(rh *rehearsal, _ map[string][]byte) *rehearsal {
			rh.verified = false
			return rh
		},
		"an image failed": func(rh *rehearsal, _ map[string][]byte) *rehearsal {
			for j := range rh.standIns {
				if j.key == "b:v1" {
					j.err = errors.New("boom")
				}
			}
			return rh
		},
		"one file less": func(rh *rehearsal, edited map[string][]byte) *rehearsal {
			delete(edited, "m/pod.yaml")
			return rh
		},
		"another file": func(rh *rehearsal, edited map[string][]byte) *rehearsal {
			edited["n/pod.yaml"] = edited["m/pod.yaml"]
			delete(edited, "m/pod.yaml")
			return rh
		},
		"another byte": func(rh *rehearsal, edited map[string][]byte) *rehearsal {
			edited["m/pod.yaml"] = []byte("image: b:v2@" + d + "\n")
			return rh
		},
		"another digest": func(rh *rehearsal, edited map[string][]byte) *rehearsal {
			edited["m/pod.yaml"] = []byte("image: b:v1@" + s2 + "\n")
			return rh
		},
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			edited := real()
			if change(rehearsed(), edited).stands(edited) {
				t.Error("the rehearsal stands for an edit it did not rehearse")
			}
		})
	}
}
