package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// AuditAnnotation is the annotation audit mode puts on every object that
// runs an image without a digest. Its value names each such container (or
// image field) and its image, one a line, so that the finding shows in the
// Argo CD UI's resource view and in `kubectl get -o yaml`.
const AuditAnnotation = "digestpin.dev/unpinned-images"

// MissingDigest reports whether the violation is only that: an image that
// parses, from an allowed registry, without a digest. Audit mode lets
// these through; every other violation is refused in any mode.
func (v Violation) MissingDigest() bool {
	var registry *RegistryError
	if errors.As(v.Reason, &registry) {
		return false
	}
	ref, err := imageref.Parse(v.Image)
	return err == nil && !ref.Pinned()
}

// AuditValue is the AuditAnnotation value for the violations of one object.
func AuditValue(violations []Violation) string {
	lines := make([]string, len(violations))
	for i, v := range violations {
		where := fmt.Sprintf("%s %q", v.Slot, v.Container)
		if v.Slot == imageref.Field {
			where = "field " + v.Path
		}
		lines[i] = untrusted.Text(fmt.Sprintf("%s: %s", where, v.Image))
	}
	return strings.Join(lines, "\n")
}

// Audit is what audit mode let through: images without a digest, each in
// an object that carries AuditAnnotation. Its String is the summary for
// the log.
type Audit struct {
	Violations []Violation
	// AppPath is the application's path in the repository.
	AppPath string
}

func (a *Audit) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digestpin: audit mode: %s not pinned by a sha256 digest; rendered anyway, each object that runs one annotated %s.", images(len(a.Violations)), AuditAnnotation)
	for i, v := range a.Violations {
		if i == MaxReportLines {
			fmt.Fprintf(&b, "\n  ... and %d more", len(a.Violations)-MaxReportLines)
			break
		}
		b.WriteString("\n  - ")
		b.WriteString(Describe(v))
	}
	path := untrusted.Text(a.AppPath)
	if path == "" {
		path = "<app path>"
	}
	fmt.Fprintf(&b, "\nto pin them all: `digestpin pin %s` in the config repository.\n", path)
	return b.String()
}
