// Package untrusted prints text that digestpin did not write itself (names
// and paths from a repository, messages from a registry or a git server) so
// that it can never forge output: every character that could start a line,
// move the cursor, recolour a terminal or reorder what a reader sees comes
// out escaped, and everything else comes out unchanged.
//
// The escapes are those of a Go string literal: \n, \r, \t, \a, \b, \f, \v,
// \xNN for other ASCII control characters and for bytes that are not UTF-8,
// \uNNNN or \UNNNNNNNN for other characters Go does not consider printable
// (C1 controls, line and paragraph separators, bidirectional overrides and
// other invisible format characters). A backslash is left as it is, so that
// escaping is idempotent: text already escaped, or already quoted with %q,
// passes through unchanged, and a message may be escaped where it is built
// and again where it is printed.
package untrusted

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text returns s with every character that is not printable escaped.
func Text(s string) string {
	if Safe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
		case printable(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRuneToASCII(r) // '\n', '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// Safe reports whether s prints as it is: Text(s) == s.
func Safe(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !printable(r) {
			return false
		}
		i += size
	}
	return true
}

// printable is strconv.IsPrint (letters, marks, numbers, punctuation,
// symbols and the ASCII space), which excludes control and format
// characters, line and paragraph separators and unassigned code points.
func printable(r rune) bool { return strconv.IsPrint(r) }

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}
