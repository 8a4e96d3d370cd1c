package yamledit

import (
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// model is what a YAML stream says, stripped of how it says it. Every text
// edit is mirrored on the model of the input; the edited text must parse to
// the same model, which proves the splice produced valid YAML that changed
// exactly what was intended and nothing else.
type model struct {
	kind   yaml.Kind
	tag    string
	value  string
	anchor string
	items  []*model // sequence items, or mapping keys and values alternating
}

func buildModel(n *yaml.Node, index map[*yaml.Node]*model) *model {
	m := &model{kind: n.Kind, anchor: n.Anchor}
	switch n.Kind {
	case yaml.ScalarNode:
		m.tag, m.value = n.ShortTag(), n.Value
	case yaml.AliasNode:
		m.value = n.Value
	case yaml.MappingNode, yaml.SequenceNode:
		m.tag = n.ShortTag()
	}
	for _, c := range n.Content {
		m.items = append(m.items, buildModel(c, index))
	}
	if index != nil {
		index[n] = m
	}
	return m
}

func strModel(v string) *model {
	return &model{kind: yaml.ScalarNode, tag: "!!str", value: v}
}

// String renders the model canonically: mapping entries are sorted, so key
// order, which edits keep anyway, does not matter for the comparison.
func (m *model) String() string {
	var b strings.Builder
	m.write(&b)
	return b.String()
}

func (m *model) write(b *strings.Builder) {
	if m.anchor != "" {
		b.WriteString("&" + m.anchor + " ")
	}
	switch m.kind {
	case yaml.DocumentNode:
		b.WriteString("--- ")
		for _, c := range m.items {
			c.write(b)
		}
		b.WriteString("\n")
	case yaml.ScalarNode:
		b.WriteString(m.tag + " " + strconv.Quote(m.value))
	case yaml.AliasNode:
		b.WriteString("*" + m.value)
	case yaml.SequenceNode:
		b.WriteString(m.tag + "[")
		for i, c := range m.items {
			if i > 0 {
				b.WriteString(", ")
			}
			c.write(b)
		}
		b.WriteString("]")
	case yaml.MappingNode:
		var pairs []string
		for i := 0; i+1 < len(m.items); i += 2 {
			pairs = append(pairs, m.items[i].String()+": "+m.items[i+1].String())
		}
		sort.Strings(pairs)
		b.WriteString(m.tag + "{" + strings.Join(pairs, ", ") + "}")
	}
}
