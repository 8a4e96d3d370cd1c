package semver

import (
	"strings"
	"testing"
)

// A constraint, versions it admits and versions it does not.
var constraintTests = []struct {
	constraint string
	admits     string
	rejects    string
}{
	// Exact.
	{"1.4.2", "1.4.2 v1.4.2 1.4.2+build.1", "1.4.1 1.4.3 1.4.2-rc.1"},
	{"=1.4.2", "1.4.2", "1.4.3"},
	{"==1.4.2", "1.4.2", "1.4.3"},
	{"v1.4.2", "1.4.2", "1.4.3"},
	{"= 1.4.2", "1.4.2", "1.4.3"},
	{"1.4.2-rc.1", "1.4.2-rc.1", "1.4.2-rc.2 1.4.2"},
	{"1.4.2+build.1", "1.4.2+build.1", "1.4.2 1.4.2+build.2"},
	// Comparisons.
	{">1.4.2", "1.4.3 1.5.0 2.0.0", "1.4.2 1.4.1 1.4.3-rc.1 2.0.0-alpha"},
	{">=1.4.2", "1.4.2 1.4.3 9.0.0", "1.4.1 1.4.2-rc.1"},
	{"<1.4.2", "1.4.1 0.1.0 0.0.0", "1.4.2 1.4.3 1.4.2-rc.1 1.4.1-rc.1"},
	{"<=1.4.2", "1.4.2 1.4.1", "1.4.3 1.4.2-rc.1"},
	{"!=1.4.2", "1.4.1 1.4.3", "1.4.2 1.4.3-rc.1"},
	{">= 1.4.2", "1.4.2", "1.4.1"},
	// Partial versions in comparisons fill in as ranges.
	{">1.4", "1.5.0 2.0.0", "1.4.9 1.4.0"},
	{">1", "2.0.0", "1.99.99"},
	{">=1.4", "1.4.0 1.5.0", "1.3.9"},
	{"<1.4", "1.3.9", "1.4.0 1.4.0-rc.1"},
	{"<=1.4", "1.4.9 1.3.0", "1.5.0 1.5.0-rc.1"},
	{"<=1", "1.9.9", "2.0.0"},
	{">*", "", "0.0.0 1.0.0"},
	{"<*", "", "0.0.0 1.0.0"},
	{">=*", "0.0.0 9.9.9", "1.0.0-rc.1"},
	{"<=*", "0.0.0 9.9.9", "1.0.0-rc.1"},
	// Tilde.
	{"~1.4.2", "1.4.2 1.4.9", "1.4.1 1.5.0 1.4.3-rc.1"},
	{"~1.4", "1.4.0 1.4.9", "1.3.9 1.5.0"},
	{"~1", "1.0.0 1.9.9", "0.9.9 2.0.0"},
	{"~0.4.2", "0.4.2 0.4.9", "0.5.0"},
	{"~>1.4.2", "1.4.2 1.4.9", "1.5.0"},
	{"~1.4.x", "1.4.0 1.4.9", "1.5.0"},
	{"~1.x", "1.0.0 1.9.0", "2.0.0"},
	{"~*", "0.0.0 9.0.0", "1.0.0-rc.1"},
	{"~1.4.2-beta.2", "1.4.2-beta.2 1.4.2-beta.10 1.4.2 1.4.5", "1.4.2-beta.1 1.4.3-beta.1 1.5.0"},
	// Caret.
	{"^1.4.2", "1.4.2 1.9.0", "1.4.1 2.0.0 2.0.0-rc.1 1.5.0-rc.1"},
	{"^0.4.2", "0.4.2 0.4.9", "0.5.0 0.4.1"},
	{"^0.0.4", "0.0.4", "0.0.5 0.0.3"},
	{"^0.0.0", "0.0.0", "0.0.1"},
	{"^1.4", "1.4.0 1.9.0", "2.0.0 1.3.9"},
	{"^1.4.x", "1.4.0 1.9.0", "2.0.0"},
	{"^0.4", "0.4.0 0.4.9", "0.5.0"},
	{"^0.0", "0.0.0 0.0.9", "0.1.0"},
	{"^0.0.x", "0.0.0 0.0.9", "0.1.0"},
	{"^1", "1.0.0 1.9.9", "2.0.0"},
	{"^0", "0.0.0 0.9.9", "1.0.0"},
	{"^0.x", "0.0.0 0.9.9", "1.0.0"},
	{"^1.5.0-rc.1", "1.5.0-rc.1 1.5.0-rc.2 1.5.0 1.6.0", "1.5.0-beta.9 1.6.0-beta 2.0.0-rc.1 1.4.9"},
	// X-ranges.
	{"*", "0.0.0 1.2.3 99.0.0", "1.2.3-rc.1"},
	{"x", "1.0.0", "1.0.0-rc.1"},
	{"X", "1.0.0", ""},
	{"1.4.x", "1.4.0 1.4.9", "1.5.0 1.3.9 1.4.5-rc.1"},
	{"1.4.X", "1.4.0", "1.5.0"},
	{"1.4.*", "1.4.0", "1.5.0"},
	{"1.4", "1.4.0 1.4.9", "1.5.0"},
	{"1.*", "1.0.0 1.9.9", "2.0.0 0.9.0"},
	{"1.x.x", "1.0.0 1.9.9", "2.0.0"},
	{"1", "1.0.0 1.9.9", "2.0.0"},
	{"v1.x", "1.0.0", "2.0.0"},
	{"=1.4", "1.4.9", "1.5.0"},
	// Hyphen ranges.
	{"1.2.3 - 2.3.4", "1.2.3 2.0.0 2.3.4", "1.2.2 2.3.5 2.3.4-rc.1"},
	{"1.2 - 2.3.4", "1.2.0 2.3.4", "1.1.9 2.3.5"},
	{"1.2.3 - 2.3", "1.2.3 2.3.9", "2.4.0"},
	{"1.2.3 - 2", "2.9.9", "3.0.0"},
	{"* - 2", "0.0.0 2.9.9", "3.0.0"},
	{"1.2.3 - *", "1.2.3 9.0.0", "1.2.2"},
	{"1.2.3-rc.1 - 1.2.3", "1.2.3-rc.1 1.2.3-rc.9 1.2.3", "1.2.3-beta.1 1.2.4"},
	// AND, with spaces or commas.
	{">=1.2 <1.5", "1.2.0 1.4.9", "1.5.0 1.1.9"},
	{">=1.2,<1.5", "1.2.0 1.4.9", "1.5.0 1.1.9"},
	{">=1.2, <1.5", "1.4.9", "1.5.0"},
	{">= 1.2 , < 1.5", "1.4.9", "1.5.0"},
	{"^1.2 !=1.4.0", "1.3.0 1.4.1", "1.4.0"},
	{">1.2 <1.1", "", "1.1.5 1.2.5 1.0.0"},
	// OR.
	{"~1.4 || ^2.1", "1.4.7 2.1.0 2.9.0", "1.5.0 2.0.9 3.0.0"},
	{"1.2.3||2.0.0", "1.2.3 2.0.0", "1.2.4"},
	{"<1.0.0 || >=2.0.0-rc.1", "0.9.0 2.0.0-rc.1 2.0.0 3.0.0", "1.0.0 3.0.0-rc.1"},
	{"1.2.3-rc.1 || ^2", "1.2.3-rc.1 2.5.0", "2.5.0-rc.1 1.2.3-rc.2"},
}

func TestConstraints(t *testing.T) {
	for _, tt := range constraintTests {
		c, err := ParseConstraint(tt.constraint)
		if err != nil {
			t.Errorf("ParseConstraint(%q): %v", tt.constraint, err)
			continue
		}
		if c.String() != tt.constraint {
			t.Errorf("String() = %q, want %q", c.String(), tt.constraint)
		}
		for _, s := range strings.Fields(tt.admits) {
			if v := mustParse(t, s); !c.Admits(v) {
				t.Errorf("%q does not admit %s", tt.constraint, s)
			}
		}
		for _, s := range strings.Fields(tt.rejects) {
			if v := mustParse(t, s); c.Admits(v) {
				t.Errorf("%q admits %s", tt.constraint, s)
			}
		}
	}
}

func TestConstraintErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty version constraint; use * for any release"},
		{"   ", "empty version constraint; use * for any release"},
		{"latest", `version constraint "latest": "latest": "latest" is not a number`},
		{"~", `version constraint "~": operator "~" has no version after it`},
		{">= ", `version constraint ">= ": operator ">=" has no version after it`},
		{">= <2", `version constraint ">= <2": operator ">=" has no version after it`},
		{"1.2 ||", `version constraint "1.2 ||": an alternative of || is empty`},
		{"1.2.3.4", `version constraint "1.2.3.4": "1.2.3.4" has more than MAJOR.MINOR.PATCH`},
		{"1.x.3", `version constraint "1.x.3": "1.x.3": a number follows a wildcard`},
		{"1.2-rc.1", `version constraint "1.2-rc.1": "1.2-rc.1": only a full MAJOR.MINOR.PATCH version may have a pre-release or build metadata`},
		{"01.2.3", `version constraint "01.2.3": "01.2.3": "01" has a leading zero`},
		{"~1.2.3+build", `version constraint "~1.2.3+build": "~1.2.3+build": build metadata has no precedence, so only an exact version may name it`},
		{">=1.2.3+build", `version constraint ">=1.2.3+build": ">=1.2.3+build": build metadata has no precedence, so only an exact version may name it`},
		{"1.2.3+b - 2", `version constraint "1.2.3+b - 2": hyphen range 1.2.3+b - 2: build metadata has no precedence, so a range cannot name it`},
		{"1 - 2 - 3", `version constraint "1 - 2 - 3": hyphen range "1 - 2 - 3": write it as LOW - HIGH, alone in its alternative`},
		{">=1 1 - 2", `version constraint ">=1 1 - 2": hyphen range ">=1 1 - 2": write it as LOW - HIGH, alone in its alternative`},
		{"1.2,- 2", `version constraint "1.2,- 2": hyphen range "1.2,- 2": write it as LOW - HIGH, alone in its alternative`},
		{"!=1.2", `version constraint "!=1.2": "!=1.2": != needs a full MAJOR.MINOR.PATCH version`},
		{"^18446744073709551615", `version constraint "^18446744073709551615": version number 18446744073709551615 is too large to have a next one`},
		{"=>1.2", `version constraint "=>1.2": "=>1.2": unknown operator; use =, !=, <, <=, >, >=, ~ or ^`},
		{"1.2.3 <<2", `version constraint "1.2.3 <<2": "<<2": unknown operator; use =, !=, <, <=, >, >=, ~ or ^`},
	}
	for _, tt := range tests {
		_, err := ParseConstraint(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseConstraint(%q) error = %v\nwant %s", tt.in, err, tt.want)
		}
	}
}

func TestConstraintOnTags(t *testing.T) {
	// Tags write build metadata after "_"; exact constraints name it with +.
	c := MustParseConstraint("=1.4.2+build.7")
	for tag, want := range map[string]bool{"1.4.2_build.7": true, "v1.4.2_build.7": true, "1.4.2_build.8": false, "1.4.2": false} {
		v, ok := ParseTag(tag)
		if !ok {
			t.Fatalf("ParseTag(%q) failed", tag)
		}
		if got := c.Admits(v); got != want {
			t.Errorf("%s admits %s = %t, want %t", c, tag, got, want)
		}
	}
}
