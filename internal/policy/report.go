package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// MaxReportLines caps the offenders listed in a refusal so that the Argo CD
// UI stays readable; the rest are counted.
const MaxReportLines = 20

// Refusal is the error generate and check return when images break the
// policy. Its message is what application developers read in Argo CD.
type Refusal struct {
	Violations []Violation
	// AppPath is the application's path in the repository, used in the
	// suggested fix; "" when unknown.
	AppPath string
	// Allowed lists the allowed registries, quoted when one is broken.
	Allowed []Pattern
}

func (r *Refusal) Error() string {
	var b strings.Builder
	b.WriteString(r.summary())
	for i, v := range r.Violations {
		if i == MaxReportLines {
			fmt.Fprintf(&b, "\n  ... and %d more", len(r.Violations)-MaxReportLines)
			break
		}
		b.WriteString("\n  - ")
		b.WriteString(Describe(v))
	}
	b.WriteString("\n")
	b.WriteString(r.fix())
	return b.String()
}

func (r *Refusal) registryViolations() int {
	n := 0
	for _, v := range r.Violations {
		var re *RegistryError
		if errors.As(v.Reason, &re) {
			n++
		}
	}
	return n
}

func (r *Refusal) summary() string {
	total, registry := len(r.Violations), r.registryViolations()
	switch {
	case registry == 0:
		return fmt.Sprintf("refusing to render: %s not pinned by a sha256 digest.", images(total))
	case registry == total:
		return fmt.Sprintf("refusing to render: %s from a registry that is not allowed.", images(total))
	default:
		return fmt.Sprintf("refusing to render: %s not pinned by a sha256 digest or from a registry that is not allowed.", images(total))
	}
}

func images(n int) string {
	if n == 1 {
		return "1 image is"
	}
	return fmt.Sprintf("%d images are", n)
}

func (r *Refusal) fix() string {
	path := untrusted.Text(r.AppPath)
	if path == "" {
		path = "<app path>"
	}
	fix := fmt.Sprintf("fix: pin each image by digest in Git, for example with `digestpin promote --image %s --path %s` in CI, or an images: entry with a digest in the kustomization", r.exampleImage(), path)
	if r.registryViolations() > 0 {
		allowed := make([]string, len(r.Allowed))
		for i, p := range r.Allowed {
			allowed[i] = p.String()
		}
		fix += fmt.Sprintf("; images must come from an allowed registry (%s)", strings.Join(allowed, ", "))
	}
	return fix + "."
}

// exampleImage is the first offender promote could pin as written: a
// tagged reference refused only for its missing digest.
func (r *Refusal) exampleImage() string {
	for _, v := range r.Violations {
		var re *RegistryError
		if errors.As(v.Reason, &re) {
			continue
		}
		if ref, err := imageref.Parse(v.Image); err == nil && ref.Tag != "" && !ref.Pinned() {
			return untrusted.Text(v.Image)
		}
	}
	return "<image>:<tag>"
}

// Describe writes one violation on one line: the object, the field, the
// image, the reason and the file it came from. Everything in it that the
// repository wrote (names, keys, the image, the file's name) is escaped
// (package untrusted), or Go-quoted, so that it stays one line and cannot
// forge another.
func Describe(v Violation) string {
	var b strings.Builder
	b.WriteString(untrusted.Text(v.Kind))
	b.WriteString(" ")
	if v.Namespace != "" {
		b.WriteString(untrusted.Text(v.Namespace) + "/")
	}
	b.WriteString(untrusted.Text(v.Name))
	if v.Slot == imageref.Field {
		fmt.Fprintf(&b, ", field %s", untrusted.Text(v.Path))
	} else {
		fmt.Fprintf(&b, ", %s %q", v.Slot, v.Container)
	}
	fmt.Fprintf(&b, ": image %q: %s", v.Image, untrusted.Text(v.Reason.Error()))
	if v.Source != "" {
		fmt.Fprintf(&b, " (from %s)", untrusted.Text(v.Source))
	}
	return b.String()
}
