package imagetag

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/kustomize/api/types"
)

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

var (
	referenceMu       sync.Mutex
	referencePatterns = map[string]*regexp.Regexp{}
)

// referenceMatched is kustomize's image.IsImageMatched, but for a cache of
// the patterns it compiles.
func referenceMatched(s, t string) bool {
	referenceMu.Lock()
	pattern, ok := referencePatterns[t]
	if !ok {
		pattern, _ = regexp.Compile("^" + t + "(:[a-zA-Z0-9_.{}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{}-]*)?$")
		referencePatterns[t] = pattern
	}
	referenceMu.Unlock()
	if pattern == nil {
		return false
	}
	return pattern.MatchString(s)
}

// referenceFinal applies the entries as kustomize's chain of transformers
// does, comparing every entry with a compiled pattern each time.
func referenceFinal(images []types.Image, value string, times int) (string, bool) {
	matched := false
	for _, img := range images {
		for range times {
			if referenceMatched(value, img.Name) {
				value = updateImage(img, value)
				matched = true
			}
		}
	}
	return value, matched
}

func checkMatcher(t *testing.T, images []types.Image, values []string) {
	t.Helper()
	m := newImageMatcher(images)
	for _, v := range values {
		var want []int
		for i, img := range images {
			if referenceMatched(v, img.Name) {
				want = append(want, i)
			}
		}
		if got := m.matching(v); !slices.Equal(got, want) {
			t.Fatalf("matching(%q) = %v, want %v (names %q)", v, got, want, names(images))
		}
		for times := 1; times <= 3; times++ {
			got, gotMatched := m.final(v, times)
			want, wantMatched := referenceFinal(images, v, times)
			if got != want || gotMatched != wantMatched {
				t.Fatalf("final(%q, %d) = %q, %t; want %q, %t (images %+v)", v, times, got, gotMatched, want, wantMatched, images)
			}
		}
	}
}

func names(images []types.Image) []string {
	var out []string
	for _, img := range images {
		out = append(out, img.Name)
	}
	return out
}

var nameAtoms = []string{
	"nginx", "ghcr.io/acme/web", "ghcr.io/acme/web-", "docker.io/library/nginx", "localhost:5000/x", "a", "a.b", "x",
	".", ".*", "[", "a|b", "(web)", "ghcr.io/acme/.*", "^nginx", "web$", "é.x", "\n", "a\nb", "{2}", "\\.",
}

var valueAtoms = []string{
	"nginx", "ghcr.io/acme/web", "ghcrXio/acme/web", "docker.io/library/nginx", "localhost:5000/x", "a", "aXb", "a.b", "x",
	":1", "@sha256:" + strings.Repeat("a", 64), ":v1.2@sha256:" + strings.Repeat("b", 64), "-alpine", "/", "é", "\xff", "\n", "@", ":",
	"@sha512:ab", ":{tag}", "web",
}

func randomFrom(r *rand.Rand, atoms []string, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(atoms[r.IntN(len(atoms))])
	}
	return b.String()
}

func randomImages(r *rand.Rand, n int) []types.Image {
	var images []types.Image
	for range n {
		img := types.Image{Name: randomFrom(r, nameAtoms, 1+r.IntN(2))}
		switch r.IntN(6) {
		case 0:
			img.NewName = randomFrom(r, nameAtoms, 1)
		case 1:
			img.NewTag = "v" + fmt.Sprint(r.IntN(3))
		case 2:
			img.Digest = "sha256:" + strings.Repeat(fmt.Sprint(r.IntN(10)), 64)
		case 3:
			img.TagSuffix = "-s"
		case 4:
			img.NewName, img.NewTag, img.Digest = randomFrom(r, nameAtoms, 1), "v9", digestA
		case 5:
			img.NewTag, img.TagSuffix = "v7", "-ignored"
		}
		images = append(images, img)
	}
	return images
}

// TestImageMatcher compares the matcher with kustomize's matching, one
// regexp compiled per comparison, on random names and values.
func TestImageMatcher(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for range 400 {
		images := randomImages(r, 1+r.IntN(8))
		var values []string
		for _, img := range images {
			values = append(values, img.Name, img.Name+":v1", img.Name+"@"+digestA, img.NewName)
		}
		for range 10 {
			values = append(values, randomFrom(r, valueAtoms, 1+r.IntN(4)))
		}
		checkMatcher(t, images, values)
	}
}

func TestSplitAndUpdate(t *testing.T) {
	tests := []struct {
		img         types.Image
		value, want string
	}{
		{types.Image{NewTag: "v2"}, "nginx", "nginx:v2"},
		{types.Image{NewTag: "v2"}, "nginx@" + digestA, "nginx:v2"},
		{types.Image{Digest: digestB}, "nginx:1@" + digestA, "nginx@" + digestB},
		{types.Image{NewName: "x"}, "localhost:5000/a:1", "x:1"},
		{types.Image{NewName: "x"}, "localhost:5000/a", "x"},
		{types.Image{TagSuffix: "-s"}, "a:1@" + digestA, "a:1-s"},
		{types.Image{TagSuffix: "-s"}, "a", "a:-s"},
		{types.Image{NewTag: "t", TagSuffix: "-s"}, "a:1", "a:t"},
		{types.Image{NewTag: "t", Digest: digestA}, "a", "a:t@" + digestA},
		{types.Image{}, "a:1", "a:1"},
		{types.Image{NewName: "b"}, "a@x:y", "b@x:y"},
	}
	for _, tt := range tests {
		if got := updateImage(tt.img, tt.value); got != tt.want {
			t.Errorf("updateImage(%+v, %q) = %q, want %q", tt.img, tt.value, got, tt.want)
		}
	}
}
