// Package report writes verify's result for people (a table, or every
// mismatch with its likely cause) and for programs (one JSON document).
// Text from the cluster is escaped on the way out, so a pod or image name
// cannot forge a line.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/compare"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/escape"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/verifier"
)

func short(rev string) string {
	if len(rev) > 7 {
		return rev[:7]
	}
	return rev
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func pods(rows []compare.Row) int {
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Namespace+"/"+r.Pod] = true
	}
	return len(seen)
}

// Text writes the verified table or the drift report. It is for the
// outcomes that compared pods; Summary covers the others.
func Text(w io.Writer, r *verifier.Result) error {
	var b strings.Builder
	app := escape.Field(r.App)
	at := short(r.Revision)
	if r.Current != "" {
		at = short(r.Current) + ", which pins the same images as " + short(r.Revision) + ","
	}
	switch r.Outcome {
	case verifier.Verified:
		if len(r.Rows) == 0 {
			fmt.Fprintf(&b, "verified: %s at %s is Synced and Healthy; it runs no pods from workloads in Git\n", app, at)
			break
		}
		runs := "its pod runs"
		if n := pods(r.Rows); n != 1 {
			runs = fmt.Sprintf("its %d pods run", n)
		}
		fmt.Fprintf(&b, "verified: %s at %s is Synced and Healthy, and %s the digests Git pins\n", app, at, runs)
		table(&b, r.Rows)
	case verifier.Drift:
		checked := 0
		for _, row := range r.Rows {
			if row.Status != compare.NotInGit {
				checked++
			}
		}
		fmt.Fprintf(&b, "drift: %s at %s is Synced and Healthy, but %d of %s do not run the digest Git pins\n", app, at, r.Mismatches(), plural(checked, "container"))
		for _, row := range r.Rows {
			if row.Status != compare.Mismatch {
				continue
			}
			kind := "container"
			if row.Init {
				kind = "init container"
			}
			fmt.Fprintf(&b, "  pod %s/%s, %s %s:\n", escape.Field(row.Namespace), escape.Field(row.Pod), kind, escape.Field(row.Container))
			fmt.Fprintf(&b, "    expected: %s (Git, %s)\n", escape.Field(row.Expected), escape.Line(row.Workload))
			actual := "none reported"
			if row.ImageID != "" {
				actual = escape.Field(row.ImageID)
			}
			fmt.Fprintf(&b, "    actual:   %s (as the node reports it)\n", actual)
			fmt.Fprintf(&b, "    likely cause: %s\n", escape.Line(row.Detail))
		}
	default:
		return fmt.Errorf("report.Text: outcome %s compared no pods", r.Outcome)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "not checked: %s\n", escape.Line(s))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func table(b *strings.Builder, rows []compare.Row) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POD\tCONTAINER\tDIGEST\tNOTE")
	for _, row := range rows {
		name := escape.Field(row.Container)
		if row.Init {
			name += " (init)"
		}
		digest := row.ExpectedDigest
		if row.Status == compare.NotInGit {
			digest = row.Actual
		}
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\n", escape.Field(row.Namespace), escape.Field(row.Pod), name, escape.Field(digest), escape.Line(row.Note))
	}
	tw.Flush()
	// tabwriter pads the empty NOTE column; keep lines free of trailing
	// spaces.
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	b.Reset()
	b.WriteString(strings.Join(lines, "\n"))
}

// Summary is the one-paragraph message for superseded and timed-out runs.
func Summary(r *verifier.Result, timeout time.Duration) string {
	var b strings.Builder
	app := escape.Field(r.App)
	switch r.Outcome {
	case verifier.Superseded:
		fmt.Fprintf(&b, "superseded: %s moved on from %s to %s; the newer revision's pipeline verifies it", app, short(r.Revision), short(r.Current))
	case verifier.TimedOut:
		fmt.Fprintf(&b, "timed out after %s: %s did not run %s Synced and Healthy", timeout, app, short(r.Revision))
		if r.State != "" {
			fmt.Fprintf(&b, "; last state: %s", escape.Line(r.State))
		}
		for _, c := range r.Conditions {
			fmt.Fprintf(&b, "\n%s:\n%s", escape.Line(c.Type), escape.Indent(c.Message, "    "))
		}
	default:
		fmt.Fprintf(&b, "%s: %s at %s", r.Outcome, app, short(r.Revision))
	}
	return b.String()
}

// Document is verify's --output json record. Field names are stable.
type Document struct {
	Result     string               `json:"result"`
	App        string               `json:"app"`
	Revision   string               `json:"revision"`
	Current    string               `json:"current,omitempty"`
	Sync       string               `json:"sync"`
	Health     string               `json:"health"`
	State      string               `json:"state"`
	Mismatches int                  `json:"mismatches"`
	Containers []compare.Row        `json:"containers"`
	Skipped    []string             `json:"skipped"`
	Conditions []verifier.Condition `json:"conditions"`
	Message    string               `json:"message,omitempty"`
	Seconds    float64              `json:"elapsedSeconds"`
}

// JSON writes one Document.
func JSON(w io.Writer, r *verifier.Result, timeout time.Duration) error {
	doc := Document{
		Result: string(r.Outcome), App: r.App, Revision: r.Revision, Current: r.Current,
		Sync: r.Sync, Health: r.Health, State: r.State, Mismatches: r.Mismatches(),
		Containers: r.Rows, Skipped: r.Skipped, Conditions: r.Conditions,
		Seconds: float64(r.Elapsed.Round(time.Millisecond)) / float64(time.Second),
	}
	if doc.Containers == nil {
		doc.Containers = []compare.Row{}
	}
	if doc.Skipped == nil {
		doc.Skipped = []string{}
	}
	if doc.Conditions == nil {
		doc.Conditions = []verifier.Condition{}
	}
	if r.Outcome == verifier.Superseded || r.Outcome == verifier.TimedOut {
		doc.Message = Summary(r, timeout)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
