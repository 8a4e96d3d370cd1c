package main

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/digestpin/digestpin/internal/promote"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// promoteJSON is promote's --output json record: what CI steps read
// instead of parsing prose. Field names are stable.
type promoteJSON struct {
	Images        []imageJSON `json:"images"`
	Path          string      `json:"path"`
	Remote        string      `json:"remote"`
	Branch        string      `json:"branch"`
	Base          string      `json:"base"`
	Commit        string      `json:"commit"`
	CommitVia     string      `json:"commit_via"`
	Pushed        bool        `json:"pushed"`
	Superseded    bool        `json:"superseded"`
	AlreadyPinned bool        `json:"already_pinned"`
	DryRun        bool        `json:"dry_run"`
	Attempts      int         `json:"attempts"`
	PullRequest   *prJSON     `json:"pull_request"`
	Notes         []string    `json:"notes,omitempty"`
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
		Images: []imageJSON{}, Path: o.Path, Remote: o.Remote, Branch: r.Branch, Base: r.Head,
		Commit: r.Commit, CommitVia: r.Via, Pushed: r.Pushed, Superseded: superseded,
		AlreadyPinned: r.AlreadyPinned, DryRun: o.DryRun, Attempts: r.Attempts,
		Notes: r.Notes,
	}
	for _, img := range r.Images {
		rec.Images = append(rec.Images, imageJSON{img.Reference, img.Repository, img.Tag, img.Digest, img.Pinned()})
	}
	if pr := r.PullRequest; pr != nil {
		rec.PullRequest = &prJSON{pr.Number, pr.URL, pr.Branch, pr.Created, pr.AutoMerge, pr.Merged}
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

func mergeMethod(o promote.Options) string {
	if o.GitHub == nil || o.GitHub.MergeMethod == "" {
		return "merge"
	}
	return o.GitHub.MergeMethod
}
