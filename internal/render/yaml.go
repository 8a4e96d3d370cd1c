package render

import (
	"bytes"
	"runtime"
	"sync"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// asYAML is resmap.ResMap.AsYaml, the bytes `kustomize build` prints,
// computed faster: on every CPU, and, for most objects, without the
// detours kustomize's printing takes (see objectYAML). On any error it
// leaves the work to AsYaml, so that the error is kustomize's.
func asYAML(m resmap.ResMap) ([]byte, error) {
	resources := m.Resources()
	docs := make([][]byte, len(resources))
	workers := min(runtime.GOMAXPROCS(0), len(resources)/8)
	failed := false
	if workers < 2 {
		for i, res := range resources {
			out, err := objectYAML(res)
			if err != nil {
				return m.AsYaml()
			}
			docs[i] = out
		}
	} else {
		failures := make([]bool, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(resources); i += workers {
					out, err := objectYAML(resources[i])
					if err != nil {
						failures[w] = true
						return
					}
					docs[i] = out
				}
			}()
		}
		wg.Wait()
		for _, f := range failures {
			failed = failed || f
		}
	}
	if failed {
		return m.AsYaml()
	}
	size := 0
	for _, d := range docs {
		size += len(d) + len("---\n")
	}
	var buf bytes.Buffer
	buf.Grow(size)
	for i, d := range docs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(d)
	}
	return buf.Bytes(), nil
}

// objectYAML is res.AsYAML(). kustomize prints an object by encoding its
// YAML node to text (yaml.v3), decoding the text into a
// map[string]interface{} (yaml.v3), marshalling that to JSON, decoding the
// JSON into an interface{} (yaml.v2) and marshalling that (yaml.v2)
// (kyaml/yaml/rnode.go:975-1000, sigs.k8s.io/yaml JSONToYAML). For an
// object whose node holds only mappings with distinct string keys,
// sequences, and strings, integers, booleans and nulls in standard tags,
// with no anchors, aliases or merge keys, and no character that any of
// these steps would reject or rewrite (see plainString), the text and JSON
// round trips give back exactly what decoding the node directly gives:
// objectYAML decodes the node, converts the values to what yaml.v2 decodes
// JSON into, and marshals with yaml.v2 as kustomize does. Any other object
// takes kustomize's own path.
func objectYAML(res *resource.Resource) ([]byte, error) {
	n := res.YNode()
	if n == nil || n.Kind != yaml.MappingNode || !plainNode(n) {
		return res.AsYAML()
	}
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		return res.AsYAML()
	}
	v, ok := jsonValue(m)
	if !ok {
		return res.AsYAML()
	}
	return yamlv2.Marshal(v)
}

// jsonValue converts what yaml.v3 decodes into what yaml.v2 decodes from
// the JSON of it, for the types where the two are known to agree.
func jsonValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil, string, bool, int:
		return x, true
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, ok := jsonValue(e)
			if !ok {
				return nil, false
			}
			out[i] = c
		}
		return out, true
	case map[string]any:
		out := make(map[any]any, len(x))
		for k, e := range x {
			c, ok := jsonValue(e)
			if !ok {
				return nil, false
			}
			out[k] = c
		}
		return out, true
	}
	return nil, false // floats, large integers, anything else
}

// plainNode checks the node and everything under it (see objectYAML).
// yaml.v3 cannot write an empty plain scalar inside a flow collection or
// as a key, and writes ” instead, which reads back as a string: an empty
// scalar there makes the node not plain.
func plainNode(n *yaml.Node) bool { return plainIn(n, false, false) }

func plainIn(n *yaml.Node, flow, key bool) bool {
	if n.Anchor != "" {
		return false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "", "!!str", "!!int", "!!bool", "!!null":
		default:
			return false
		}
		if n.Value == "" && (flow || key) {
			return false
		}
		return plainString(n.Value)
	case yaml.SequenceNode:
		if n.Tag != "" && n.Tag != "!!seq" {
			return false
		}
		flow = flow || n.Style&yaml.FlowStyle != 0
		for _, c := range n.Content {
			if !plainIn(c, flow, false) {
				return false
			}
		}
		return true
	case yaml.MappingNode:
		if n.Tag != "" && n.Tag != "!!map" || len(n.Content)%2 != 0 {
			return false
		}
		flow = flow || n.Style&yaml.FlowStyle != 0
		keys := make(map[string]bool, len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Value == "<<" || keys[k.Value] || !plainIn(k, flow, true) {
				return false
			}
			keys[k.Value] = true
			if !plainIn(n.Content[i+1], flow, false) {
				return false
			}
		}
		return true
	}
	return false
}

// plainString reports whether s is valid UTF-8 without control characters
// (a YAML text round trip may rewrite line breaks and carriage returns),
// C1 controls, DEL, line or paragraph separators, a byte order mark or
// noncharacters (yaml.v2 rejects raw ones, or reads them as line breaks).
func plainString(s string) bool {
	for _, r := range s {
		switch {
		case r == 0xFFFD:
			// An invalid byte, or a replacement character: JSON
			// would keep the latter and replace the former.
			return false
		case r < 0x20, r >= 0x7F && r <= 0x9F, r == 0x2028, r == 0x2029, r == 0xFEFF, r == 0xFFFE, r == 0xFFFF:
			return false
		}
	}
	return true
}
