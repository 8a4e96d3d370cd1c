package registry

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxManifestBytes is far above real manifests (registries commonly reject
// anything over 4 MiB) but keeps a hostile registry from exhausting memory.
const maxManifestBytes = 16 << 20

// maxConfigBytes bounds an image config (and any other blob Resolve
// reads). Real configs are a few kilobytes, rarely above a megabyte even
// with long histories.
const maxConfigBytes = 8 << 20

// digestMismatchError reports manifest bytes that do not hash to the digest
// they were supposed to have.
type digestMismatchError struct {
	identifier string  // the tag or digest the manifest was requested by
	got        v1.Hash // hash of the bytes served
	want       v1.Hash
	claimedBy  string // who said the bytes should hash to want
}

func (e *digestMismatchError) Error() string {
	return fmt.Sprintf("the manifest served for %q hashes to %s, but %s is %s", e.identifier, e.got, e.claimedBy, e.want)
}

func (e *digestMismatchError) Is(target error) bool { return target == ErrDigestMismatch }

// verifyingTransport checks every manifest response against the digests it
// must have before go-containerregistry sees it. go-containerregistry hashes
// manifests fetched by digest, but for a tag it takes whatever bytes arrive
// and ignores the Docker-Content-Digest header, so a proxy that rewrites the
// manifest in transit would silently change the digest we pin.
type verifyingTransport struct {
	inner http.RoundTripper
}

func (t *verifyingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	if strings.Contains(req.URL.Path, "/blobs/") {
		// Whatever size the manifest claimed, never buffer more.
		resp.Body = &cappedBody{ReadCloser: resp.Body, left: maxConfigBytes}
		return resp, nil
	}
	identifier, ok := manifestIdentifier(req.URL.Path)
	if !ok {
		return resp, nil
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestBytes+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxManifestBytes {
		return nil, fmt.Errorf("the manifest served for %q is larger than %d bytes", identifier, maxManifestBytes)
	}
	if err := verifyManifest(identifier, body, resp.Header); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// manifestIdentifier returns the tag or digest of a /v2/<name>/manifests/<reference>
// request path.
func manifestIdentifier(path string) (string, bool) {
	const marker = "/manifests/"
	i := strings.LastIndex(path, marker)
	if !strings.HasPrefix(path, "/v2/") || i < len("/v2/") {
		return "", false
	}
	identifier := path[i+len(marker):]
	if identifier == "" || strings.Contains(identifier, "/") {
		return "", false
	}
	return identifier, true
}

func verifyManifest(identifier string, body []byte, header http.Header) error {
	if requested, err := v1.NewHash(identifier); err == nil {
		if err := checkDigest(identifier, body, requested, "the requested digest"); err != nil {
			return err
		}
	}
	// Signed schema 1 manifests legitimately differ from their header digest
	// (the signature is not part of it); Resolve rejects them later anyway.
	if types.MediaType(header.Get("Content-Type")) == types.DockerManifestSchema1Signed {
		return nil
	}
	// Registries need not send the header, and a malformed one makes no
	// claim we could check; either way the bytes decide the digest.
	claimed, err := v1.NewHash(header.Get("Docker-Content-Digest"))
	if err != nil {
		return nil
	}
	return checkDigest(identifier, body, claimed, "the Docker-Content-Digest header")
}

func checkDigest(identifier string, body []byte, want v1.Hash, claimedBy string) error {
	got, err := hashBytes(want.Algorithm, body)
	if err != nil {
		return fmt.Errorf("checking the manifest served for %q against %s: %w", identifier, claimedBy, err)
	}
	if got != want {
		return &digestMismatchError{identifier: identifier, got: got, want: want, claimedBy: claimedBy}
	}
	return nil
}

func hashBytes(algorithm string, b []byte) (v1.Hash, error) {
	h, err := v1.Hasher(algorithm)
	if err != nil {
		return v1.Hash{}, err
	}
	h.Write(b)
	return v1.Hash{Algorithm: algorithm, Hex: hex.EncodeToString(h.Sum(nil))}, nil
}

// cappedBody fails a read past its limit instead of returning more bytes.
type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, &contentError{fmt.Errorf("a blob served is larger than the %d bytes digestpin reads", maxConfigBytes)}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
