package promote

import (
	"fmt"
	"strings"
	"text/template"
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

// DefaultMessage is the commit message template used without --message.
const DefaultMessage = `{{if eq (len .Images) 1}}Pin {{(index .Images 0).Reference}}{{else}}Pin {{len .Images}} images{{end}} in {{.Path}}
{{range .Images}}
{{.Reference}} -> {{.Digest}}{{end}}
`

func parseMessage(text string) (*template.Template, error) {
	t, err := template.New("message").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%w: --message is not a valid template: %w", ErrUsage, err)
	}
	return t, nil
}

// message renders the template and appends the trailers that tools (and
// people reading `git log`) rely on, whatever the template says.
func message(t *template.Template, d Data) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("%w: rendering --message: %w", ErrUsage, err)
	}
	msg := strings.TrimRight(b.String(), "\n") + "\n\n"
	for _, img := range d.Images {
		msg += "Digestpin-Image: " + img.Pinned() + "\n"
	}
	if d.SourceRevision != "" {
		msg += "Source-Revision: " + d.SourceRevision + "\n"
	}
	return msg, nil
}
