package repofs

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Limits bound what one render may read. kustomize expands YAML aliases
// without limit (a 434-byte file can drive it past 12 GB), so every file is
// measured here, without expanding anything, before kustomize parses it.
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
}

// DefaultLimits are the limits generate and check run with.
func DefaultLimits() Limits {
	return Limits{MaxFileBytes: 8 << 20, MaxTotalBytes: 64 << 20, MaxAliasNodes: 100_000, MaxDepth: 256}
}

// ErrInputTooLarge is wrapped by every limit error.
var ErrInputTooLarge = errors.New("input exceeds the render limits")

// Check measures one file's bytes against the limits, as a render does
// before kustomize parses anything: for YAML read outside a render.
func (l Limits) Check(name string, data []byte) error {
	b := newBudget(l)
	if err := b.admitSize(name, int64(len(data))); err != nil {
		return err
	}
	return b.admitYAML(name, data)
}

type budget struct {
	limits Limits
	mu     sync.Mutex
	read   int64
}

func newBudget(l Limits) *budget { return &budget{limits: l} }

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

// admitYAML measures every document of data as YAML. Content that is not
// YAML (a properties file for a generator, say) is left to kustomize, which
// parses it no further than this parser did.
func (b *budget) admitYAML(name string, data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			// io.EOF ends the stream; a syntax error stops kustomize's
			// parser at the same place, before anything is expanded.
			return nil
		}
		m := measurer{sizes: map[*yaml.Node]shape{}}
		s := m.measure(&doc)
		if s.nodes-s.plain > b.limits.MaxAliasNodes {
			return fmt.Errorf("%q: YAML aliases expand to more than %d nodes: %w", name, b.limits.MaxAliasNodes, ErrInputTooLarge)
		}
		if s.depth > b.limits.MaxDepth {
			return fmt.Errorf("%q: YAML nests deeper than %d levels: %w", name, b.limits.MaxDepth, ErrInputTooLarge)
		}
	}
}

// shape is a subtree measured as kustomize would see it, aliases expanded:
// nodes counts every node, plain counts only those written in the text.
type shape struct {
	nodes, plain, depth int
}

type measurer struct {
	sizes map[*yaml.Node]shape
}

// measure memoizes by node so that a chain of aliases costs one visit per
// written node, however large its expansion.
func (m *measurer) measure(n *yaml.Node) shape {
	if s, ok := m.sizes[n]; ok {
		return s
	}
	var s shape
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		target := m.measure(n.Alias)
		s = shape{nodes: target.nodes, plain: 1, depth: target.depth}
	} else {
		s = shape{nodes: 1, plain: 1}
		for _, c := range n.Content {
			cs := m.measure(c)
			s.nodes = saturatingAdd(s.nodes, cs.nodes)
			s.plain += cs.plain
			s.depth = max(s.depth, cs.depth)
		}
		s.depth++
	}
	m.sizes[n] = s
	return s
}

func saturatingAdd(a, b int) int {
	if a > (1<<62)-b {
		return 1 << 62
	}
	return a + b
}
