package registry

import (
	"context"
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestResolveContentsOfAnIndex(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := newTestRegistry(t)
	amd64, arm64 := labeledImage(t, "a"), labeledImage(t, "b")
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	digest := reg.pushIndex("acme/multi:v1", idx)
	reg.intercept(nil)

	img, got, err := ResolveContents(context.Background(), reg.ref("acme/multi@"+digest.String()), WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	if img.Digest != digest.String() {
		t.Errorf("digest %s, want %s", img.Digest, digest)
	}
	da, _ := amd64.Digest()
	db, _ := arm64.Digest()
	mt, _ := amd64.MediaType()
	want := Contents{Platforms: []Platform{
		{Digest: da.String(), Platform: "linux/amd64", MediaType: string(mt)},
		{Digest: db.String(), Platform: "linux/arm64/v8", MediaType: string(mt)},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ResolveContents =\n%+v\nwant\n%+v", got, want)
	}
	// The index's revision is its first platform's label: one more
	// manifest; the contents themselves cost nothing more.
	if n := reg.manifestRequests.Load(); n != 2 {
		t.Errorf("fetched %d manifests, want the index and its first image", n)
	}
}

func TestResolveContentsOfAnImage(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := newTestRegistry(t)
	img := labeledImage(t, "a")
	digest := reg.push("acme/web:v1", img)
	config, _ := img.ConfigName()

	_, got, err := ResolveContents(context.Background(), reg.ref("acme/web@"+digest.String()), WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, Contents{Config: config.String()}) {
		t.Errorf("ResolveContents = %+v, want config %s", got, config)
	}
}

func TestResolveContentsNamesTheImageOnFailure(t *testing.T) {
	reg := newTestRegistry(t)
	ref := reg.ref("acme/gone@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	_, _, err := ResolveContents(context.Background(), ref, WithRetries(0))
	want, rerr := resolve(t, ref, WithRetries(0))
	if err == nil || rerr == nil || err.Error() != rerr.Error() || want != (Image{}) {
		t.Errorf("ResolveContents error %v, want Resolve's %v", err, rerr)
	}
}
