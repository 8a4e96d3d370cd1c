package registry

import (
	"context"
	"errors"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestResolveTag(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.push("acme/app:v2", labeledImage(t, "0123abc"))

	got, err := resolve(t, reg.ref("acme/app:v2"))
	if err != nil {
		t.Fatal(err)
	}
	want := Image{
		Reference:  reg.ref("acme/app:v2"),
		Repository: reg.ref("acme/app"),
		Tag:        "v2",
		Digest:     digest.String(),
		MediaType:  string(types.DockerManifestSchema2),
		Revision:   "0123abc",
	}
	if got != want {
		t.Errorf("Resolve:\n got %+v\nwant %+v", got, want)
	}
}

func TestResolveTagFollowsPush(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v2", labeledImage(t, "old"))
	digest := reg.push("acme/app:v2", labeledImage(t, "new"))

	got, err := resolve(t, reg.ref("acme/app:v2"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != digest.String() || got.Revision != "new" {
		t.Errorf("Resolve = %s (revision %q), want the latest push %s (revision %q)", got.Digest, got.Revision, digest, "new")
	}
}

func TestResolveImplicitLatest(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.push("acme/app:latest", labeledImage(t, ""))

	got, err := resolve(t, reg.ref("acme/app"))
	if err != nil {
		t.Fatal(err)
	}
	want := Image{
		Reference:  reg.ref("acme/app"),
		Repository: reg.ref("acme/app"),
		Tag:        "latest",
		Digest:     digest.String(),
		MediaType:  string(types.DockerManifestSchema2),
	}
	if got != want {
		t.Errorf("Resolve:\n got %+v\nwant %+v", got, want)
	}
}

func TestResolveDigest(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.push("acme/app:v2", labeledImage(t, "0123abc"))

	for _, tc := range []struct {
		ref, tag string
	}{
		{ref: reg.ref("acme/app@" + digest.String()), tag: ""},
		{ref: reg.ref("acme/app:v2@" + digest.String()), tag: "v2"},
		// The digest wins; the tag is carried along, not checked.
		{ref: reg.ref("acme/app:elsewhere@" + digest.String()), tag: "elsewhere"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := resolve(t, tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			want := Image{
				Reference:  tc.ref,
				Repository: reg.ref("acme/app"),
				Tag:        tc.tag,
				Digest:     digest.String(),
				MediaType:  string(types.DockerManifestSchema2),
				Revision:   "0123abc",
			}
			if got != want {
				t.Errorf("Resolve:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestResolveRandomIndex(t *testing.T) {
	reg := newTestRegistry(t)
	idx, err := random.Index(256, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	digest := reg.pushIndex("acme/multi:v1", idx)

	got, err := resolve(t, reg.ref("acme/multi:v1"))
	if err != nil {
		t.Fatal(err)
	}
	want := Image{
		Reference:  reg.ref("acme/multi:v1"),
		Repository: reg.ref("acme/multi"),
		Tag:        "v1",
		Digest:     digest.String(),
		MediaType:  string(types.OCIImageIndex),
	}
	if got != want {
		t.Errorf("Resolve:\n got %+v\nwant %+v", got, want)
	}
}

func TestResolveIndexRevision(t *testing.T) {
	reg := newTestRegistry(t)
	platform := func(os, arch string) v1.Descriptor {
		return v1.Descriptor{Platform: &v1.Platform{OS: os, Architecture: arch}}
	}
	// BuildKit's layout: platform images, then attestation manifests with
	// platform unknown/unknown. Put an attestation first to show it is skipped.
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: labeledImage(t, "attestation"), Descriptor: platform("unknown", "unknown")},
		mutate.IndexAddendum{Add: labeledImage(t, "from-amd64"), Descriptor: platform("linux", "amd64")},
		mutate.IndexAddendum{Add: labeledImage(t, "from-arm64"), Descriptor: platform("linux", "arm64")},
	)
	plain := reg.pushIndex("acme/multi:labels", idx)
	annotated := reg.pushIndex("acme/multi:annotated",
		mutate.Annotations(idx, map[string]string{revisionKey: "from-index"}).(v1.ImageIndex))

	for _, tc := range []struct {
		tag, digest, revision string
	}{
		{tag: "labels", digest: plain.String(), revision: "from-amd64"},
		{tag: "annotated", digest: annotated.String(), revision: "from-index"},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			got, err := resolve(t, reg.ref("acme/multi:"+tc.tag))
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != tc.digest || got.Revision != tc.revision || got.MediaType != string(types.OCIImageIndex) {
				t.Errorf("Resolve = %+v, want digest %s, revision %q, an OCI index", got, tc.digest, tc.revision)
			}
		})
	}
}

func TestResolveDoesNotFetchRevisionWhenIndexAnnotated(t *testing.T) {
	reg := newTestRegistry(t)
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: labeledImage(t, "child")})
	reg.pushIndex("acme/multi:v1", mutate.Annotations(idx, map[string]string{revisionKey: "index"}).(v1.ImageIndex))
	reg.intercept(nil)

	if _, err := resolve(t, reg.ref("acme/multi:v1")); err != nil {
		t.Fatal(err)
	}
	if n := reg.manifestRequests.Load(); n != 1 {
		t.Errorf("fetched %d manifests, want only the index", n)
	}
}

func TestResolveCanceled(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := Resolve(ctx, reg.ref("acme/app:v1"), fast()...)
	wantErr(t, err, nil, `resolving "`+reg.ref("acme/app:v1")+`": context canceled`)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) = false")
	}
}
