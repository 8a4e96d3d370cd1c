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
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
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

// Lines escapes every line of s as Text does, keeping the line feeds that
// separate them: for text whose lines are meant (a diff of a repository
// file, a message digestpin wrote over several lines), where no line may
// carry a carriage return or an escape sequence that rewrites what a
// reader sees.
func Lines(s string) string {
	if Safe(strings.ReplaceAll(s, "\n", "")) {
		return s
	}
	var b strings.Builder
	for line := range strings.Lines(s) {
		text, nl := strings.CutSuffix(line, "\n")
		b.WriteString(Text(text))
		if nl {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// JSON rewrites encoded JSON so that it prints safely and decodes to the
// same values: encoding/json leaves DEL, C1 controls and format characters
// (a bidirectional override, say) raw inside strings, and JSON writes each
// as a \uXXXX escape (a surrogate pair above U+FFFF). Outside strings JSON
// holds only printable ASCII and white space, which are kept.
func JSON(b []byte) []byte {
	s := string(b)
	if Safe(strings.NewReplacer("\n", "", "\t", "", "\r", "").Replace(s)) {
		return b
	}
	var out strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t' || r == '\r' || printable(r):
			out.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return []byte(out.String())
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
