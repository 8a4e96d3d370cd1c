package yamledit

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// editor collects text edits on one input and mirrors them on its model.
type editor struct {
	src   *source
	docs  []*yaml.Node
	index map[*yaml.Node]*model
	model []*model
	edits []edit
}

func newEditor(b []byte) (*editor, error) {
	docs, err := parseDocuments(b)
	if err != nil {
		return nil, err
	}
	e := &editor{src: newSource(b), docs: docs, index: map[*yaml.Node]*model{}}
	for _, d := range docs {
		e.model = append(e.model, buildModel(d, e.index))
	}
	return e, nil
}

func (e *editor) add(start, end int, text string) {
	e.edits = append(e.edits, edit{start, end, text})
}

// setScalar replaces the text of scalar n with v, quoted as n was.
func (e *editor) setScalar(n *yaml.Node, v string) error {
	m := e.index[n]
	if n.Kind == yaml.ScalarNode && n.Value == "" && n.ShortTag() == "!!null" && n.Style == 0 && n.Anchor == "" {
		// "key:" with nothing after the colon.
		off, err := e.src.offset(n)
		if err != nil {
			return err
		}
		text := render(v, 0)
		if off == 0 || !isBlank(e.src.b[off-1]) {
			text = " " + text
		}
		e.add(off, off, text)
	} else {
		start, end, err := e.src.scalarSpan(n)
		if err != nil {
			return err
		}
		e.add(start, end, render(v, quoteStyle(n)))
	}
	if n.Style&yaml.TaggedStyle == 0 {
		m.tag = "!!str"
	}
	m.value = v
	return nil
}

// result applies the edits and checks that the new text says what the
// edited model says.
func (e *editor) result() ([]byte, error) {
	out, err := apply(e.src.b, e.edits)
	if err != nil {
		return nil, err
	}
	docs, err := parseDocuments(out)
	if err != nil {
		return nil, fmt.Errorf("edited text does not parse (%v): %w", err, ErrUnsupported)
	}
	if len(docs) != len(e.model) {
		return nil, fmt.Errorf("edited text has %d documents instead of %d: %w", len(docs), len(e.model), ErrUnsupported)
	}
	for i, d := range docs {
		if got, want := buildModel(d, nil).String(), e.model[i].String(); got != want {
			return nil, fmt.Errorf("edited text of document %d does not read as intended: %w", i+1, ErrUnsupported)
		}
	}
	return out, nil
}

// layout is how new keys and list items are written so that they look like
// their neighbours.
type layout struct {
	keyStyle   yaml.Style // quoting of keys
	valueStyle yaml.Style // quoting of values, plain unless a neighbour is quoted
	seqIndent  int        // columns from a key to the dash of its block sequence
	itemIndent int        // columns from a dash to the keys of its mapping item
}

// pair is a new key and its scalar value.
type pair struct{ key, value string }

func (l layout) pair(p pair) string {
	return render(p.key, l.keyStyle) + ": " + render(p.value, l.valueStyle)
}

func (l layout) flowMapping(pairs []pair) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = l.pair(p)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// blockItem renders a list item holding a mapping, its dash at column dash.
func (l layout) blockItem(dash int, pairs []pair) []string {
	lines := make([]string, len(pairs))
	for i, p := range pairs {
		prefix := spaces(dash + l.itemIndent)
		if i == 0 {
			prefix = spaces(dash) + "-" + spaces(l.itemIndent-1)
		}
		lines[i] = prefix + l.pair(p)
	}
	return lines
}

func spaces(n int) string { return strings.Repeat(" ", max(n, 0)) }

func mappingModel(pairs []pair) *model {
	m := &model{kind: yaml.MappingNode, tag: "!!map"}
	for _, p := range pairs {
		m.items = append(m.items, strModel(p.key), strModel(p.value))
	}
	return m
}

// lookup returns the index of the pair with the given key, or -1.
func lookup(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return i / 2
		}
	}
	return -1
}

func isFlow(n *yaml.Node) bool { return n.Style&yaml.FlowStyle != 0 }

// pairEnd returns the end of the text of pair i of mapping m.
func (e *editor) pairEnd(m *yaml.Node, i int) (int, error) {
	key := m.Content[2*i]
	return e.src.end(m.Content[2*i+1], key.Column-1)
}

// insertLines adds whole lines after the line holding off, with that line's
// line break, and without adding a final line break to a file that had none.
func (e *editor) insertLines(off int, lines []string) {
	at, brk := e.src.nextLine(off)
	switch brk {
	case "":
		e.add(at, at, e.src.eol+strings.Join(lines, e.src.eol))
		return
	case "\n", "\r\n", "\r":
	default:
		brk = e.src.eol
	}
	e.add(at, at, strings.Join(lines, brk)+brk)
}

// addPairs adds pairs to mapping m after its pair number after.
func (e *editor) addPairs(m *yaml.Node, after int, pairs []pair, l layout) error {
	mm := e.index[m]
	for _, p := range pairs {
		mm.items = append(mm.items, strModel(p.key), strModel(p.value))
	}
	if isFlow(m) {
		text := l.flowMapping(pairs)
		text = text[1 : len(text)-1]
		return e.addToFlow(m, after, text)
	}
	end, err := e.pairEnd(m, after)
	if err != nil {
		return err
	}
	lines := make([]string, len(pairs))
	for i, p := range pairs {
		lines[i] = spaces(m.Column-1) + l.pair(p)
	}
	e.insertLines(end, lines)
	return nil
}

// addToFlow inserts text as a new element of flow collection c after
// element number after (a pair for mappings), or as its only element.
func (e *editor) addToFlow(c *yaml.Node, after int, text string) error {
	if len(c.Content) == 0 {
		open, err := e.src.contentStart(c)
		if err != nil {
			return err
		}
		e.add(open+1, open+1, text)
		return nil
	}
	var end int
	var err error
	if c.Kind == yaml.MappingNode {
		end, err = e.pairEnd(c, after)
	} else {
		end, err = e.src.end(c.Content[after], -1)
	}
	if err != nil {
		return err
	}
	e.add(end, end, ", "+text)
	return nil
}

// removePair deletes pair i of mapping m, with its whole line when it has
// one to itself.
func (e *editor) removePair(m *yaml.Node, i int) error {
	mm := e.index[m]
	mm.items = append(mm.items[:2*i:2*i], mm.items[2*i+2:]...)

	key := m.Content[2*i]
	start, err := e.src.offset(key)
	if err != nil {
		return err
	}
	end, err := e.pairEnd(m, i)
	if err != nil {
		return err
	}
	last := 2*i+2 >= len(m.Content)
	switch {
	case isFlow(m) && !last:
		end, err = e.src.offset(m.Content[2*i+2])
	case isFlow(m) && i > 0:
		start, err = e.pairEnd(m, i-1)
	case isFlow(m):
	case e.src.firstOnLine(start):
		start = e.src.lineStart(start)
		var brk string
		if end, brk = e.src.nextLine(end); brk == "" && start > 0 {
			// Take the line break before instead, so that a file
			// without a final newline still has none.
			start = e.src.lineEnd(e.src.lineStart(start - 1))
		}
	case !last:
		// "- newTag: v1": the next key moves up to the dash.
		end, err = e.src.offset(m.Content[2*i+2])
	default:
		return fmt.Errorf("line %d: cannot remove the only key of a list item: %w", key.Line, ErrUnsupported)
	}
	if err != nil {
		return err
	}
	e.add(start, end, "")
	return nil
}

// appendItem adds a mapping at the end of sequence seq.
func (e *editor) appendItem(seq *yaml.Node, pairs []pair, l layout) error {
	sm := e.index[seq]
	sm.items = append(sm.items, mappingModel(pairs))
	if isFlow(seq) {
		if n := len(seq.Content); n > 0 {
			last := seq.Content[n-1]
			if last.Line > seq.Line {
				// One item per line: the new one gets its own.
				end, err := e.src.end(last, -1)
				if err != nil {
					return err
				}
				e.add(end, end, ","+e.src.eol+spaces(last.Column-1)+l.flowMapping(pairs))
				return nil
			}
		}
		return e.addToFlow(seq, len(seq.Content)-1, l.flowMapping(pairs))
	}
	last := seq.Content[len(seq.Content)-1]
	end, err := e.src.end(last, seq.Column-1)
	if err != nil {
		return err
	}
	dash := seq.Column - 1
	if last.Kind == yaml.MappingNode && isFlow(last) {
		e.insertLines(end, []string{spaces(dash) + "- " + l.flowMapping(pairs)})
		return nil
	}
	e.insertLines(end, l.blockItem(dash, pairs))
	return nil
}
