package semver

import "testing"

// FuzzParse: whatever Parse accepts prints in a canonical form that parses
// back to a version of equal precedence and equal build metadata.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.2.3", "v1.0.0-rc.1+b.2", "1.0.0-0.3.7", "01.2.3", "1.2", "1.2.3-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(v.String())
		if err != nil {
			t.Fatalf("%q parsed, its canonical form %q does not: %v", s, v.String(), err)
		}
		if CompareTags(v, again) != 0 && again.String() != v.String() {
			t.Fatalf("%q and its canonical form %q differ", s, v.String())
		}
	})
}

// FuzzConstraint: parsing any text and judging versions with the result
// never panics, and an exact constraint admits its own version.
func FuzzConstraint(f *testing.F) {
	for _, s := range []string{"^1.2.3", "~1.4 || >=2.0.0-rc.1 <3", "1.2 - 1.4.x", ">=1,<2", "*", "!=1.2.3"} {
		f.Add(s, "1.2.3")
	}
	f.Fuzz(func(t *testing.T, constraint, version string) {
		c, err := ParseConstraint(constraint)
		if v, verr := Parse(version); verr == nil {
			if err == nil {
				c.Admits(v)
			}
			if exact, err := ParseConstraint("=" + v.String()); err != nil || !exact.Admits(v) {
				t.Fatalf("=%s does not admit %s (%v)", v, v, err)
			}
		}
	})
}
