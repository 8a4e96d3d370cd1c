package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// Formats check can write.
const (
	FormatText   = "text"
	FormatJSON   = "json"
	FormatGitHub = "github"
)

// Write reports targets in format.
func Write(w io.Writer, format string, targets []Target, pol policy.Policy) error {
	switch format {
	case FormatText:
		return writeText(w, targets, pol)
	case FormatJSON:
		return writeJSON(w, targets)
	case FormatGitHub:
		return writeGitHub(w, targets)
	}
	return fmt.Errorf("unknown format %q; use text, json or github", format)
}

func writeText(w io.Writer, targets []Target, pol policy.Policy) error {
	for _, t := range targets {
		var err error
		switch {
		case t.Err != nil:
			_, err = fmt.Fprintf(w, "error %s: %s\n", untrusted.Text(t.Path), untrusted.Text(t.Err.Error()))
		case len(t.Violations) > 0:
			refusal := &policy.Refusal{Violations: t.Violations, AppPath: t.Path, Allowed: pol.AllowedRegistries}
			// The refusal's lines are its own; what the repository wrote
			// in them is escaped already.
			_, err = fmt.Fprintf(w, "FAIL  %s: %s\n", untrusted.Text(t.Path), untrusted.Lines(refusal.Error()))
		default:
			_, err = fmt.Fprintf(w, "ok    %s\n", untrusted.Text(t.Path))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type jsonViolation struct {
	Target    string `json:"target"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Slot      string `json:"slot"`
	Container string `json:"container,omitempty"`
	Field     string `json:"field"`
	Image     string `json:"image"`
	Reason    string `json:"reason"`
}

type jsonReport struct {
	Violations []jsonViolation `json:"violations"`
	Errors     []jsonError     `json:"errors"`
	Checked    []string        `json:"checked"`
}

type jsonError struct {
	Target string `json:"target"`
	Error  string `json:"error"`
}

func writeJSON(w io.Writer, targets []Target) error {
	report := jsonReport{Violations: []jsonViolation{}, Errors: []jsonError{}, Checked: []string{}}
	for _, t := range targets {
		report.Checked = append(report.Checked, t.Path)
		if t.Err != nil {
			report.Errors = append(report.Errors, jsonError{Target: t.Path, Error: t.Err.Error()})
		}
		for _, v := range t.Violations {
			report.Violations = append(report.Violations, jsonViolation{
				Target: t.Path, File: v.Source, Line: v.Line,
				Kind: v.Kind, Namespace: v.Namespace, Name: v.Name,
				Slot: string(v.Slot), Container: v.Container, Field: v.Path,
				Image: v.Image, Reason: v.Reason.Error(),
			})
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(report); err != nil {
		return err
	}
	// The exact text, with what could rewrite a terminal as \u escapes.
	_, err := w.Write(untrusted.JSON(b.Bytes()))
	return err
}

// writeGitHub writes workflow commands, which GitHub Actions turns into
// annotations on the pull request's files.
func writeGitHub(w io.Writer, targets []Target) error {
	for _, t := range targets {
		if t.Err != nil {
			if _, err := fmt.Fprintf(w, "::error file=%s,title=digestpin::%s\n", escapeProperty(t.Path), escapeData(t.Err.Error())); err != nil {
				return err
			}
		}
		for _, v := range t.Violations {
			file := v.Source
			if file == "" {
				file = t.Path
			}
			props := "file=" + escapeProperty(file)
			if v.Line > 0 {
				props += fmt.Sprintf(",line=%d", v.Line)
			}
			if _, err := fmt.Fprintf(w, "::error %s,title=digestpin::%s\n", props, escapeData(policy.Describe(v))); err != nil {
				return err
			}
		}
	}
	return nil
}

var dataEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
var propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")

// escapeData and escapeProperty escape as GitHub documents for workflow
// commands, so that CR and LF stay inside the annotation, and then escape
// what is left that could rewrite the log line (package untrusted).
func escapeData(s string) string     { return untrusted.Text(dataEscaper.Replace(s)) }
func escapeProperty(s string) string { return untrusted.Text(propertyEscaper.Replace(s)) }
