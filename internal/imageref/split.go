package imageref

import "strings"

// Split separates an image reference into name, tag and digest the way
// kustomize's images: transformer does (image.Split in
// sigs.k8s.io/kustomize/api v0.21.2), so that what digestpin computes for
// an images: entry is what kustomize writes.
//
// The name ends at the first ':' or '@' found at or after the first '/'
// (anywhere, when the reference has no '/' past its first byte): a colon
// in a registry host ("localhost:5000/app") stays in the name. After a ':'
// the tag runs to the next '@'; after an '@' everything is the digest. A
// separator present but followed by nothing yields "" for its part, as
// when it is absent. Split accepts any string and never fails; whether the
// parts are valid is for the caller to judge.
//
// TestSplitMatchesKustomize and FuzzSplit hold Split equal to kustomize's.
func Split(ref string) (name, tag, digest string) {
	from := 0
	if slash := strings.IndexByte(ref, '/'); slash > 0 {
		from = slash
	}
	sep := strings.IndexAny(ref[from:], ":@")
	if sep < 0 {
		return ref, "", ""
	}
	sep += from
	name, rest := ref[:sep], ref[sep+1:]
	if ref[sep] == '@' {
		return name, "", rest
	}
	tag, digest, _ = strings.Cut(rest, "@")
	return name, tag, digest
}

// SplitDocker separates an image reference the way a container runtime
// reads it: the digest follows the first '@', and the tag follows the last
// ':' of the last path component ("a/b:c:d" is "a/b:c" tagged "d", where
// Split reads "a/b" tagged "c:d"). For a valid reference both agree; they
// differ only on text no registry accepts, where callers that compare
// repositories must read what a runtime would.
//
// It is Split applied again to whatever Split took for a tag, until that
// holds neither ':' nor '/'.
func SplitDocker(ref string) (name, tag, digest string) {
	name, digest, _ = strings.Cut(ref, "@")
	name, tag, _ = Split(name)
	for strings.ContainsAny(tag, ":/") {
		head, rest, _ := Split(tag)
		name += ":" + head
		tag = rest
	}
	return name, tag, digest
}
