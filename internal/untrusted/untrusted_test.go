package untrusted

import (
	"encoding/json"
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

func TestLines(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "",
		"a\nb\n":                     "a\nb\n",
		"ok\r::add-mask::x\n+line\n": `ok\r::add-mask::x` + "\n+line\n",
		"\x1b[2Jgone\nlast":          `\x1b[2Jgone` + "\nlast",
		"crlf\r\n":                   `crlf\r` + "\n",
	} {
		if got := Lines(in); got != want {
			t.Errorf("Lines(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJSON(t *testing.T) {
	values := []string{"plain", "a\nb\x1b", "rtl\u202e\u2066", "del\x7f c1\u0085", "astral \U000e0001 tag", "emoji 😀", "bad \xff"}
	for _, v := range values {
		enc, err := json.MarshalIndent(map[string]string{"v": v}, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		out := JSON(enc)
		if !Safe(strings.NewReplacer("\n", "", "\t", "").Replace(string(out))) {
			t.Errorf("JSON(%q) = %s is not safe to print", enc, out)
		}
		var back map[string]string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("JSON(%s) = %s: %v", enc, out, err)
		}
		want := strings.ToValidUTF8(v, "\ufffd")
		if back["v"] != want {
			t.Errorf("round trip of %q gave %q", want, back["v"])
		}
	}
	if got := string(JSON([]byte(`{"a": "\u202e"}`))); got != `{"a": "\u202e"}` {
		t.Errorf("escaped JSON changed: %s", got)
	}
}
