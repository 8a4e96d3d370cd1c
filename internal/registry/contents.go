package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Contents is what a manifest refers to.
type Contents struct {
	// Config is the config digest of an image manifest, "" for an index. A
	// runtime that knows no repository digest for an image reports this as
	// the image's ID.
	Config string
	// Platforms lists the manifests an index holds, in its order; nil for
	// an image.
	Platforms []Platform
}

// Platform is one manifest an index holds.
type Platform struct {
	// Digest is the manifest's digest: what a node that pulled the index
	// for this platform may report running.
	Digest string
	// Platform is "os/architecture[/variant]", "" when the index does not
	// say.
	Platform string
	// MediaType is the manifest's media type as the index lists it.
	MediaType string
}

// ResolveContents is Resolve that also reads what the manifest refers to,
// from the same verified bytes: nothing more is fetched for an index, and
// only what Resolve fetches for an image.
func ResolveContents(ctx context.Context, ref string, opts ...Option) (Image, Contents, error) {
	return NewClient(opts...).ResolveContents(ctx, ref)
}

// ResolveContents is the package's ResolveContents with the client's
// options.
func (c *Client) ResolveContents(ctx context.Context, ref string) (Image, Contents, error) {
	r, err := newResolver(ref, c.o)
	if err != nil {
		return Image{}, Contents{}, err
	}
	r.contents = &Contents{}
	var img Image
	err = r.run(ctx, func(ctx context.Context) error {
		var err error
		img, err = r.fetch(ctx)
		return err
	})
	if err != nil {
		return Image{}, Contents{}, err
	}
	return img, *r.contents, nil
}

func contents(desc *remote.Descriptor) (Contents, error) {
	switch {
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return Contents{}, err
		}
		m, err := img.Manifest()
		if err != nil {
			return Contents{}, &contentError{fmt.Errorf("parsing image manifest: %w", err)}
		}
		return Contents{Config: m.Config.Digest.String()}, nil
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return Contents{}, err
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return Contents{}, &contentError{fmt.Errorf("parsing image index: %w", err)}
		}
		c := Contents{Platforms: []Platform{}}
		for _, child := range m.Manifests {
			p := Platform{Digest: child.Digest.String(), MediaType: string(child.MediaType)}
			if child.Platform != nil {
				p.Platform = child.Platform.OS + "/" + child.Platform.Architecture
				if child.Platform.Variant != "" {
					p.Platform += "/" + child.Platform.Variant
				}
			}
			c.Platforms = append(c.Platforms, p)
		}
		return c, nil
	}
	return Contents{}, nil
}
