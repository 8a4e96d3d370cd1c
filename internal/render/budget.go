package render

import (
	"errors"
	"fmt"
	"unicode"

	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"

	"github.com/digestpin/digestpin/internal/repofs"
)

// total is what a kustomization's render reads and makes, what it includes
// counted as often as it is included: kustomize loads an included
// kustomization afresh every time, so a base that two overlays include is
// read, and its objects made, twice. The walk computes it once per
// kustomization, so that a tree whose includes multiply (a base included
// twice by each of twenty levels of overlays) is counted in time linear in
// its files, and refused before kustomize starts on it.
type total struct {
	documents, objects, kustomizations, nodes int
	bytes                                     int64
}

// add adds what an included part counts; its objects only when they are
// the render's (not a transformer's configuration).
func (t *total) add(sub total, objects bool) {
	t.documents = saturatingAdd(t.documents, sub.documents)
	t.kustomizations = saturatingAdd(t.kustomizations, sub.kustomizations)
	t.nodes = saturatingAdd(t.nodes, sub.nodes)
	if objects {
		t.objects = saturatingAdd(t.objects, sub.objects)
	}
	if t.bytes > (1<<62)-sub.bytes {
		t.bytes = 1 << 62
	} else {
		t.bytes += sub.bytes
	}
}

func saturatingAdd(a, b int) int {
	if a > (1<<62)-b {
		return 1 << 62
	}
	return a + b
}

// count adds the file at path to sum: its bytes and documents, and its
// objects when it is a resource. A file that is not there is left to
// kustomize, which reports it. A file that cannot be read within the
// limits is refused.
func (w *walker) count(sum *total, path string, resource bool) error {
	if !w.fs.Present(path) {
		return nil
	}
	m, err := w.fs.Measure(path)
	if err != nil {
		if refused(err) {
			return err
		}
		return nil // a directory, or unreadable: kustomize reports it
	}
	part := total{documents: m.Documents, nodes: m.Nodes, bytes: m.Bytes}
	if resource {
		part.objects = m.Objects
	}
	sum.add(part, true)
	w.distinct.add(part, true)
	return w.admit(w.distinct)
}

// admit refuses a render that counts more than the limits allow.
func (w *walker) admit(t total) error {
	l := w.fs.Limits()
	var what string
	switch {
	case t.objects > l.MaxObjects:
		what = fmt.Sprintf("make more than %d objects", l.MaxObjects)
	case t.documents > l.MaxDocuments:
		what = fmt.Sprintf("read more than %d YAML documents", l.MaxDocuments)
	case t.nodes > l.MaxNodes:
		what = fmt.Sprintf("read more than %d YAML nodes", l.MaxNodes)
	case t.kustomizations > l.MaxKustomizations:
		what = fmt.Sprintf("load more than %d kustomizations", l.MaxKustomizations)
	case t.bytes > l.MaxTotalBytes:
		what = fmt.Sprintf("read more than %d bytes of input", l.MaxTotalBytes)
	default:
		return nil
	}
	return fmt.Errorf("the render would %s, counting what is included in several places once for each; split the app: %w", what, repofs.ErrInputTooLarge)
}

// refused says whether err is a refusal of the repository's content (a
// limit, a file that is not a regular file, a path that leads out or
// loops), rather than a file that is not there.
func refused(err error) bool {
	return errors.Is(err, repofs.ErrInputTooLarge) || errors.Is(err, repofs.ErrNotRegular) ||
		errors.Is(err, repofs.ErrOutsideRoot) || errors.Is(err, repofs.ErrSymlinkLoop) || errors.Is(err, ErrUnsafe)
}

// hasControl says whether s holds a control character. No path kustomize
// should read holds one, and one in a path hides what the path is: a line
// break made kustomize take an entry for a git URL that the check for
// remote entries, reading it as inline content, let through.
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

var resmapFactory = resmap.NewFactory(provider.NewDefaultDepProvider().GetResourceFactory())

// isInlinePlugin says whether kustomize takes a generators, transformers
// or validators entry for inline configuration rather than a path: it
// does when the entry parses as resources (api/internal/target/kusttarget.go,
// configureExternalGenerators and configureExternalTransformers).
func isInlinePlugin(entry string) bool {
	_, err := resmapFactory.NewResMapFromBytes([]byte(entry))
	return err == nil
}

// isInlinePatch says whether kustomize takes a patchesStrategicMerge entry
// for the patch itself rather than a path: it does when the entry parses
// as resources (api/internal/builtins/PatchStrategicMergeTransformer.go,
// loadFromPaths).
func isInlinePatch(entry string) bool {
	_, err := resmapFactory.RF().SliceFromBytes([]byte(entry))
	return err == nil
}
