// Package escape keeps text from the cluster and from Argo CD (object
// names, image references, condition messages) from forging output: no
// control character, carriage return or terminal escape sequence reaches a
// terminal or a CI log as is, and a multi-line message stays inside its
// indented block.
package escape

import (
	"strconv"
	"strings"
)

// Line writes control characters as Go escapes and keeps everything else
// as it is.
func Line(s string) string {
	if clean(s) {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// Field quotes s when it holds anything but printable ASCII without spaces,
// for values that sit in a column or after a colon: a name with a space in
// it cannot pass for two columns.
func Field(s string) string {
	for _, r := range s {
		if r <= ' ' || r > '~' || r == '"' {
			return strconv.Quote(s)
		}
	}
	return s
}

// Indent prefixes every line of s with prefix, escaping each line.
func Indent(s, prefix string) string {
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(prefix)
		b.WriteString(Line(line))
	}
	return b.String()
}

func clean(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' || r == '\ufffd' {
			return false
		}
	}
	return true
}
