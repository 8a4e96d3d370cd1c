// Package semver parses semantic versions (semver.org 2.0.0) and the
// version constraints people write for them, as npm's node-semver reads
// them, so that promote and pin can pick the highest tag a constraint
// admits.
//
// Its guarantee: a version either parses exactly as the specification says
// (a leading "v" aside) or is rejected, and a constraint either admits a
// version for the documented reason or does not; nothing is guessed. Tags
// such as "1.25", "latest" or "1.2.3.4" are not versions.
package semver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is a semantic version.
type Version struct {
	Major, Minor, Patch uint64
	// Pre holds the dot-separated pre-release identifiers ("rc.1" is
	// ["rc", "1"]); nil for a release.
	Pre []string
	// Build holds the build metadata identifiers, which carry no
	// precedence; nil when there is none.
	Build []string
	// Original is the text the version was parsed from.
	Original string
}

// Parse parses a semantic version, "1.2.3-rc.1+build.5" and the like. A
// leading "v" or "V" is allowed, as tags often carry one; anything else
// outside the specification is an error: missing or extra components,
// leading zeros, empty identifiers, characters outside [0-9A-Za-z-].
func Parse(s string) (Version, error) {
	v, err := parse(s, '+')
	if err != nil {
		return Version{}, fmt.Errorf("%q is not a semantic version: %w", s, err)
	}
	return v, nil
}

// ParseTag parses an image tag as a semantic version. Image tags cannot
// hold "+", so OCI registries (Helm's charts among them) write build
// metadata after "_" instead: "1.2.3_build.5" is 1.2.3+build.5. "+" is
// accepted too, for registries that allow it.
func ParseTag(tag string) (Version, bool) {
	sep := byte('+')
	if strings.Contains(tag, "_") {
		sep = '_'
	}
	v, err := parse(tag, sep)
	return v, err == nil
}

func parse(s string, buildSep byte) (Version, error) {
	v := Version{Original: s}
	rest := s
	if len(rest) > 0 && (rest[0] == 'v' || rest[0] == 'V') {
		rest = rest[1:]
	}
	if i := strings.IndexByte(rest, buildSep); i >= 0 {
		build, err := identifiers(rest[i+1:], "build metadata", false)
		if err != nil {
			return Version{}, err
		}
		v.Build, rest = build, rest[:i]
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		pre, err := identifiers(rest[i+1:], "pre-release", true)
		if err != nil {
			return Version{}, err
		}
		v.Pre, rest = pre, rest[:i]
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return Version{}, errors.New("want MAJOR.MINOR.PATCH")
	}
	for i, p := range []*uint64{&v.Major, &v.Minor, &v.Patch} {
		n, err := number(parts[i])
		if err != nil {
			return Version{}, err
		}
		*p = n
	}
	return v, nil
}

// number parses a numeric identifier: digits, no leading zero.
func number(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty version number")
	}
	if !allDigits(s) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n, nil
}

// identifiers splits dot-separated pre-release or build identifiers.
// Numeric pre-release identifiers must not have leading zeros; build
// identifiers may.
func identifiers(s, what string, numericRule bool) ([]string, error) {
	ids := strings.Split(s, ".")
	for _, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("empty %s identifier", what)
		}
		for _, c := range []byte(id) {
			if !isAlnum(c) && c != '-' {
				return nil, fmt.Errorf("%s identifier %q has a character outside [0-9A-Za-z-]", what, id)
			}
		}
		if numericRule && allDigits(id) && len(id) > 1 && id[0] == '0' {
			return nil, fmt.Errorf("%s identifier %q has a leading zero", what, id)
		}
	}
	return ids, nil
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// String writes the version in canonical form, without a leading "v".
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if len(v.Pre) > 0 {
		s += "-" + strings.Join(v.Pre, ".")
	}
	if len(v.Build) > 0 {
		s += "+" + strings.Join(v.Build, ".")
	}
	return s
}

// Prerelease reports whether v is a pre-release.
func (v Version) Prerelease() bool { return len(v.Pre) > 0 }

// Compare returns -1, 0 or +1 as a has lower, equal or higher precedence
// than b (semver §11). Build metadata is ignored: 1.0.0+a and 1.0.0+b are
// equal.
func Compare(a, b Version) int {
	for _, d := range [...][2]uint64{{a.Major, b.Major}, {a.Minor, b.Minor}, {a.Patch, b.Patch}} {
		if d[0] != d[1] {
			return cmpUint(d[0], d[1])
		}
	}
	switch {
	case len(a.Pre) == 0 && len(b.Pre) == 0:
		return 0
	case len(a.Pre) == 0:
		return 1 // a release ranks above its pre-releases
	case len(b.Pre) == 0:
		return -1
	}
	return compareIdentifiers(a.Pre, b.Pre)
}

// compareIdentifiers orders identifier lists as semver orders pre-release
// identifiers: numeric ones numerically and below alphanumeric ones, others
// in ASCII order, and a shorter list below a longer one it is a prefix of.
func compareIdentifiers(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := compareIdentifier(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmpUint(uint64(len(a)), uint64(len(b)))
}

func compareIdentifier(a, b string) int {
	an, bn := allDigits(a), allDigits(b)
	switch {
	case an && bn:
		// Compare by length first: numbers of any size, no overflow.
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			return cmpUint(uint64(len(a)), uint64(len(b)))
		}
		return strings.Compare(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CompareTags orders versions for choosing among tags: by precedence, then,
// between versions of equal precedence, by build metadata (compared like
// pre-release identifiers, none lowest), then by the original text, so
// that the order is total and a choice never depends on listing order.
func CompareTags(a, b Version) int {
	if c := Compare(a, b); c != 0 {
		return c
	}
	switch {
	case len(a.Build) == 0 && len(b.Build) > 0:
		return -1
	case len(a.Build) > 0 && len(b.Build) == 0:
		return 1
	}
	if c := compareIdentifiers(a.Build, b.Build); c != 0 {
		return c
	}
	return strings.Compare(a.Original, b.Original)
}
