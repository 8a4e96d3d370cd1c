package repofs

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Limits bound what one render may read and make. kustomize expands YAML
// aliases without limit (a 434-byte file can drive it past 12 GB), so
// every file is measured here, without expanding anything, before
// kustomize parses it. Its work grows faster than its input (adding an
// object compares it with every object added before, so 10,000 tiny
// ConfigMaps in 430 KB take minutes), so the documents, objects and
// kustomizations of a render are counted too, before kustomize runs.
type Limits struct {
	// MaxFileBytes caps one file. Default 8 MiB.
	MaxFileBytes int64
	// MaxTotalBytes caps all files one render reads. Default 64 MiB.
	MaxTotalBytes int64
	// MaxAliasNodes caps how many nodes YAML aliases may add to one file
	// once expanded. Default 100,000: far beyond what anchors in real
	// manifests add, far below what an alias bomb needs.
	MaxAliasNodes int
	// MaxDepth caps the nesting of one YAML document, aliases expanded.
	// Default 256; deep CRD schemas stay well under 100.
	MaxDepth int
	// MaxDocuments caps the YAML documents one render reads, counting
	// empty ones, an empty file as one, and a file as often as it is read.
	// It also caps one file. Default 20,000: the largest real apps read a
	// few thousand; 64 MiB of empty documents would be 16 million.
	MaxDocuments int
	// MaxObjects caps the objects one render makes: every document of a
	// resource file that holds an object (a List counting as its items)
	// and every generated ConfigMap and Secret, counted once for every
	// place that includes it. Default 5,000: the largest real apps render
	// about 2,000.
	MaxObjects int
	// MaxKustomizations caps the kustomizations one render loads, counting
	// a kustomization as often as it is included. Default 5,000: a
	// 500-service app loads 501.
	MaxKustomizations int
	// MaxNodes caps the YAML nodes (keys, values, list items; aliases
	// expanded) one render reads, counting a file as often as it is read.
	// kustomize holds several hundred bytes per node. Default 400,000: a
	// 500-service app reads 93,000, a large bundle of CRDs about 250,000;
	// a million take kustomize past 512 MiB.
	MaxNodes int
	// MaxMapEntries caps the entries of one YAML mapping, merge keys
	// expanded: kustomize's work on a mapping grows with the square of its
	// entries (40,000 keys in one ConfigMap take it 14 s). Default 10,000.
	MaxMapEntries int
}

// DefaultLimits are the limits generate and check run with.
func DefaultLimits() Limits {
	return Limits{
		MaxFileBytes: 8 << 20, MaxTotalBytes: 64 << 20, MaxAliasNodes: 100_000, MaxDepth: 256,
		MaxDocuments: 20_000, MaxObjects: 5_000, MaxKustomizations: 5_000,
		MaxNodes: 400_000, MaxMapEntries: 10_000,
	}
}

// withDefaults fills the limits left zero with the defaults', so that a
// caller that sets some limits does not lift the others.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	for _, f := range []struct {
		v   *int64
		def int64
	}{{&l.MaxFileBytes, d.MaxFileBytes}, {&l.MaxTotalBytes, d.MaxTotalBytes}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	for _, f := range []struct {
		v   *int
		def int
	}{{&l.MaxAliasNodes, d.MaxAliasNodes}, {&l.MaxDepth, d.MaxDepth}, {&l.MaxDocuments, d.MaxDocuments}, {&l.MaxObjects, d.MaxObjects}, {&l.MaxKustomizations, d.MaxKustomizations},
		{&l.MaxNodes, d.MaxNodes}, {&l.MaxMapEntries, d.MaxMapEntries}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	return l
}

// ErrInputTooLarge is wrapped by every limit error.
var ErrInputTooLarge = errors.New("input exceeds the render limits")

// Check measures one file's bytes against the limits, as a render does
// before kustomize parses anything: for YAML read outside a render.
func (l Limits) Check(name string, data []byte) error {
	l = l.withDefaults()
	b := newBudget(l)
	if err := b.admitSize(name, int64(len(data))); err != nil {
		return err
	}
	m, err := l.measureYAML(name, data)
	if err != nil {
		return err
	}
	if m.Objects > l.MaxObjects {
		return fmt.Errorf("%q holds more than %d objects: %w", name, l.MaxObjects, ErrInputTooLarge)
	}
	return nil
}

type budget struct {
	limits Limits
	mu     sync.Mutex
	read   int64
}

func newBudget(l Limits) *budget { return &budget{limits: l.withDefaults()} }

func (b *budget) admitSize(name string, size int64) error {
	if size > b.limits.MaxFileBytes {
		return fmt.Errorf("%q is %d bytes, more than the %d allowed: %w", name, size, b.limits.MaxFileBytes, ErrInputTooLarge)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.read+size > b.limits.MaxTotalBytes {
		return fmt.Errorf("reading %q would take the render past %d bytes of input: %w", name, b.limits.MaxTotalBytes, ErrInputTooLarge)
	}
	b.read += size
	return nil
}

// measureYAML measures every document of data as YAML and counts its
// documents and objects. Content that is not YAML (a properties file for a
// generator, say) is left to kustomize, which parses it no further than
// this parser did.
func (l Limits) measureYAML(name string, data []byte) (Measure, error) {
	m := Measure{Bytes: int64(len(data))}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			// io.EOF ends the stream; a syntax error stops kustomize's
			// parser at the same place, before anything is expanded.
			break
		}
		if m.Documents++; m.Documents > l.MaxDocuments {
			return Measure{}, fmt.Errorf("%q holds more than %d YAML documents: %w", name, l.MaxDocuments, ErrInputTooLarge)
		}
		ms := measurer{sizes: map[*yaml.Node]shape{}, maxEntries: l.MaxMapEntries}
		s, err := ms.measure(&doc)
		if err != nil {
			return Measure{}, fmt.Errorf("%q: %w: %w", name, err, ErrInputTooLarge)
		}
		if s.nodes-s.plain > l.MaxAliasNodes {
			return Measure{}, fmt.Errorf("%q: YAML aliases expand to more than %d nodes: %w", name, l.MaxAliasNodes, ErrInputTooLarge)
		}
		if s.depth > l.MaxDepth {
			return Measure{}, fmt.Errorf("%q: YAML nests deeper than %d levels: %w", name, l.MaxDepth, ErrInputTooLarge)
		}
		m.Nodes = saturatingAdd(m.Nodes, s.nodes)
		if m.Nodes > l.MaxNodes {
			return Measure{}, fmt.Errorf("%q holds more than %d YAML nodes: %w", name, l.MaxNodes, ErrInputTooLarge)
		}
		if len(doc.Content) == 1 {
			m.Objects = saturatingAdd(m.Objects, objects(doc.Content[0], 0))
		}
	}
	m.Documents = max(m.Documents, 1)
	return m, nil
}

// objects counts the objects kustomize makes of a document's root node n:
// one for a mapping, the items' objects for a List (a kind ending in
// "List" with items, which kustomize expands recursively, aliases and
// merge keys resolved as its decoder resolves them), none for anything
// else. measure has bounded n's depth and expansion.
func objects(n *yaml.Node, depth int) int {
	n = unalias(n)
	if n.Kind != yaml.MappingNode || depth > 1000 {
		return 0
	}
	kind, items := mappingValue(n, "kind", 0), mappingValue(n, "items", 0)
	if kind == nil || !strings.HasSuffix(unalias(kind).Value, "List") || items == nil {
		return 1
	}
	items = unalias(items)
	count := 0
	if items.Kind == yaml.SequenceNode {
		for _, item := range items.Content {
			count = saturatingAdd(count, objects(item, depth+1))
		}
	}
	return count
}

func unalias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 1000; i++ {
		n = n.Alias
	}
	return n
}

// mappingValue returns the value of key in the mapping n, looking through
// merge keys ("<<") as a decoder does, or nil.
func mappingValue(n *yaml.Node, key string, depth int) *yaml.Node {
	n = unalias(n)
	if n.Kind != yaml.MappingNode || depth > 100 {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i].Kind == yaml.ScalarNode {
			return n.Content[i+1]
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "<<" {
			continue
		}
		merged := unalias(n.Content[i+1])
		sources := []*yaml.Node{merged}
		if merged.Kind == yaml.SequenceNode {
			sources = merged.Content
		}
		for _, src := range sources {
			if v := mappingValue(src, key, depth+1); v != nil {
				return v
			}
		}
	}
	return nil
}

// shape is a subtree measured as kustomize would see it, aliases expanded:
// nodes counts every node, plain counts only those written in the text.
type shape struct {
	nodes, plain, depth int
}

type measurer struct {
	sizes      map[*yaml.Node]shape
	maxEntries int
}

// inProgress marks a node being measured: an alias that reaches it
// refers to a node that contains the alias.
var inProgress = shape{nodes: -1}

// errAliasCycle is a YAML alias inside the node it refers to, which the
// parser accepts and any expansion follows forever.
var errAliasCycle = errors.New("a YAML alias refers to a node that contains it")

// measure memoizes by node so that a chain of aliases costs one visit per
// written node, however large its expansion.
func (m *measurer) measure(n *yaml.Node) (shape, error) {
	if s, ok := m.sizes[n]; ok {
		if s == inProgress {
			return shape{}, errAliasCycle
		}
		return s, nil
	}
	m.sizes[n] = inProgress
	var s shape
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		target, err := m.measure(n.Alias)
		if err != nil {
			return shape{}, err
		}
		s = shape{nodes: target.nodes, plain: 1, depth: target.depth}
	} else {
		if n.Kind == yaml.MappingNode && m.maxEntries > 0 {
			if entries := mapEntries(n, 0); entries > m.maxEntries {
				return shape{}, fmt.Errorf("a YAML mapping at line %d has more than %d entries", n.Line, m.maxEntries)
			}
		}
		s = shape{nodes: 1, plain: 1}
		for _, c := range n.Content {
			cs, err := m.measure(c)
			if err != nil {
				return shape{}, err
			}
			s.nodes = saturatingAdd(s.nodes, cs.nodes)
			s.plain += cs.plain
			s.depth = max(s.depth, cs.depth)
		}
		s.depth++
	}
	m.sizes[n] = s
	return s, nil
}

// mapEntries counts the entries of the mapping n as a decoder builds it:
// its own, and those its merge keys ("<<") bring in.
func mapEntries(n *yaml.Node, depth int) int {
	n = unalias(n)
	if n.Kind != yaml.MappingNode || depth > 100 {
		return 0
	}
	count := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != "<<" {
			count++
			continue
		}
		merged := unalias(n.Content[i+1])
		sources := []*yaml.Node{merged}
		if merged.Kind == yaml.SequenceNode {
			sources = merged.Content
		}
		for _, src := range sources {
			count = saturatingAdd(count, mapEntries(src, depth+1))
		}
	}
	return count
}

func saturatingAdd(a, b int) int {
	if a > (1<<62)-b {
		return 1 << 62
	}
	return a + b
}
