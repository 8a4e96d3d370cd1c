// Package yamledit edits YAML configuration the way a person would: it
// splices new values into the original text instead of re-encoding a parsed
// document, so that the Git diff of a digestpin promotion shows the pinned
// images and nothing else. Comments, key order, quoting, indentation, blank
// lines, document separators, the final newline and CRLF line endings all
// survive, which is what `kustomize edit set image` fails to do.
//
// Every edit is verified by parsing the result and comparing what it says
// with what the input said plus the intended change; an edit that cannot be
// made that way is refused rather than written.
package yamledit

import "errors"

// ErrUnsupported is wrapped by errors about YAML that is valid but that
// these edits cannot change without rewriting more than the pinned values,
// such as an image written as a block scalar. The file needs a manual edit.
var ErrUnsupported = errors.New("unsupported YAML layout")
