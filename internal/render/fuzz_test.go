package render

import (
	"testing"

	"github.com/digestpin/digestpin/internal/testutil"
)

// FuzzImages generates a tree from the fuzzer's bytes, as
// TestImagesDifferential does from random numbers (bases, overlays,
// components, patches, prefixes, namespaces, generators, configurations
// field specs, replacements, vars, build metadata, parameters, and images:
// entries with newName, newTag, digest and tagSuffix, some with names and
// references taken from the input), renders it with the images fast path
// and with kustomize alone, and requires the same bytes or the same error.
// CI runs it briefly (see the Makefile).
func FuzzImages(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add([]byte("ghcr.io/acme/web:v1@sha256:aa nginx|busybox .* [ x"))
	f.Add([]byte{3, 1, 0, 0, 2, 4, 1, 5, 0, 0, 0, 3, 2, 1, 7, 7, 7, 1, 0, 4, 2, 9, 9, 9, 1, 1, 1})
	f.Add([]byte{2, 2, 1, 3, 5, 0, 8, 4, 4, 0, 1, 6, 6, 2, 0, 0, 11, 3, 3, 5, 5, 0, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{c: &byteChooser{data: data}}
		dir := g.tree()
		root := testutil.WriteTree(t, g.files)
		if _, _, problem := bothWays(Options{Root: root, Dir: dir, Overrides: Overrides{Images: g.params}}); problem != "" {
			t.Fatalf("%s\ntree:\n%s", problem, dumpTree(g.files))
		}
	})
}
