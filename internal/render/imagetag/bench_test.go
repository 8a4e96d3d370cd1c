package imagetag

import (
	"fmt"
	"testing"

	"sigs.k8s.io/kustomize/api/types"
)

// BenchmarkImageMatcher matches and chains 1501 entries (the 500-service
// tree's) over its 2000 references.
func BenchmarkImageMatcher(b *testing.B) {
	var images []types.Image
	var values []string
	for i := range 1501 {
		name := fmt.Sprintf("ghcr.io/acme/svc-%03d", i)
		images = append(images, types.Image{Name: name, NewTag: "v1.4.2", Digest: digestA})
		values = append(values, name+":v1.4.1", name+":v1.4.1")
	}
	b.ReportAllocs()
	for b.Loop() {
		m := newImageMatcher(images)
		for _, v := range values {
			if _, matched := m.final(v, 2); !matched {
				b.Fatal("no match")
			}
		}
	}
}
