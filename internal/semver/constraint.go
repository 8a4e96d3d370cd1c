package semver

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Constraint is a set of version ranges, read the way npm's node-semver
// reads them:
//
//	1.4.2  =1.4.2            exactly that version
//	>1.4  >=1.4  <2  <=1.4.2 comparisons; a partial version fills in as a range
//	!=1.4.2                  anything but that version
//	~1.4.2  ~1.4  ~1         patch updates (minor updates for ~1); ~> is ~
//	^1.4.2  ^0.4.2  ^0.0.4   updates that keep the left-most non-zero number
//	1.4.x  1.4  1.*  1  *    x-ranges: any version in that place
//	1.2 - 1.4.2              hyphen range, inclusive
//	>=1.2 <1.5  >=1.2,<1.5   space or comma: all must hold
//	~1.4 || ^2.1             either may hold
//
// A leading "v" is allowed on every version. A pre-release version is
// admitted only when a comparator of the same alternative names a
// pre-release of the same MAJOR.MINOR.PATCH ("^1.5.0-rc.1" admits
// 1.5.0-rc.2 but not 1.6.0-beta): constraints that name none admit only
// releases. Build metadata carries no precedence: it is ignored when
// comparing, and a constraint may name it only on an exact version, which
// then admits only that build.
type Constraint struct {
	text string
	// sets are the alternatives; each holds comparators that must all hold.
	sets [][]comparator
}

type op int

const (
	opEQ op = iota
	opNE
	opLT
	opLE
	opGT
	opGE
)

type comparator struct {
	op op
	v  Version
	// named is true when the user wrote v's pre-release, which lets
	// pre-releases of that MAJOR.MINOR.PATCH through; the "-0" upper
	// bounds ranges expand to do not.
	named bool
	// build, for an exact comparator written with build metadata, is
	// compared too.
	build bool
}

// String returns the constraint as written.
func (c Constraint) String() string { return c.text }

// ParseConstraint parses a constraint. Errors name the part that is wrong.
func ParseConstraint(s string) (Constraint, error) {
	c := Constraint{text: s}
	if strings.TrimSpace(s) == "" {
		return Constraint{}, errors.New("empty version constraint; use * for any release")
	}
	for _, alt := range strings.Split(s, "||") {
		set, err := parseSet(alt)
		if err != nil {
			return Constraint{}, fmt.Errorf("version constraint %q: %w", s, err)
		}
		c.sets = append(c.sets, set)
	}
	return c, nil
}

// MustParseConstraint is ParseConstraint for constants; it panics on error.
func MustParseConstraint(s string) Constraint {
	c, err := ParseConstraint(s)
	if err != nil {
		panic(err)
	}
	return c
}

// Admits reports whether v satisfies the constraint.
func (c Constraint) Admits(v Version) bool {
	for _, set := range c.sets {
		if admits(set, v) {
			return true
		}
	}
	return false
}

func admits(set []comparator, v Version) bool {
	for _, cmp := range set {
		if !cmp.holds(v) {
			return false
		}
	}
	if !v.Prerelease() {
		return true
	}
	for _, cmp := range set {
		if cmp.named && cmp.v.Major == v.Major && cmp.v.Minor == v.Minor && cmp.v.Patch == v.Patch {
			return true
		}
	}
	return false
}

func (c comparator) holds(v Version) bool {
	d := Compare(v, c.v)
	switch c.op {
	case opEQ:
		return d == 0 && (!c.build || equalIDs(v.Build, c.v.Build))
	case opNE:
		return d != 0
	case opLT:
		return d < 0
	case opLE:
		return d <= 0
	case opGT:
		return d > 0
	case opGE:
		return d >= 0
	}
	return false
}

func equalIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// parseSet parses one alternative: a hyphen range, or comparators that must
// all hold, separated by spaces or commas.
func parseSet(s string) ([]comparator, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
	if len(fields) == 0 {
		return nil, errors.New("an alternative of || is empty")
	}
	if i := indexOf(fields, "-"); i >= 0 {
		if len(fields) != 3 || i != 1 || strings.Contains(s, ",") {
			return nil, fmt.Errorf("hyphen range %q: write it as LOW - HIGH, alone in its alternative", strings.TrimSpace(s))
		}
		return hyphen(fields[0], fields[2])
	}
	var set []comparator
	for i := 0; i < len(fields); i++ {
		term := fields[i]
		// ">= 1.2" is written with a space after the operator.
		if isOperator(term) {
			if i+1 == len(fields) || strings.ContainsRune(operatorChars, rune(fields[i+1][0])) {
				return nil, fmt.Errorf("operator %q has no version after it", term)
			}
			i++
			term += fields[i]
		}
		cmps, err := parseTerm(term)
		if err != nil {
			return nil, err
		}
		set = append(set, cmps...)
	}
	return set, nil
}

func indexOf(fields []string, s string) int {
	for i, f := range fields {
		if f == s {
			return i
		}
	}
	return -1
}

const operatorChars = "<>=!~^"

var operators = []string{"~>", ">=", "<=", "!=", "==", "~", "^", ">", "<", "="}

func isOperator(s string) bool {
	for _, o := range operators {
		if s == o {
			return true
		}
	}
	return false
}

// parseTerm parses one comparator as written, expanding ranges.
func parseTerm(term string) ([]comparator, error) {
	var operator string
	for _, o := range operators {
		if strings.HasPrefix(term, o) {
			operator = o
			break
		}
	}
	rest := term[len(operator):]
	if rest != "" && strings.ContainsRune(operatorChars, rune(rest[0])) {
		return nil, fmt.Errorf("%q: unknown operator; use =, !=, <, <=, >, >=, ~ or ^", term)
	}
	p, err := parsePartial(rest)
	if err != nil {
		return nil, err
	}
	if len(p.build) > 0 && !(p.full() && (operator == "" || operator == "=" || operator == "==")) {
		return nil, fmt.Errorf("%q: build metadata has no precedence, so only an exact version may name it", term)
	}
	switch operator {
	case "", "=", "==":
		return exact(p)
	case "!=":
		if !p.full() {
			return nil, fmt.Errorf("%q: != needs a full MAJOR.MINOR.PATCH version", term)
		}
		// Excluding one pre-release does not ask for the others.
		return []comparator{{op: opNE, v: p.version()}}, nil
	case ">":
		return greater(p)
	case ">=":
		if p.any() {
			return nil, nil
		}
		return []comparator{{op: opGE, v: p.version(), named: p.hasPre()}}, nil
	case "<":
		if p.full() {
			return []comparator{{op: opLT, v: p.version(), named: p.hasPre()}}, nil
		}
		if p.any() {
			return nothing(), nil
		}
		return []comparator{{op: opLT, v: p.floor()}}, nil
	case "<=":
		if p.full() {
			return []comparator{{op: opLE, v: p.version(), named: p.hasPre()}}, nil
		}
		if p.any() {
			return nil, nil
		}
		return upperBelow(p)
	case "~", "~>":
		return tilde(p)
	case "^":
		return caret(p)
	}
	return nil, fmt.Errorf("%q: unknown operator", term)
}

// nothing is a comparator no version satisfies: 0.0.0-0 is the lowest
// version there is.
func nothing() []comparator {
	return []comparator{{op: opLT, v: Version{Pre: []string{"0"}}}}
}

// exact is a bare or "=" version: exact when full, an x-range otherwise.
func exact(p partial) ([]comparator, error) {
	if p.full() {
		return []comparator{{op: opEQ, v: p.version(), named: p.hasPre(), build: len(p.build) > 0}}, nil
	}
	if p.any() {
		return nil, nil
	}
	return between(p.floorVersion(), p)
}

// between is >= low and below the next value of p's last given number.
func between(low Version, p partial) ([]comparator, error) {
	upper, err := upperBelow(p)
	if err != nil {
		return nil, err
	}
	return append([]comparator{{op: opGE, v: low}}, upper...), nil
}

// upperBelow is "< the version after p's last given number": <2.0.0-0 for
// 1 and 1.x, <1.3.0-0 for 1.2.
func upperBelow(p partial) ([]comparator, error) {
	switch p.given {
	case 1:
		next, err := inc(p.major)
		if err != nil {
			return nil, err
		}
		return []comparator{{op: opLT, v: floorOf(next, 0, 0)}}, nil
	case 2:
		next, err := inc(p.minor)
		if err != nil {
			return nil, err
		}
		return []comparator{{op: opLT, v: floorOf(p.major, next, 0)}}, nil
	}
	next, err := inc(p.patch)
	if err != nil {
		return nil, err
	}
	return []comparator{{op: opLT, v: floorOf(p.major, p.minor, next)}}, nil
}

func greater(p partial) ([]comparator, error) {
	switch {
	case p.any():
		return nothing(), nil
	case p.full():
		return []comparator{{op: opGT, v: p.version(), named: p.hasPre()}}, nil
	}
	// >1 is >=2.0.0, >1.2 is >=1.3.0.
	upper, err := upperBelow(p)
	if err != nil {
		return nil, err
	}
	v := upper[0].v
	v.Pre = nil
	return []comparator{{op: opGE, v: v}}, nil
}

func tilde(p partial) ([]comparator, error) {
	switch {
	case p.any():
		return nil, nil
	case p.given == 1:
		return between(p.floorVersion(), p)
	}
	next, err := inc(p.minor)
	if err != nil {
		return nil, err
	}
	return []comparator{
		{op: opGE, v: p.floorVersion(), named: p.hasPre()},
		{op: opLT, v: floorOf(p.major, next, 0)},
	}, nil
}

func caret(p partial) ([]comparator, error) {
	if p.any() {
		return nil, nil
	}
	low := comparator{op: opGE, v: p.floorVersion(), named: p.hasPre()}
	var upper Version
	var err error
	switch {
	case p.major > 0 || p.given == 1:
		var next uint64
		next, err = inc(p.major)
		upper = floorOf(next, 0, 0)
	case p.minor > 0 || p.given == 2:
		var next uint64
		next, err = inc(p.minor)
		upper = floorOf(0, next, 0)
	default:
		var next uint64
		next, err = inc(p.patch)
		upper = floorOf(0, 0, next)
	}
	if err != nil {
		return nil, err
	}
	return []comparator{low, {op: opLT, v: upper}}, nil
}

func hyphen(lowText, highText string) ([]comparator, error) {
	low, err := parsePartial(lowText)
	if err != nil {
		return nil, err
	}
	high, err := parsePartial(highText)
	if err != nil {
		return nil, err
	}
	if len(low.build) > 0 || len(high.build) > 0 {
		return nil, fmt.Errorf("hyphen range %s - %s: build metadata has no precedence, so a range cannot name it", lowText, highText)
	}
	var set []comparator
	if !low.any() {
		set = append(set, comparator{op: opGE, v: low.floorVersion(), named: low.hasPre()})
	}
	switch {
	case high.any():
	case high.full():
		set = append(set, comparator{op: opLE, v: high.version(), named: high.hasPre()})
	default:
		upper, err := upperBelow(high)
		if err != nil {
			return nil, err
		}
		set = append(set, upper...)
	}
	return set, nil
}

func inc(n uint64) (uint64, error) {
	if n == math.MaxUint64 {
		return 0, fmt.Errorf("version number %d is too large to have a next one", n)
	}
	return n + 1, nil
}

// floorOf is the lowest version of MAJOR.MINOR.PATCH, its "-0" pre-release,
// so that a "<" bound excludes that release's pre-releases too.
func floorOf(major, minor, patch uint64) Version {
	return Version{Major: major, Minor: minor, Patch: patch, Pre: []string{"0"}}
}

// partial is a version as written in a constraint, where trailing numbers
// may be missing or wildcards (x, X, *).
type partial struct {
	major, minor, patch uint64
	// given counts the leading numbers that are neither missing nor
	// wildcards: 0 for "*", 2 for "1.4.x".
	given      int
	pre, build []string
	text       string
}

func (p partial) any() bool    { return p.given == 0 }
func (p partial) full() bool   { return p.given == 3 }
func (p partial) hasPre() bool { return len(p.pre) > 0 }

func (p partial) version() Version {
	return Version{Major: p.major, Minor: p.minor, Patch: p.patch, Pre: p.pre, Build: p.build, Original: p.text}
}

// floorVersion is the lowest release the partial covers, with the
// pre-release when one was written: 1.4 is 1.4.0.
func (p partial) floorVersion() Version {
	return Version{Major: p.major, Minor: p.minor, Patch: p.patch, Pre: p.pre}
}

// floor is the "-0" floor of the partial: 1.4 is 1.4.0-0.
func (p partial) floor() Version { return floorOf(p.major, p.minor, p.patch) }

func parsePartial(s string) (partial, error) {
	p := partial{text: s}
	if s == "" {
		return partial{}, errors.New("a version is missing")
	}
	rest := s
	if rest[0] == 'v' || rest[0] == 'V' {
		rest = rest[1:]
	}
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		build, err := identifiers(rest[i+1:], "build metadata", false)
		if err != nil {
			return partial{}, fmt.Errorf("%q: %w", s, err)
		}
		p.build, rest = build, rest[:i]
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		pre, err := identifiers(rest[i+1:], "pre-release", true)
		if err != nil {
			return partial{}, fmt.Errorf("%q: %w", s, err)
		}
		p.pre, rest = pre, rest[:i]
	}
	parts := strings.Split(rest, ".")
	if len(parts) > 3 {
		return partial{}, fmt.Errorf("%q has more than MAJOR.MINOR.PATCH", s)
	}
	wild := false
	for i, part := range parts {
		if part == "x" || part == "X" || part == "*" {
			wild = true
			continue
		}
		if wild {
			return partial{}, fmt.Errorf("%q: a number follows a wildcard", s)
		}
		n, err := number(part)
		if err != nil {
			return partial{}, fmt.Errorf("%q: %w", s, err)
		}
		*[]*uint64{&p.major, &p.minor, &p.patch}[i] = n
		p.given++
	}
	if (len(p.pre) > 0 || len(p.build) > 0) && !p.full() {
		return partial{}, fmt.Errorf("%q: only a full MAJOR.MINOR.PATCH version may have a pre-release or build metadata", s)
	}
	return p, nil
}
