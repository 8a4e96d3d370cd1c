package imagetag

import (
	"testing"

	"sigs.k8s.io/kustomize/api/types"
)

// FuzzImageMatcher compares the matcher with kustomize's matching and
// chaining for arbitrary names and values.
func FuzzImageMatcher(f *testing.F) {
	f.Add("ghcr.io/acme/web", "ghcr.io/acme/web:v1", "v2", "", 1)
	f.Add("a.b", "aXb@sha256:00", "", "-s", 2)
	f.Add(".*", "x", "", "-s", 3)
	f.Add("é.", "éé:1", "", "", 1)
	f.Fuzz(func(t *testing.T, name, value, newTag, suffix string, times int) {
		times = 1 + (times%3+3)%3
		images := []types.Image{
			{Name: name, NewTag: newTag, TagSuffix: suffix},
			{Name: value, NewName: name},
			{Name: name, TagSuffix: suffix},
		}
		m := newImageMatcher(images)
		for _, v := range []string{value, name, value + ":" + newTag, name + suffix} {
			var want []int
			for i, img := range images {
				if referenceMatched(v, img.Name) {
					want = append(want, i)
				}
			}
			got := m.matching(v)
			if len(got) != len(want) {
				t.Fatalf("matching(%q) = %v, want %v", v, got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("matching(%q) = %v, want %v", v, got, want)
				}
			}
			gotV, gotM := m.final(v, times)
			wantV, wantM := referenceFinal(images, v, times)
			if gotV != wantV || gotM != wantM {
				t.Fatalf("final(%q, %d) = %q, %t; want %q, %t", v, times, gotV, gotM, wantV, wantM)
			}
		}
	})
}
