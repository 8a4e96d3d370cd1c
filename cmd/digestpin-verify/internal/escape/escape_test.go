package escape

import "testing"

func TestLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain text: ok":           "plain text: ok",
		"tab\there":                `tab\there`,
		"cr\rverified":             `cr\rverified`,
		"\x1b[32mgreen\x1b[0m":     `\x1b[32mgreen\x1b[0m`,
		"\u2028line separator":     `\u2028line separator`,
		"bad utf-8 \xff":           `bad utf-8 \xff`,
		"ünïcode stays":            "ünïcode stays",
		"quotes \"stay\" if clean": "quotes \"stay\" if clean",
	} {
		if got := Line(in); got != want {
			t.Errorf("Line(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestField(t *testing.T) {
	for in, want := range map[string]string{
		"web-5d4f-abcde": "web-5d4f-abcde",
		"two words":      `"two words"`,
		"x\nverified":    `"x\nverified"`,
		"ünï":            `"ünï"`,
	} {
		if got := Field(in); got != want {
			t.Errorf("Field(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestIndent(t *testing.T) {
	got := Indent("first\nsecond\r\x1b[2K\n", "    ")
	want := "    first\n    second\\r\\x1b[2K"
	if got != want {
		t.Errorf("Indent = %q, want %q", got, want)
	}
}
