package main

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/digestpin/digestpin/internal/pin"
	"github.com/digestpin/digestpin/internal/promote"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// promoteJSON is promote's --output json record: what CI steps read
// instead of parsing prose. Field names are stable.
type promoteJSON struct {
	Images []imageJSON `json:"images"`
	Path   string      `json:"path"`
	publishedJSON
	Notes []string `json:"notes,omitempty"`
}

// publishedJSON is how the change reached the branch, the same for
// promote and pin; encoding/json lays its fields out in line.
type publishedJSON struct {
	Remote        string  `json:"remote"`
	Branch        string  `json:"branch"`
	Base          string  `json:"base"`
	Commit        string  `json:"commit"`
	CommitVia     string  `json:"commit_via"`
	Pushed        bool    `json:"pushed"`
	Superseded    bool    `json:"superseded"`
	AlreadyPinned bool    `json:"already_pinned"`
	DryRun        bool    `json:"dry_run"`
	Attempts      int     `json:"attempts"`
	PullRequest   *prJSON `json:"pull_request"`
}

func publishedRecord(r promote.Outcome, remote string, dryRun, superseded bool) publishedJSON {
	return publishedJSON{
		Remote: remote, Branch: r.Branch, Base: r.Head, Commit: r.Commit, CommitVia: r.Via,
		Pushed: r.Pushed, Superseded: superseded, AlreadyPinned: r.AlreadyPinned, DryRun: dryRun,
		Attempts: r.Attempts, PullRequest: pullRequestRecord(r.PullRequest),
	}
}

type imageJSON struct {
	Reference  string `json:"reference"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	Pinned     string `json:"pinned"`
}

type prJSON struct {
	Number    int    `json:"number"`
	URL       string `json:"url"`
	Branch    string `json:"branch"`
	Created   bool   `json:"created"`
	AutoMerge bool   `json:"auto_merge"`
	Merged    bool   `json:"merged"`
}

func promoteRecord(r *promote.Result, o promote.Options, superseded bool) promoteJSON {
	rec := promoteJSON{
		Images: []imageJSON{}, Path: o.Path,
		publishedJSON: publishedRecord(r.Outcome, o.Remote, o.DryRun, superseded),
		Notes:         r.Notes,
	}
	for _, img := range r.Images {
		rec.Images = append(rec.Images, imageJSON{img.Reference, img.Repository, img.Tag, img.Digest, img.Pinned()})
	}
	return rec
}

func pullRequestRecord(pr *promote.PullRequestResult) *prJSON {
	if pr == nil {
		return nil
	}
	return &prJSON{pr.Number, pr.URL, pr.Branch, pr.Created, pr.AutoMerge, pr.Merged}
}

// pinJSON is pin's --output json: what was pinned where, and how the
// commit reached the branch, in promote's terms.
type pinJSON struct {
	Pins     []pinnedJSON `json:"pins"`
	Failures []string     `json:"failures"`
	Paths    []string     `json:"paths"`
	publishedJSON
}

type pinnedJSON struct {
	Image  string `json:"image"`
	Tag    string `json:"tag"`
	Digest string `json:"digest"`
	File   string `json:"file"`
}

func pinRecord(r *pin.Result, o pin.Options, superseded bool) pinJSON {
	rec := pinJSON{
		Pins: []pinnedJSON{}, Failures: []string{}, Paths: o.Paths,
		publishedJSON: publishedRecord(r.Outcome, o.Remote, o.DryRun, superseded),
	}
	for _, p := range r.Pins {
		rec.Pins = append(rec.Pins, pinnedJSON{p.Image, p.Tag, p.Digest, p.File})
	}
	for _, f := range r.Failures {
		rec.Failures = append(rec.Failures, f.String())
	}
	return rec
}

func writeJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	// Registry and repository text, exact, but safe to print.
	_, err := w.Write(untrusted.JSON(b.Bytes()))
	return err
}

func mergeMethod(o promote.Publish) string {
	if o.GitHub == nil || o.GitHub.MergeMethod == "" {
		return "merge"
	}
	return o.GitHub.MergeMethod
}
