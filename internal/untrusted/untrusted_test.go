package untrusted

import (
	"strconv"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"apps/web/deployment.yaml", "apps/web/deployment.yaml"},
		{"ünïcödé 名前 ok", "ünïcödé 名前 ok"},
		{`back\slash and "quotes"`, `back\slash and "quotes"`},
		{"a\nb", `a\nb`},
		{"a\r\nb", `a\r\nb`},
		{"tab\there", `tab\there`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"nul\x00", `nul\x00`},
		{"del\x7f", `del\x7f`},
		{"next line\u0085", `next line\u0085`},
		{"line\u2028separator", `line\u2028separator`},
		{"rtl\u202eoverride\u2066isolate", `rtl\u202eoverride\u2066isolate`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"bad \xff byte", `bad \xff byte`},
		{"cut \xe2\x80 rune", `cut \xe2\x80 rune`},
		{"\ufffd real replacement char", "\ufffd real replacement char"},
		{"\n::add-mask::x", `\n::add-mask::x`},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if Safe(tt.in) != (tt.in == tt.want) {
			t.Errorf("Safe(%q) = %v", tt.in, Safe(tt.in))
		}
	}
}

// Escaping twice changes nothing, so a message may be escaped where it is
// built and again where it is printed; %q-quoted text passes unchanged.
func TestTextIsIdempotent(t *testing.T) {
	for _, s := range []string{"a\nb\x1b\u202e\xff", strconv.Quote("x\ny"), "plain"} {
		once := Text(s)
		if twice := Text(once); twice != once {
			t.Errorf("Text(Text(%q)) = %q, want %q", s, twice, once)
		}
		if !Safe(once) {
			t.Errorf("Text(%q) = %q is not safe", s, once)
		}
	}
	if q := strconv.Quote("x\ny\u202e"); Text(q) != q {
		t.Errorf("Text changed the quoted %s", q)
	}
}

func FuzzText(f *testing.F) {
	f.Add("a\nb")
	f.Add("\xff\u202e\x1b")
	f.Fuzz(func(t *testing.T, s string) {
		out := Text(s)
		if !Safe(out) || Text(out) != out {
			t.Fatalf("Text(%q) = %q is not safe or not stable", s, out)
		}
		if strings.ContainsAny(out, "\n\r\x1b\x00") {
			t.Fatalf("Text(%q) = %q keeps a control character", s, out)
		}
		if Safe(s) && out != s {
			t.Fatalf("Text changed safe %q to %q", s, out)
		}
	})
}
