package imageref

import (
	"math/rand/v2"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/filters/imagetag"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// kustomizeWrites is what kustomize's own images: filter writes over an
// image field holding value, for an entry whose name matches any value.
func kustomizeWrites(t testing.TB, img types.Image, value string) string {
	t.Helper()
	img.Name = "(?s:.*)"
	field := &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: value}
	obj := yaml.NewRNode(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: "image"}, field,
	}})
	f := imagetag.Filter{ImageTag: img, FsSlice: types.FsSlice{{Path: "image"}}}
	if _, err := f.Filter([]*yaml.RNode{obj}); err != nil {
		t.Fatalf("kustomize's images filter on %q: %v", value, err)
	}
	got, err := obj.Pipe(yaml.Lookup("image"))
	if err != nil || got == nil {
		t.Fatalf("kustomize's images filter on %q left no image field (%v)", value, err)
	}
	return got.YNode().Value
}

// kustomizeSplit recovers the three results of kustomize's image.Split
// (an internal package, so out of reach) from what its images: filter
// writes: with newTag "T" it writes name+":T"; with newName "N" alone it
// writes "N", then ":"+tag when the tag is not empty, then "@"+digest when
// the digest is not empty. A tag never holds '@'.
func kustomizeSplit(t testing.TB, value string) (name, tag, digest string) {
	t.Helper()
	withTag := kustomizeWrites(t, types.Image{NewTag: "T"}, value)
	name, ok := strings.CutSuffix(withTag, ":T")
	if !ok {
		t.Fatalf("kustomize wrote %q for %q with newTag T", withTag, value)
	}
	renamed := kustomizeWrites(t, types.Image{NewName: "N"}, value)
	rest, ok := strings.CutPrefix(renamed, "N")
	if !ok {
		t.Fatalf("kustomize wrote %q for %q with newName N", renamed, value)
	}
	if after, ok := strings.CutPrefix(rest, ":"); ok {
		tag, digest, _ = strings.Cut(after, "@")
		return name, tag, digest
	}
	if after, ok := strings.CutPrefix(rest, "@"); ok {
		return name, "", after
	}
	if rest != "" {
		t.Fatalf("kustomize wrote %q for %q with newName N", renamed, value)
	}
	return name, "", ""
}

// dockerSplit is the runtime's reading, written plainly as the oracle for
// SplitDocker.
func dockerSplit(ref string) (name, tag, digest string) {
	name, digest, _ = strings.Cut(ref, "@")
	if colon := strings.LastIndexByte(name, ':'); colon > strings.LastIndexByte(name, '/') {
		return name[:colon], name[colon+1:], digest
	}
	return name, "", digest
}

var splitCases = []struct {
	ref                 string
	name, tag, digest   string
	dName, dTag, dDigst string
}{
	{"nginx", "nginx", "", "", "nginx", "", ""},
	{"nginx:1.27", "nginx", "1.27", "", "nginx", "1.27", ""},
	{"ghcr.io/acme/app:v1@sha256:" + hex64, "ghcr.io/acme/app", "v1", "sha256:" + hex64, "ghcr.io/acme/app", "v1", "sha256:" + hex64},
	{"localhost:5000/app", "localhost:5000/app", "", "", "localhost:5000/app", "", ""},
	{"localhost:5000/app:1@sha256:" + hex64, "localhost:5000/app", "1", "sha256:" + hex64, "localhost:5000/app", "1", "sha256:" + hex64},
	{"localhost:5000", "localhost", "5000", "", "localhost", "5000", ""},
	{"a@x:y", "a", "", "x:y", "a", "", "x:y"},
	{"a/b:c:d", "a/b", "c:d", "", "a/b:c", "d", ""},
	{"a/b:c/d:e", "a/b", "c/d:e", "", "a/b:c/d", "e", ""},
	{"a/b:c/d", "a/b", "c/d", "", "a/b:c/d", "", ""},
	{"a@b/c:d", "a@b/c", "d", "", "a", "", "b/c:d"},
	{"/a:b", "/a", "b", "", "/a", "b", ""},
	{"a:", "a", "", "", "a", "", ""},
	{"a:@", "a", "", "", "a", "", ""},
	{"", "", "", "", "", "", ""},
}

func TestSplit(t *testing.T) {
	for _, c := range splitCases {
		if n, tg, d := Split(c.ref); n != c.name || tg != c.tag || d != c.digest {
			t.Errorf("Split(%q) = %q, %q, %q; want %q, %q, %q", c.ref, n, tg, d, c.name, c.tag, c.digest)
		}
		if n, tg, d := SplitDocker(c.ref); n != c.dName || tg != c.dTag || d != c.dDigst {
			t.Errorf("SplitDocker(%q) = %q, %q, %q; want %q, %q, %q", c.ref, n, tg, d, c.dName, c.dTag, c.dDigst)
		}
	}
}

func checkSplit(t testing.TB, ref string) {
	t.Helper()
	gn, gt, gd := Split(ref)
	wn, wt, wd := kustomizeSplit(t, ref)
	if gn != wn || gt != wt || gd != wd {
		t.Fatalf("Split(%q) = %q, %q, %q; kustomize splits %q, %q, %q", ref, gn, gt, gd, wn, wt, wd)
	}
	gn, gt, gd = SplitDocker(ref)
	wn, wt, wd = dockerSplit(ref)
	if gn != wn || gt != wt || gd != wd {
		t.Fatalf("SplitDocker(%q) = %q, %q, %q; want %q, %q, %q", ref, gn, gt, gd, wn, wt, wd)
	}
}

var splitAtoms = []string{"a", "nginx", "ghcr.io", "localhost", "/", "//", ":", "@", ":5000", ":v1", "@sha256:" + hex64, "é", "\xff", "\n", ".", "-", "{x}", " "}

// TestSplitMatchesKustomize compares Split with kustomize's image.Split on
// the table above and on random references built from separators and
// ordinary parts, and SplitDocker with the runtime's reading.
func TestSplitMatchesKustomize(t *testing.T) {
	for _, c := range splitCases {
		checkSplit(t, c.ref)
	}
	r := rand.New(rand.NewPCG(9, 9))
	for range 3000 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteString(splitAtoms[r.IntN(len(splitAtoms))])
		}
		checkSplit(t, b.String())
	}
}

// FuzzSplit holds Split equal to kustomize's image.Split, and SplitDocker
// to the runtime's reading, on arbitrary text.
func FuzzSplit(f *testing.F) {
	for _, c := range splitCases {
		f.Add(c.ref)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		checkSplit(t, ref)
	})
}
