package promote

import "fmt"

// An Option names a field of Options in an error message. The library
// spells it as the field's name; a caller that took the value from a flag
// or a setting spells it that way, through Describe.
type Option string

// The options an error can be about.
const (
	OptImages         Option = "Images"
	OptPath           Option = "Path"
	OptSourceRevision Option = "SourceRevision"
	OptExpectHead     Option = "ExpectHead"
	OptDryRun         Option = "DryRun"
	OptNoPush         Option = "NoPush"
	OptMessage        Option = "Message"
	OptTagRules       Option = "TagRules"
	OptSourceRepoDir  Option = "SourceRepoDir"
)

// phrase is a message whose Option arguments are spelled by the reader.
type phrase struct {
	format string
	args   []any
}

func (p phrase) describe(spell func(Option) string) string {
	args := make([]any, len(p.args))
	for i, a := range p.args {
		if o, ok := a.(Option); ok {
			a = spell(o)
		}
		args[i] = a
	}
	return fmt.Errorf(p.format, args...).Error()
}

func (p phrase) unwrap() []error {
	var errs []error
	for _, a := range p.args {
		if err, ok := a.(error); ok {
			errs = append(errs, err)
		}
	}
	return errs
}

func fieldName(o Option) string { return string(o) }

// UsageError is a mistake in what was asked: a bad or missing option, a
// path that does not exist or renders no such image, a message template
// that does not render. Nothing was changed.
type UsageError struct{ phrase }

func usageError(format string, args ...any) *UsageError {
	return &UsageError{phrase{format, args}}
}

func (e *UsageError) Error() string { return e.describe(fieldName) }

// Describe is the message with each option spelled by spell.
func (e *UsageError) Describe(spell func(Option) string) string { return e.describe(spell) }

func (e *UsageError) Unwrap() []error { return e.unwrap() }

// RevisionError says an image was built from another commit than
// Options.SourceRevision: pinning it would record an artifact of another
// commit. Nothing was changed.
type RevisionError struct {
	phrase
	// Image is the reference as given, Revision the commit its
	// org.opencontainers.image.revision label names.
	Image, Revision string
}

func (e *RevisionError) Error() string { return e.describe(fieldName) }

// Describe is the message with each option spelled by spell.
func (e *RevisionError) Describe(spell func(Option) string) string { return e.describe(spell) }

// SupersededError means the branch moved past Options.ExpectHead (or past
// the head a change was built on, when ExpectHead is set), so a newer
// pipeline owns the pin. Nothing was pushed.
type SupersededError struct {
	Branch string
	// From is the commit the branch was expected at, To where it is.
	From, To string
	// Repository, when set, says the build is out of order instead: the
	// pin of Repository in File, written by Commit, was built from To,
	// which in the source repository's history descends from From
	// (Options.SourceRevision). Publishing From's image would go back.
	Repository, File, Commit string
}

func (e *SupersededError) Error() string {
	if e.Repository != "" {
		return fmt.Sprintf("superseded: the pin in Git was built from %s, which is newer than %s (%s in %s, pinned by commit %s)", e.To, e.From, e.Repository, e.File, e.Commit)
	}
	return fmt.Sprintf("superseded: branch %s advanced from %s to %s; the newer commit's pipeline will pin its own image", e.Branch, e.From, e.To)
}

// A Describer is an error whose message names options, spelled by spell.
type Describer interface {
	error
	Describe(spell func(Option) string) string
}

var (
	_ Describer = (*UsageError)(nil)
	_ Describer = (*RevisionError)(nil)
)
