// Package registry resolves image references to the digests a registry
// serves now, so that digestpin pins exactly the manifest that was pushed.
//
// Resolve hashes the manifest bytes itself instead of trusting the registry's
// Docker-Content-Digest header, reads the image's source revision label, and
// retries only failures that can go away on their own, waiting as long as
// the registry's Retry-After asks. A Client resolves many images with one
// authentication handshake per registry, and lists a repository's tags
// across all pages. Errors name the image and match one of the Err*
// sentinels with errors.Is when the cause is known; they never contain
// credentials.
package registry

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/digestpin/digestpin/internal/redact"
	"github.com/digestpin/digestpin/internal/retry"
)

// revisionKey is the OCI annotation, also used as an image config label,
// that records the source revision an image was built from.
const revisionKey = "org.opencontainers.image.revision"

const userAgent = "digestpin"

// Image is what a registry serves for a reference at the time it was
// resolved.
type Image struct {
	// Reference is the reference as the user gave it, e.g.
	// "ghcr.io/acme/app:v2".
	Reference string
	// Repository is the repository as go-containerregistry's
	// name.Repository.Name() spells it: as written for fully qualified
	// references ("ghcr.io/acme/app"), with Docker Hub's defaults filled in
	// for short ones ("alpine" is "index.docker.io/library/alpine").
	Repository string
	// Tag is the tag the reference named, "latest" when it named neither a
	// tag nor a digest, and "" when it named only a digest. For "repo:tag@digest"
	// it is the tag as written; it is not checked to still point at the digest.
	Tag string
	// Digest is the digest of the manifest, or of the index for a
	// multi-platform image, e.g. "sha256:<64 hex>". It always uses sha256
	// for tags; a digest reference keeps its own algorithm.
	Digest string
	// MediaType is the manifest's media type as served.
	MediaType string
	// Revision is the image config's org.opencontainers.image.revision label,
	// "" when absent. For an index it is the index's annotation of that name
	// if set, otherwise the label of the first image in the index that is not
	// an attestation (the first platform image; nested indexes are not
	// searched).
	Revision string
}

// Resolve asks the registry what ref points to now.
//
// A tag resolves to the digest it points to now. A digest reference
// ("repo@sha256:…" or "repo:tag@sha256:…") is checked to exist. In both cases
// the manifest bytes are fetched and hashed, and they must match the
// requested digest and the registry's Docker-Content-Digest header, if sent;
// otherwise Resolve fails with ErrDigestMismatch.
//
// Transient failures are retried as configured by WithRetries, WithBackoff
// and WithTimeout; ctx bounds the whole call, including waits between
// attempts.
func Resolve(ctx context.Context, ref string, opts ...Option) (Image, error) {
	return NewClient(opts...).Resolve(ctx, ref)
}

// Client resolves references and lists tags with one set of options. The
// registries' answers to the authentication handshake are shared between
// its calls, so resolving hundreds of images costs one request each, not
// two. A Client is safe for concurrent use.
type Client struct {
	o options
}

// NewClient returns a Client configured by opts, as Resolve is.
func NewClient(opts ...Option) *Client {
	o := makeOptions(opts)
	o.transport = &pingCache{inner: &waitRecorder{inner: o.transport}}
	return &Client{o: o}
}

// Resolve is the package's Resolve with the client's options.
func (c *Client) Resolve(ctx context.Context, ref string) (Image, error) {
	r, err := newResolver(ref, c.o)
	if err != nil {
		return Image{}, err
	}
	var img Image
	err = r.run(ctx, func(ctx context.Context) error {
		var err error
		img, err = r.fetch(ctx)
		return err
	})
	return img, err
}

type resolver struct {
	input string // as given; never printed, it may carry credentials
	shown string // input with credentials removed
	// verb says what failed in messages: "resolving", "listing the tags of".
	verb string
	repo name.Repository
	// ref is the reference resolved; nil when listing tags.
	ref name.Reference
	tag string
	// digest is the requested digest, the zero Hash for tag references.
	digest v1.Hash
	o      options
	// contents, when set, receives what the manifest refers to.
	contents *Contents
}

func newResolver(input string, o options) (*resolver, error) {
	shown, _ := redact.Reference(input)
	var nameOpts []name.Option
	if o.insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	ref, err := name.ParseReference(input, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %q: %w", shown, &kindError{
			kind: ErrInvalidReference,
			err:  clean(err, input),
		})
	}
	r := &resolver{input: input, shown: shown, verb: "resolving", repo: ref.Context(), ref: ref, o: o}
	switch ref := ref.(type) {
	case name.Tag:
		r.tag = ref.TagStr()
	case name.Digest:
		if r.digest, err = v1.NewHash(ref.DigestStr()); err != nil {
			return nil, fmt.Errorf("parsing image reference %q: %w", shown, &kindError{
				kind: ErrInvalidReference,
				err:  clean(err, input),
			})
		}
		// name.Digest drops the tag of "repo:tag@digest"; keep it for the
		// caller, who may want to write it back next to the digest.
		base := input[:len(input)-len(ref.DigestStr())-1]
		if t, err := name.NewTag(base, append(nameOpts, name.WithDefaultTag(""))...); err == nil {
			r.tag = t.TagStr()
		}
	}
	return r, nil
}

func (r *resolver) byDigest() bool { return r.digest != v1.Hash{} }

func (r *resolver) host() string       { return r.repo.RegistryStr() }
func (r *resolver) repository() string { return r.repo.Name() }

func (r *resolver) manifestPath() string {
	if r.ref == nil {
		return ""
	}
	return "/v2/" + r.repo.RepositoryStr() + "/manifests/" + r.ref.Identifier()
}

func (r *resolver) tagsPath() string { return "/v2/" + r.repo.RepositoryStr() + "/tags/list" }

// run calls op until it succeeds, fails for good, or the retries are spent.
// Between attempts it waits with backoff, and at least as long as the
// registry asked with Retry-After; a registry that asks for longer than
// maxRetryAfter is not waited for.
func (r *resolver) run(ctx context.Context, op func(context.Context) error) error {
	attempts := 1 + r.o.retries
	for attempt := 1; ; attempt++ {
		timedOut, retryAfter, err := r.attempt(ctx, op)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return r.canceled(ctx, nil, attempt)
		}
		f := r.classify(err, timedOut)
		if f.transient {
			f.retryAfter = retryAfter
		}
		if !f.transient || attempt == attempts || retryAfter > maxRetryAfter {
			return r.finalError(f, attempt)
		}
		if err := r.o.sleep(ctx, max(r.delay(attempt), retryAfter)); err != nil {
			return r.canceled(ctx, &f, attempt)
		}
	}
}

// attempt makes one try with its own time limit; timedOut reports that this
// limit, not ctx, ended it, and retryAfter what the registry's last
// Retry-After header asked for, 0 when it sent none.
func (r *resolver) attempt(ctx context.Context, op func(context.Context) error) (timedOut bool, retryAfter time.Duration, err error) {
	actx := ctx
	if r.o.timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, r.o.timeout)
		defer cancel()
	}
	w := &wait{}
	err = op(context.WithValue(actx, waitKey{}, w))
	return err != nil && actx.Err() != nil && ctx.Err() == nil, w.get(), err
}

func (r *resolver) fetch(ctx context.Context) (Image, error) {
	desc, err := remote.Get(r.ref,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(r.o.keychain),
		remote.WithTransport(&verifyingTransport{inner: r.o.transport}),
		remote.WithUserAgent(userAgent),
		// Resolve owns retrying, so that attempts are bounded and counted in
		// one place; remote would otherwise retry inside each attempt.
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
	)
	if err != nil {
		return Image{}, err
	}
	if desc.MediaType.IsSchema1() {
		return Image{}, fmt.Errorf("manifest has media type %s: Docker schema 1 is not supported; rebuild and push the image with a current builder", desc.MediaType)
	}

	// verifyingTransport has checked the bytes on the wire; check what
	// remote returns too, so the digest we report is one we computed.
	algorithm := "sha256"
	if r.byDigest() {
		algorithm = r.digest.Algorithm
	}
	got, err := hashBytes(algorithm, desc.Manifest)
	if err != nil {
		return Image{}, err
	}
	if got != desc.Digest {
		return Image{}, &digestMismatchError{identifier: r.ref.Identifier(), got: got, want: desc.Digest, claimedBy: "the descriptor digest"}
	}
	if r.byDigest() && got != r.digest {
		return Image{}, &digestMismatchError{identifier: r.ref.Identifier(), got: got, want: r.digest, claimedBy: "the requested digest"}
	}

	var revision string
	if r.o.revision {
		if revision, err = readRevision(desc); err != nil {
			return Image{}, err
		}
	}
	if r.contents != nil {
		if *r.contents, err = contents(desc); err != nil {
			return Image{}, err
		}
	}
	return Image{
		Reference:  r.input,
		Repository: r.repository(),
		Tag:        r.tag,
		Digest:     got.String(),
		MediaType:  string(desc.MediaType),
		Revision:   revision,
	}, nil
}

func readRevision(desc *remote.Descriptor) (string, error) {
	switch {
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return "", err
		}
		return configRevision(img)
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return "", err
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return "", &contentError{fmt.Errorf("parsing image index: %w", err)}
		}
		if rev := m.Annotations[revisionKey]; rev != "" {
			return rev, nil
		}
		for _, child := range m.Manifests {
			if !child.MediaType.IsImage() || isAttestation(child) {
				continue
			}
			img, err := idx.Image(child.Digest)
			if err != nil {
				return "", err
			}
			return configRevision(img)
		}
	}
	return "", nil
}

func configRevision(img v1.Image) (string, error) {
	m, err := img.Manifest()
	if err != nil {
		return "", &contentError{fmt.Errorf("parsing image manifest: %w", err)}
	}
	// Artifacts (Helm charts, signatures, SBOMs) have configs that are not
	// image configs and carry no labels.
	if !m.Config.MediaType.IsConfig() {
		return "", nil
	}
	// go-containerregistry reads as many bytes as the manifest claims the
	// config has, or everything when it claims none (-1).
	if m.Config.Data == nil && (m.Config.Size < 0 || m.Config.Size > maxConfigBytes) {
		return "", &contentError{fmt.Errorf("the image config %s claims %d bytes, outside the 0 to %d bytes digestpin reads", m.Config.Digest, m.Config.Size, maxConfigBytes)}
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return "", fmt.Errorf("reading image config %s: %w", m.Config.Digest, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return "", &contentError{fmt.Errorf("parsing image config %s: %w", m.Config.Digest, err)}
	}
	return cfg.Config.Labels[revisionKey], nil
}

// isAttestation recognizes the provenance and SBOM manifests BuildKit adds to
// an index, which are images in form only.
func isAttestation(d v1.Descriptor) bool {
	if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
		return true
	}
	return d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

// delay is the wait after the given failed attempt: exponential, capped, and
// jittered by ±50%.
func (r *resolver) delay(attempt int) time.Duration {
	return retry.Backoff(r.o.backoff, maxBackoff, attempt)
}
