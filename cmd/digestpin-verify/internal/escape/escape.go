// Package escape is how verify prints text from the cluster and from Argo
// CD (object names, image references, condition messages) so that it
// cannot forge output. Escaping itself is the project's one implementation,
// internal/untrusted; this package adds the two shapes verify prints such
// text in: a field in a column, and a message indented under a heading.
package escape

import (
	"strconv"
	"strings"

	"github.com/digestpin/digestpin/internal/untrusted"
)

// Line escapes every character that could start a line, move the cursor
// or recolour a terminal, and keeps everything else as it is.
func Line(s string) string { return untrusted.Text(s) }

// Field quotes s when it holds anything but printable ASCII without spaces
// or quotes, for values that sit in a column or after a colon: a name with
// a space in it cannot pass for two columns.
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
		b.WriteString(untrusted.Text(line))
	}
	return b.String()
}
