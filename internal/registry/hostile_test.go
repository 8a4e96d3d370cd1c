package registry

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// rawManifest is a manifest pushed as written, whatever it claims.
type rawManifest struct {
	body      []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

func (r *testRegistry) pushRaw(ref string, m rawManifest) {
	r.t.Helper()
	tag, err := name.ParseReference(r.ref(ref))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := remote.Put(tag, m); err != nil {
		r.t.Fatal(err)
	}
}

const fakeConfigDigest = "sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"

func imageManifest(configSize int64) rawManifest {
	return rawManifest{mediaType: types.OCIManifestSchema1, body: fmt.Appendf(nil,
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":%q},"layers":[]}`,
		configSize, fakeConfigDigest)}
}

// endlessBlobs serves every blob as an endless stream of zeros, without a
// Content-Length, and counts the bytes it managed to send.
func endlessBlobs(sent *int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if !strings.Contains(req.URL.Path, "/blobs/") {
				next.ServeHTTP(w, req)
				return
			}
			w.WriteHeader(http.StatusOK)
			chunk := make([]byte, 64<<10)
			for {
				n, err := w.Write(chunk)
				*sent += int64(n)
				if err != nil || *sent > 1<<30 {
					return
				}
			}
		})
	}
}

// A config the manifest says is huge, or of unknown size, is refused
// before a byte of it is read.
func TestResolveRefusesAConfigClaimingTooManyBytes(t *testing.T) {
	reg := newTestRegistry(t)
	for _, size := range []int64{maxConfigBytes + 1, 1 << 40, -1} {
		ref := fmt.Sprintf("acme/big:s%d", size+1)
		reg.pushRaw(ref, imageManifest(size))
		var sent int64
		reg.intercept(endlessBlobs(&sent))
		_, err := resolve(t, reg.ref(ref))
		wantErr(t, err, nil, fmt.Sprintf("resolving %q: the image config %s claims %d bytes, outside the 0 to 8388608 bytes digestpin reads", reg.ref(ref), fakeConfigDigest, size))
		if sent != 0 {
			t.Errorf("size %d: the registry sent %d bytes of the config", size, sent)
		}
	}
}

// Whatever a manifest claimed, the transport never passes on more than the
// cap of a blob.
func TestCappedBody(t *testing.T) {
	for _, tt := range []struct {
		size int
		ok   bool
	}{{0, true}, {maxConfigBytes, true}, {maxConfigBytes + 1, false}} {
		body := &cappedBody{ReadCloser: nopCloser{strings.NewReader(strings.Repeat("x", tt.size))}, left: maxConfigBytes}
		buf := make([]byte, 0, 1<<20)
		var err error
		total := 0
		for {
			n, rerr := body.Read(buf[:cap(buf)])
			total += n
			if rerr != nil {
				if rerr.Error() != "EOF" {
					err = rerr
				}
				break
			}
		}
		if (err == nil) != tt.ok || total > maxConfigBytes {
			t.Errorf("size %d: read %d bytes, err %v", tt.size, total, err)
		}
		if err != nil && err.Error() != "a blob served is larger than the 8388608 bytes digestpin reads" {
			t.Errorf("size %d: error %q", tt.size, err)
		}
	}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

// What a registry writes in an error body is printed escaped: it cannot add
// lines (a GitHub workflow command, say) to the CI log.
func TestResolveEscapesTheRegistrysText(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push("acme/app:v1", labeledImage(t, ""))
	reg.intercept(failManifests(-1, http.StatusBadRequest, `{"errors":[{"code":"DENIED","message":"no\n::add-mask::x\r\u001b[2J\u202e"}]}`))
	ref := reg.ref("acme/app:v1")
	_, err := resolve(t, ref)
	msg := err.Error()
	if !strings.HasSuffix(msg, `DENIED: no\n::add-mask::x\r\x1b[2J\u202e`) || strings.ContainsAny(msg, "\n\r\x1b\u202e") {
		t.Errorf("error message is not escaped: %q", msg)
	}
}
