package semver

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical form
	}{
		{"0.0.0", "0.0.0"},
		{"1.2.3", "1.2.3"},
		{"v1.2.3", "1.2.3"},
		{"V1.2.3", "1.2.3"},
		{"10.20.30", "10.20.30"},
		{"1.0.0-alpha", "1.0.0-alpha"},
		{"1.0.0-alpha.1", "1.0.0-alpha.1"},
		{"1.0.0-0.3.7", "1.0.0-0.3.7"},
		{"1.0.0-x.7.z.92", "1.0.0-x.7.z.92"},
		{"1.0.0-x-y-z.--", "1.0.0-x-y-z.--"},
		{"1.0.0-alpha+001", "1.0.0-alpha+001"},
		{"1.0.0+20130313144700", "1.0.0+20130313144700"},
		{"1.0.0-beta+exp.sha.5114f85", "1.0.0-beta+exp.sha.5114f85"},
		{"1.0.0+21AF26D3----117B344092BD", "1.0.0+21AF26D3----117B344092BD"},
		{"18446744073709551615.0.0", "18446744073709551615.0.0"},
	}
	for _, tt := range tests {
		v, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if v.String() != tt.want || v.Original != tt.in {
			t.Errorf("Parse(%q) = %s (original %q), want %s", tt.in, v, v.Original, tt.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `"" is not a semantic version: want MAJOR.MINOR.PATCH`},
		{"latest", `"latest" is not a semantic version: want MAJOR.MINOR.PATCH`},
		{"1.25", `"1.25" is not a semantic version: want MAJOR.MINOR.PATCH`},
		{"1", `"1" is not a semantic version: want MAJOR.MINOR.PATCH`},
		{"1.2.3.4", `"1.2.3.4" is not a semantic version: want MAJOR.MINOR.PATCH`},
		{"01.2.3", `"01.2.3" is not a semantic version: "01" has a leading zero`},
		{"1.02.3", `"1.02.3" is not a semantic version: "02" has a leading zero`},
		{"1.2.03", `"1.2.03" is not a semantic version: "03" has a leading zero`},
		{"1.2.3-01", `"1.2.3-01" is not a semantic version: pre-release identifier "01" has a leading zero`},
		{"1.2.3-", `"1.2.3-" is not a semantic version: empty pre-release identifier`},
		{"1.2.3-a..b", `"1.2.3-a..b" is not a semantic version: empty pre-release identifier`},
		{"1.2.3+", `"1.2.3+" is not a semantic version: empty build metadata identifier`},
		{"1.2.3-a_b", `"1.2.3-a_b" is not a semantic version: pre-release identifier "a_b" has a character outside [0-9A-Za-z-]`},
		{"1.2.x", `"1.2.x" is not a semantic version: "x" is not a number`},
		{"vv1.2.3", `"vv1.2.3" is not a semantic version: "v1" is not a number`},
		{" 1.2.3", `" 1.2.3" is not a semantic version: " 1" is not a number`},
		{"1.2.-3", `"1.2.-3" is not a semantic version: empty version number`},
		{"18446744073709551616.0.0", `"18446744073709551616.0.0" is not a semantic version: "18446744073709551616" is too large`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v, want %s", tt.in, err, tt.want)
		}
	}
}

func TestParseTag(t *testing.T) {
	tests := []struct {
		tag  string
		want string // "" when not a version
	}{
		{"1.2.3", "1.2.3"},
		{"v1.2.3", "1.2.3"},
		{"1.2.3-rc.1", "1.2.3-rc.1"},
		{"1.2.3_build.5", "1.2.3+build.5"},    // OCI's spelling of +
		{"v1.2.3-rc.1_b.7", "1.2.3-rc.1+b.7"}, // pre-release and build
		{"1.2.3+build.5", "1.2.3+build.5"},    // where a registry allows +
		{"1.2.3_a+b", ""},                     // _ is the separator, + is then invalid
		{"latest", ""}, {"main", ""}, {"sha-4b825dc", ""}, {"1.25", ""}, {"1.2.3.4", ""}, {"v1", ""},
		{"2024.01.15", ""}, // leading zero
		{"1.2.3-", ""},
	}
	for _, tt := range tests {
		v, ok := ParseTag(tt.tag)
		switch {
		case tt.want == "" && ok:
			t.Errorf("ParseTag(%q) = %s, want no version", tt.tag, v)
		case tt.want != "" && (!ok || v.String() != tt.want || v.Original != tt.tag):
			t.Errorf("ParseTag(%q) = %s, %t, want %s", tt.tag, v, ok, tt.want)
		}
	}
}

func TestCompareFollowsTheSpecification(t *testing.T) {
	// semver.org §11, ascending, plus numbers past one digit and past 64 bits.
	ordered := []string{
		"1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-99999999999999999999999",
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0-alpha",
		"2.0.0", "10.0.0",
	}
	for i := range ordered {
		for j := range ordered {
			a, b := mustParse(t, ordered[i]), mustParse(t, ordered[j])
			want := cmpUint(uint64(i), uint64(j))
			if got := Compare(a, b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	// Build metadata and the v prefix carry no precedence.
	for _, pair := range [][2]string{{"1.0.0+a", "1.0.0+b"}, {"1.0.0", "1.0.0+build.1"}, {"v1.0.0", "1.0.0"}, {"1.0.0-rc.1+x", "1.0.0-rc.1"}} {
		if got := Compare(mustParse(t, pair[0]), mustParse(t, pair[1])); got != 0 {
			t.Errorf("Compare(%s, %s) = %d, want 0", pair[0], pair[1], got)
		}
	}
}

func TestCompareTagsIsTotal(t *testing.T) {
	tags := []string{"1.0.0+build.10", "v1.0.0", "1.0.0", "1.0.0_build.9", "1.0.0_build.10", "0.9.0", "1.0.0-rc.1", "1.0.0_build.a", "1.0.1"}
	var versions []Version
	for _, tag := range tags {
		v, ok := ParseTag(tag)
		if !ok {
			t.Fatalf("ParseTag(%q) failed", tag)
		}
		versions = append(versions, v)
	}
	slices.SortFunc(versions, CompareTags)
	var got []string
	for _, v := range versions {
		got = append(got, v.Original)
	}
	// Equal precedence: no build metadata first, then build identifiers
	// (numeric ones numerically, below alphanumeric), then the text.
	want := "0.9.0 1.0.0-rc.1 1.0.0 v1.0.0 1.0.0_build.9 1.0.0+build.10 1.0.0_build.10 1.0.0_build.a 1.0.1"
	if strings.Join(got, " ") != want {
		t.Errorf("sorted = %s\nwant     %s", strings.Join(got, " "), want)
	}
}

func mustParse(t *testing.T, s string) Version {
	t.Helper()
	v, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
