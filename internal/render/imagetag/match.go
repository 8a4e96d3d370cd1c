package imagetag

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"sigs.k8s.io/kustomize/api/types"

	"github.com/digestpin/digestpin/internal/imageref"
)

// This file states, in our own code, kustomize's rules for which images:
// entry matches a reference and what it writes there (kustomize keeps them
// unexported, in api v0.21.2's internal/image and filters/imagetag), and
// holds an index that finds the matching entries without trying every
// one. The split of a reference is imageref.Split. The differential tests
// and FuzzImages in internal/render hold all of it equal to kustomize.

// imageSuffixPattern follows the name in the pattern of IsImageMatched
// (api/internal/image/image.go:28).
const imageSuffixPattern = "(:[a-zA-Z0-9_.{}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{}-]*)?$"

// compileImageName compiles the pattern kustomize's IsImageMatched builds
// for an images: entry name (api/internal/image/image.go:13-33). The name
// is used as a regular expression, unquoted: "ghcr.io" also matches
// "ghcrXio", "a|b" changes the anchoring. A name that does not compile
// matches nothing (nil).
func compileImageName(name string) *regexp.Regexp {
	re, err := regexp.Compile("^" + name + imageSuffixPattern)
	if err != nil {
		return nil
	}
	return re
}

// updateImage is the value kustomize's image tag updater writes for a
// matched reference: newName replaces the name; newTag or digest, either
// or both, replace what was written after the name, tag and digest alike;
// tagSuffix (only without both) extends the tag and drops the digest. This
// is our own statement of that rule, held equal to kustomize's by the
// differential tests and FuzzImages in internal/render.
func updateImage(img types.Image, value string) string {
	name, tag, digest := imageref.Split(value)
	if img.NewName != "" {
		name = img.NewName
	}
	if img.NewTag != "" || img.Digest != "" {
		tag, digest = img.NewTag, img.Digest
	} else if img.TagSuffix != "" {
		tag, digest = tag+img.TagSuffix, ""
	}
	var b strings.Builder
	b.WriteString(name)
	if tag != "" {
		b.WriteString(":" + tag)
	}
	if digest != "" {
		b.WriteString("@" + digest)
	}
	return b.String()
}

// imageMatcher applies a list of images: entries the way kustomize's chain
// of ImageTagTransformers does, to one value at a time.
//
// kustomize compiles the entry's pattern for every value it compares, and
// compares every value with every entry. Most names are literal text but
// for their dots; for such a simple name, the pattern matches a value
// exactly when the value's first runes, as many as the name's, match the
// name rune by rune ('.' matching any rune but a newline) and the rest
// matches imageSuffixPattern. The matcher checks simple names that way,
// without a regexp of their own, and finds the ones to check through an
// index: the rest of the value starts with ':' or '@' or is empty, and the
// text before it ends with the name's text after its last dot. Other names
// are compiled once, as kustomize compiles them, and tried on every value.
type imageMatcher struct {
	entries []matcherEntry
	// byTail indexes the simple entries by their text after the last dot;
	// tailLens lists the distinct tail lengths, ascending.
	byTail   map[string][]int
	tailLens []int
	// complex are the entries whose names use other regexp syntax.
	complex []int
	// matches memoizes the sorted indexes of the entries matching a value.
	matches map[string][]int
	finals  map[finalKey]finalValue
}

type matcherEntry struct {
	img types.Image
	// simple: name is matched rune by rune; otherwise re, nil when the
	// pattern does not compile (it then matches nothing).
	simple bool
	runes  int
	re     *regexp.Regexp
}

type finalKey struct {
	value string
	times int
}

type finalValue struct {
	value   string
	matched bool
}

// imageSuffix matches what may follow the name.
var imageSuffix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("^" + imageSuffixPattern) })

// maxSimpleName bounds the names matched rune by rune; a longer one could
// exceed the size a regexp may have, and is left to the regexp package.
const maxSimpleName = 4096

// newImageMatcher returns the matcher of the entries, in order.
func newImageMatcher(images []types.Image) *imageMatcher {
	m := &imageMatcher{
		byTail:  map[string][]int{},
		matches: map[string][]int{},
		finals:  map[finalKey]finalValue{},
	}
	lens := map[int]bool{}
	for i, img := range images {
		e := matcherEntry{img: img}
		if simpleImageName(img.Name) {
			e.simple = true
			e.runes = utf8.RuneCountInString(img.Name)
			tail := img.Name[strings.LastIndexByte(img.Name, '.')+1:]
			m.byTail[tail] = append(m.byTail[tail], i)
			lens[len(tail)] = true
		} else {
			e.re = compileImageName(img.Name)
			if e.re != nil {
				m.complex = append(m.complex, i)
			}
		}
		m.entries = append(m.entries, e)
	}
	for l := range lens {
		m.tailLens = append(m.tailLens, l)
	}
	slices.Sort(m.tailLens)
	return m
}

// simpleImageName reports whether a name, as a regexp, is its literal text
// with '.' matching any rune but a newline. A literal U+FFFD would also
// match an invalid byte of the value, whose bytes differ: not simple.
func simpleImageName(name string) bool {
	return len(name) <= maxSimpleName && utf8.ValidString(name) &&
		!strings.ContainsAny(name, `\+*?()|[]{}^$`) && !strings.ContainsRune(name, utf8.RuneError)
}

// matchSimple is the simple name's pattern applied to value.
func matchSimple(name, value string) bool {
	for _, want := range name {
		if value == "" {
			return false
		}
		got, size := utf8.DecodeRuneInString(value)
		if want == '.' {
			if got == '\n' {
				return false
			}
		} else if got != want {
			return false
		}
		value = value[size:]
	}
	return imageSuffix().MatchString(value)
}

// matching returns the indexes, ascending, of the entries whose pattern
// matches value.
func (m *imageMatcher) matching(value string) []int {
	if got, ok := m.matches[value]; ok {
		return got
	}
	var out []int
	for i := 0; i <= len(value); i++ {
		if i < len(value) && value[i] != ':' && value[i] != '@' {
			continue
		}
		prefix := value[:i]
		for _, l := range m.tailLens {
			if l > len(prefix) {
				break
			}
			for _, e := range m.byTail[prefix[len(prefix)-l:]] {
				if matchSimple(m.entries[e].img.Name, value) {
					out = append(out, e)
				}
			}
		}
	}
	for _, e := range m.complex {
		if m.entries[e].re.MatchString(value) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	m.matches[value] = out
	return out
}

// final returns what kustomize's images: entries, applied in order, make
// of value, at a field every entry visits `times` times (once for each
// filter and field spec that reaches it), and whether any entry matched:
// kustomize rewrites a matched field even when its value stays the same.
// Entry i+1 sees what entry i wrote.
func (m *imageMatcher) final(value string, times int) (string, bool) {
	key := finalKey{value, times}
	if got, ok := m.finals[key]; ok {
		return got.value, got.matched
	}
	matched := false
	for next := 0; ; {
		candidates := m.matching(value)
		j, _ := slices.BinarySearch(candidates, next)
		if j == len(candidates) {
			break
		}
		e := candidates[j]
		for range times {
			if _, ok := slices.BinarySearch(m.matching(value), e); !ok {
				break
			}
			value = updateImage(m.entries[e].img, value)
			matched = true
		}
		next = e + 1
	}
	m.finals[key] = finalValue{value, matched}
	return value, matched
}
