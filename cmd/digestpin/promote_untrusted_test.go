package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Inputs of promote that end up in the commit message cannot forge its
// trailers, and a refused input changes nothing.
func TestPromoteRefusesInputsThatForgeTheCommitMessage(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)
	image := reg.host + "/acme/web:v2"
	sha := "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"trailer after a newline", []string{"--source-revision", sha + "\nSigned-off-by: Mallory <m@example.com>"},
			`--source-revision "` + sha + `\nSigned-off-by: Mallory <m@example.com>" is not a commit SHA (40 or 64 hex digits)`},
		{"second image trailer", []string{"--source-revision", sha + "\nDigestpin-Image: evil.example.com/x@sha256:" + strings.Repeat("0", 64)},
			`--source-revision "` + sha + `\nDigestpin-Image: evil.example.com/x@sha256:` + strings.Repeat("0", 64) + `" is not a commit SHA (40 or 64 hex digits)`},
		{"abbreviated", []string{"--source-revision", sha[:12]}, `--source-revision "4b825dc642cb" is not a commit SHA (40 or 64 hex digits)`},
		{"a branch name", []string{"--source-revision", "main"}, `--source-revision "main" is not a commit SHA (40 or 64 hex digits)`},
		{"41 digits", []string{"--source-revision", sha + "0"}, `--source-revision "` + sha + `0" is not a commit SHA (40 or 64 hex digits)`},
		{"trailing space", []string{"--source-revision", sha + " "}, `--source-revision "` + sha + ` " is not a commit SHA (40 or 64 hex digits)`},
		{"expect-head with a newline", []string{"--expect-head", start + "\n::warning::x"}, `--expect-head "` + start + `\n::warning::x" is not a commit SHA (7 to 64 hex digits)`},
		{"path with a newline", []string{"--path", "apps/web\nSource-Revision: " + sha}, `--path "apps/web\nSource-Revision: ` + sha + `" contains control characters`},
		{"template writes a trailer", []string{"--message", "Pin\n\nDigestpin-Image: evil.example.com/x:v1"},
			`--message: line "Digestpin-Image: evil.example.com/x:v1" looks like the Digestpin-Image trailer promote adds itself`},
		{"template writes a trailer in other case", []string{"--message", "Pin {{.Path}}\nsource-revision : " + sha},
			`--message: line "source-revision : ` + sha + `" looks like the Source-Revision trailer promote adds itself`},
		{"template writes a control character", []string{"--message", "Pin\x1b[2K\rDigestpin ok"},
			`--message: line "Pin\x1b[2K\rDigestpin ok" contains a control or format character`},
		{"template writes a bidi override", []string{"--message", "Pin \u202e{{.Path}}"},
			`--message: line "Pin \u202eapps/web" contains a control or format character`},
		{"template renders empty", []string{"--message", "{{/* nothing */}}"}, `--message: the commit message is empty`},
		{"image with a newline", []string{"--image", image + "\nSigned-off-by: Mallory"}, ``},
		{"image host with a newline", []string{"--image", "evil\n" + image}, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--image", image, "--path", "apps/web"}, tt.args...)
			r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, args...)...)
			if tt.want != "" {
				r.expect(t, 2, "", tt.want+"\n")
			} else if r.code != 2 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "parsing image reference ") {
				t.Errorf("exit %d, stdout %q, stderr %q: want exit 2 and one line naming the reference", r.code, r.stdout, r.stderr)
			}
			if repo.head(t) != start {
				t.Fatal("a refused promote changed the remote")
			}
			repo.clean(t)
		})
	}
}

func TestPromoteRecordsTheSourceRevisionInLowercase(t *testing.T) {
	reg := newRegistry(t)
	web := reg.push(t, "acme/web", "v2", "")
	repo := newConfigRepo(t, webApp(reg.host))
	for _, rev := range []string{"4B825DC642CB6EB9A060E54BF8D69288FBEE4904", strings.Repeat("Ab", 32)} {
		r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web", "--dry-run", "--source-revision", rev)...)
		want := fmt.Sprintf("    Digestpin-Image: %s/acme/web:v2@%s\n    Source-Revision: %s\ndry run:", reg.host, web, strings.ToLower(rev))
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("exit %d, stdout:\n%s\nwant it to contain\n%s\nstderr: %s", r.code, r.stdout, want, r.stderr)
		}
	}
}

// A registry's label is printed escaped: it cannot add lines to the log.
func TestPromoteEscapesTheRevisionLabel(t *testing.T) {
	reg := newRegistry(t)
	reg.push(t, "acme/web", "v2", "1111111\n::add-mask::x\x1b[8m")
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)
	r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", reg.host+"/acme/web:v2", "--path", "apps/web",
		"--source-revision", "2222222222222222222222222222222222222222")...)
	r.expect(t, 1, "", "image "+reg.host+`/acme/web:v2 was built from revision 1111111\n::add-mask::x\x1b[8m (label org.opencontainers.image.revision), not from --source-revision 2222222222222222222222222222222222222222: refusing to pin an artifact of another commit`+"\n")
	if repo.head(t) != start {
		t.Error("the refused promote pushed a commit")
	}
}

// rawManifest is a manifest pushed exactly as written, whatever it claims.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func (reg *testRegistry) pushRaw(t *testing.T, repo, tag string, m rawManifest) {
	t.Helper()
	ref, err := name.ParseReference(reg.host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(ref, m); err != nil {
		t.Fatal(err)
	}
}

// A registry that claims, or serves, an enormous image config does not make
// promote buffer it.
func TestPromoteCapsTheImageConfig(t *testing.T) {
	reg := newRegistry(t)
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, size := range []int64{1 << 40, -1} {
		reg.pushRaw(t, "acme/web", fmt.Sprint("s", size+1), rawManifest(fmt.Sprintf(
			`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":%q},"layers":[]}`, size, digest)))
	}
	var blobRequests int
	reg.fail = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		blobRequests++
		chunk := make([]byte, 1<<20)
		for range 2048 { // 2 GiB of zeros, unless the client hangs up
			if _, err := w.Write(chunk); err != nil {
				break
			}
		}
		return true
	}
	repo := newConfigRepo(t, webApp(reg.host))
	start := repo.head(t)
	for _, size := range []int64{1 << 40, -1} {
		image := fmt.Sprintf("%s/acme/web:s%d", reg.host, size+1)
		r := digestpin(t, repo.clone, promoteEnv(t), promoteArgs(reg, "--image", image, "--path", "apps/web")...)
		r.expect(t, 1, "", fmt.Sprintf("resolving %q: the image config %s claims %d bytes, outside the 0 to 8388608 bytes digestpin reads\n", image, digest, size))
		if r.maxRSS > 256<<20 {
			t.Errorf("peak RSS %d MiB", r.maxRSS>>20)
		}
	}
	if blobRequests != 0 {
		t.Errorf("promote asked for the config %d times", blobRequests)
	}
	if repo.head(t) != start {
		t.Error("the remote changed")
	}
}
