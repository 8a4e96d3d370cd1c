package yamledit

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// source maps the parser's line/column positions back to byte offsets of
// the original text. Columns count runes, and lines are split with YAML's
// own idea of a line break, so positions agree with the parser even in
// CRLF files or files with a byte order mark.
type source struct {
	b     []byte
	lines []int  // byte offset at which each line starts
	eol   string // line break used for lines we add when there is none to copy
}

func newSource(b []byte) *source {
	s := &source{b: b, eol: "\n"}
	start := 0
	if bytes.HasPrefix(b, []byte("\ufeff")) {
		start = 3 // the parser skips the BOM without counting a column
	}
	s.lines = append(s.lines, start)
	sawBreak := false
	for i := start; i < len(b); {
		n := breakLen(b, i)
		if n == 0 {
			i++
			continue
		}
		if !sawBreak {
			sawBreak = true
			if brk := string(b[i : i+n]); brk == "\r\n" || brk == "\r" {
				s.eol = brk
			}
		}
		i += n
		s.lines = append(s.lines, i)
	}
	return s
}

// breakLen returns the length of the line break starting at b[i], or 0.
// YAML 1.1, which the parser follows for positions, also breaks lines at
// NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR.
func breakLen(b []byte, i int) int {
	switch {
	case i >= len(b):
		return 0
	case b[i] == '\n':
		return 1
	case b[i] == '\r':
		if i+1 < len(b) && b[i+1] == '\n' {
			return 2
		}
		return 1
	case bytes.HasPrefix(b[i:], []byte("\u0085")):
		return 2
	case bytes.HasPrefix(b[i:], []byte("\u2028")), bytes.HasPrefix(b[i:], []byte("\u2029")):
		return 3
	}
	return 0
}

// offset returns the byte offset of the node's position.
func (s *source) offset(n *yaml.Node) (int, error) {
	if n.Line == len(s.lines)+1 && n.Column == 1 {
		return len(s.b), nil // an empty node after the last line break
	}
	if n.Line < 1 || n.Line > len(s.lines) || n.Column < 1 {
		return 0, fmt.Errorf("position %d:%d is outside the text", n.Line, n.Column)
	}
	off := s.lines[n.Line-1]
	for col := 1; col < n.Column; col++ {
		if off >= len(s.b) || breakLen(s.b, off) > 0 {
			return 0, fmt.Errorf("position %d:%d is outside the text", n.Line, n.Column)
		}
		_, size := utf8.DecodeRune(s.b[off:])
		off += size
	}
	return off, nil
}

// lineStart returns the offset of the start of the line holding off.
func (s *source) lineStart(off int) int {
	i := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off })
	return s.lines[i-1]
}

// lineEnd returns the offset of the line break ending the line that holds
// off (len(b) on a last line without one).
func (s *source) lineEnd(off int) int {
	for off < len(s.b) && breakLen(s.b, off) == 0 {
		off++
	}
	return off
}

// nextLine returns the offset just past the line break ending the line that
// holds off, and that break. The break is "" on a last line without one.
func (s *source) nextLine(off int) (int, string) {
	end := s.lineEnd(off)
	n := breakLen(s.b, end)
	return end + n, string(s.b[end : end+n])
}

// firstOnLine reports whether only blanks precede off on its line.
func (s *source) firstOnLine(off int) bool {
	for _, c := range s.b[s.lineStart(off):off] {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// onDashLine reports whether item of block sequence seq starts on the line
// of its dash, as in "- name: x", rather than on a line of its own.
func (s *source) onDashLine(seq, item *yaml.Node) bool {
	off, err := s.offset(&yaml.Node{Line: item.Line, Column: seq.Column})
	return err == nil && off < len(s.b) && s.b[off] == '-'
}

// skipProperties skips an anchor or tag written before a node's content,
// which is where the parser puts the node's position.
func (s *source) skipProperties(off int) int {
	for off < len(s.b) && (s.b[off] == '&' || s.b[off] == '!') {
		for off < len(s.b) && !isBlank(s.b[off]) && breakLen(s.b, off) == 0 {
			off++
		}
		off = s.skipSpace(off)
	}
	return off
}

// skipSpace skips blanks, line breaks and comments.
func (s *source) skipSpace(off int) int {
	for off < len(s.b) {
		switch {
		case isBlank(s.b[off]):
			off++
		case breakLen(s.b, off) > 0:
			off += breakLen(s.b, off)
		case s.b[off] == '#':
			off = s.lineEnd(off)
		default:
			return off
		}
	}
	return off
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// scalarSpan returns the byte range of a scalar's text, quotes included and
// anchor or tag excluded. It refuses scalars it cannot replace as a unit.
func (s *source) scalarSpan(n *yaml.Node) (start, end int, err error) {
	if n.Kind != yaml.ScalarNode {
		return 0, 0, fmt.Errorf("line %d: not a scalar", n.Line)
	}
	off, err := s.offset(n)
	if err != nil {
		return 0, 0, err
	}
	if n.Style&yaml.TaggedStyle != 0 || n.Anchor != "" {
		off = s.skipProperties(off)
	}
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, 0, fmt.Errorf("line %d: block scalar (| or >): %w", n.Line, ErrUnsupported)
	case n.Style&yaml.DoubleQuotedStyle != 0:
		for i := off + 1; i < len(s.b); i++ {
			switch s.b[i] {
			case '\\':
				i++
			case '"':
				return off, i + 1, nil
			}
		}
	case n.Style&yaml.SingleQuotedStyle != 0:
		for i := off + 1; i < len(s.b); i++ {
			if s.b[i] == '\'' {
				if i+1 < len(s.b) && s.b[i+1] == '\'' {
					i++
					continue
				}
				return off, i + 1, nil
			}
		}
	default:
		// A plain scalar reads as its own text unless it is folded over
		// several lines, which we do not rewrite.
		end := off + len(n.Value)
		if end <= len(s.b) && string(s.b[off:end]) == n.Value && plainEnds(s.b, end) {
			return off, end, nil
		}
		return 0, 0, fmt.Errorf("line %d: plain scalar spanning lines: %w", n.Line, ErrUnsupported)
	}
	return 0, 0, fmt.Errorf("line %d: unterminated quoted scalar", n.Line)
}

func plainEnds(b []byte, i int) bool {
	if i >= len(b) || breakLen(b, i) > 0 {
		return true
	}
	switch b[i] {
	case ' ', '\t', ':', ',', ']', '}':
		return true
	}
	return false
}

// end returns the offset just past the text of n. indent is the indentation
// a block scalar's content must exceed: the column of the key or dash that
// owns it, counted from 0, or -1 at the top level.
func (s *source) end(n *yaml.Node, indent int) (int, error) {
	switch {
	case n.Kind == yaml.AliasNode:
		off, err := s.offset(n)
		return off + 1 + len(n.Value), err
	case n.Kind == yaml.ScalarNode && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return s.blockScalarEnd(n, indent)
	case n.Kind == yaml.ScalarNode && n.Value == "" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.TaggedStyle) == 0 && n.Anchor == "":
		// An empty value has no text; the parser places it just after its
		// indicator, which is on the right line.
		return s.offset(n)
	case n.Kind == yaml.ScalarNode:
		_, end, err := s.scalarSpan(n)
		return end, err
	case n.Style&yaml.FlowStyle != 0:
		open, err := s.contentStart(n)
		if err != nil {
			return 0, err
		}
		closing, err := s.flowClose(open)
		return closing + 1, err
	case len(n.Content) == 0:
		return 0, fmt.Errorf("line %d: empty block collection", n.Line)
	case n.Kind == yaml.MappingNode:
		key := n.Content[len(n.Content)-2]
		return s.end(n.Content[len(n.Content)-1], key.Column-1)
	default:
		return s.end(n.Content[len(n.Content)-1], n.Column-1)
	}
}

func (s *source) contentStart(n *yaml.Node) (int, error) {
	off, err := s.offset(n)
	if err != nil {
		return 0, err
	}
	if n.Style&yaml.TaggedStyle != 0 || n.Anchor != "" {
		off = s.skipProperties(off)
	}
	return off, nil
}

// blockScalarEnd finds the end of a | or > scalar's last content line: the
// last line indented deeper than its owner, plus the trailing blank lines
// when the + indicator keeps them in the value.
func (s *source) blockScalarEnd(n *yaml.Node, indent int) (int, error) {
	off, err := s.contentStart(n)
	if err != nil {
		return 0, err
	}
	header := s.b[off:s.lineEnd(off)]
	if i := bytes.IndexByte(header, '#'); i >= 0 {
		header = header[:i]
	}
	keep := bytes.IndexByte(header, '+') >= 0
	end := s.lineEnd(off)
	for line, brk := s.nextLine(off); brk != ""; line, brk = s.nextLine(line) {
		lineEnd := s.lineEnd(line)
		text := s.b[line:lineEnd]
		blank := len(bytes.Trim(text, " \t")) == 0
		if !blank && len(text)-len(bytes.TrimLeft(text, " ")) <= indent {
			break
		}
		if !blank || keep {
			end = lineEnd
		}
	}
	return end, nil
}

// flowClose returns the offset of the bracket closing the flow collection
// opened at open.
func (s *source) flowClose(open int) (int, error) {
	depth := 0
	prev := byte(' ')
	for i := open; i < len(s.b); i++ {
		c := s.b[i]
		switch {
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return i, nil
			}
		case c == '#' && (isBlank(prev) || breakLen(s.b, i-1) > 0):
			i = s.lineEnd(i) - 1
		case (c == '"' || c == '\'') && (isBlank(prev) || breakLen(s.b, i-1) > 0 || bytes.IndexByte([]byte("[{,:?"), prev) >= 0):
			j := i + 1
			for ; j < len(s.b); j++ {
				if c == '"' && s.b[j] == '\\' {
					j++
				} else if s.b[j] == c {
					if c == '\'' && j+1 < len(s.b) && s.b[j+1] == '\'' {
						j++
						continue
					}
					break
				}
			}
			i = j
		}
		if i < len(s.b) {
			prev = s.b[i]
		}
	}
	return 0, fmt.Errorf("unclosed flow collection at byte %d", open)
}

// edit replaces b[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// apply performs edits given in any order; insertions at the same offset
// keep the order in which they were made.
func apply(b []byte, edits []edit) ([]byte, error) {
	sorted := append([]edit(nil), edits...)
	// An insertion at the offset where a deletion starts goes first, so
	// that adding a line just before a removed one is not an overlap.
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].start != sorted[j].start {
			return sorted[i].start < sorted[j].start
		}
		return sorted[i].start == sorted[i].end && sorted[j].start != sorted[j].end
	})
	var out bytes.Buffer
	pos := 0
	for _, e := range sorted {
		if e.start < pos || e.end < e.start || e.end > len(b) {
			return nil, fmt.Errorf("overlapping edits at byte %d", e.start)
		}
		out.Write(b[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(b[pos:])
	return out.Bytes(), nil
}

// parseDocuments parses every document of a YAML stream.
func parseDocuments(b []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []*yaml.Node
	for {
		doc := new(yaml.Node)
		err := dec.Decode(doc)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
}
