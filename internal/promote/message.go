package promote

import (
	"fmt"
	"strings"
	"text/template"
	"unicode"
)

// Image is one resolved image, as recorded in Git.
type Image struct {
	// Reference is the reference as given, e.g. "ghcr.io/acme/web:v2".
	Reference string
	// Repository is the repository as given, e.g. "ghcr.io/acme/web".
	Repository string
	// Tag is the tag as given, "" for a digest reference without one.
	Tag string
	// Digest is what the registry serves, "sha256:<hex>".
	Digest string
}

// Pinned is the reference the render will show: repository, tag, digest.
func (i Image) Pinned() string {
	ref := i.Repository
	if i.Tag != "" {
		ref += ":" + i.Tag
	}
	return ref + "@" + i.Digest
}

// Data is what a commit message template sees.
type Data struct {
	Images         []Image
	Path           string
	Branch         string
	SourceRevision string
}

// DefaultMessage is the commit message template used when Message is
// empty.
const DefaultMessage = `{{if eq (len .Images) 1}}Pin {{(index .Images 0).Reference}}{{else}}Pin {{len .Images}} images{{end}} in {{.Path}}
{{range .Images}}
{{.Reference}} -> {{.Digest}}{{end}}
`

func parseMessage(text string) (*template.Template, error) {
	t, err := template.New("message").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, usageError("%s is not a valid template: %w", OptMessage, err)
	}
	return t, nil
}

// message renders the template and appends the trailers that tools (and
// people reading `git log`) rely on, whatever the template says.
func message(t *template.Template, d Data) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", usageError("rendering %s: %w", OptMessage, err)
	}
	body := strings.TrimRight(b.String(), "\n")
	if err := checkBody(body); err != nil {
		return "", usageError("%s: %w", OptMessage, err)
	}
	msg := body + "\n\n"
	for _, img := range d.Images {
		msg += "Digestpin-Image: " + img.Pinned() + "\n"
	}
	if d.SourceRevision != "" {
		msg += "Source-Revision: " + d.SourceRevision + "\n"
	}
	return msg, nil
}

// ownTrailers are the trailers promote writes; tools find pins by them.
var ownTrailers = []string{"Digestpin-Image", "Source-Revision"}

// checkBody refuses a rendered message that could pass for what promote
// records itself. The trailers always come last, after a blank line, where
// git looks for them; a body line of the same form would still fool a
// reader or a `git log --grep`, and control characters could hide or
// rewrite lines on a terminal.
func checkBody(body string) error {
	if strings.TrimSpace(body) == "" {
		return fmt.Errorf("the commit message is empty")
	}
	for line := range strings.Lines(body) {
		line = strings.TrimRight(line, "\n")
		if i := strings.IndexFunc(line, func(r rune) bool { return r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) }); i >= 0 {
			return fmt.Errorf("line %q contains a control or format character", line)
		}
		key, _, ok := strings.Cut(line, ":")
		key = strings.TrimSpace(key)
		for _, own := range ownTrailers {
			if ok && strings.EqualFold(key, own) {
				return fmt.Errorf("line %q looks like the %s trailer promote adds itself", line, own)
			}
		}
	}
	return nil
}
