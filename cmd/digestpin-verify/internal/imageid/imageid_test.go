package imageid

import (
	"strings"
	"testing"
)

const (
	d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

func TestParseRuntimeFormats(t *testing.T) {
	for _, tc := range []struct {
		raw, repo, digest string
	}{
		// Docker through dockershim or cri-dockerd.
		{"docker-pullable://ghcr.io/acme/web@" + d1, "ghcr.io/acme/web", d1},
		{"docker-pullable://nginx@" + d1, "index.docker.io/library/nginx", d1},
		// containerd and CRI-O.
		{"ghcr.io/acme/web@" + d1, "ghcr.io/acme/web", d1},
		{"docker.io/library/nginx@" + d1, "index.docker.io/library/nginx", d1},
		{"127.0.0.1:5000/acme/web@" + d1, "127.0.0.1:5000/acme/web", d1},
		// A tag in front of the digest is ignored, as runtimes do.
		{"ghcr.io/acme/web:v1@" + d1, "ghcr.io/acme/web", d1},
		// Only the image's ID.
		{d1, "", d1},
		{"docker://" + d1, "", d1},
	} {
		id, err := Parse(tc.raw)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.raw, err)
			continue
		}
		if id.Raw != tc.raw || id.Repository != tc.repo || id.Digest != tc.digest || id.Bare() != (tc.repo == "") {
			t.Errorf("Parse(%q) = %+v, want repository %q digest %q", tc.raw, id, tc.repo, tc.digest)
		}
	}
}

func TestParseRefusesWhatNamesNoDigest(t *testing.T) {
	for raw, want := range map[string]string{
		"":                            "the node reports no image ID",
		"docker-pullable://":          "the node reports no image ID",
		"ghcr.io/acme/web:v1":         `image ID "ghcr.io/acme/web:v1" names no digest`,
		"ghcr.io/acme/web@sha256:abc": `image ID "ghcr.io/acme/web@sha256:abc" has a malformed digest`,
		"Bad Repo@" + d1:              `image ID "Bad Repo@` + d1 + `" names no valid repository`,
		"x\nverified@" + d1:           `image ID "x\nverified@` + d1 + `" names no valid repository`,
	} {
		_, err := Parse(raw)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error starting %s", raw, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q): the error spans lines: %q", raw, err)
		}
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct{ raw, repo, tag, digest string }{
		{"ghcr.io/acme/web:v1@" + d1, "ghcr.io/acme/web", "v1", d1},
		{"ghcr.io/acme/web@" + d1, "ghcr.io/acme/web", "", d1},
		{"ghcr.io/acme/web:v1", "ghcr.io/acme/web", "v1", ""},
		{"nginx", "index.docker.io/library/nginx", "", ""},
		{"localhost:5000/web:1", "localhost:5000/web", "1", ""},
	} {
		r, err := ParseRef(tc.raw)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", tc.raw, err)
			continue
		}
		if r.Repository != tc.repo || r.Tag != tc.tag || r.Digest != tc.digest || r.Pinned() != (tc.digest != "") {
			t.Errorf("ParseRef(%q) = %+v", tc.raw, r)
		}
	}
}

func TestHostAndPath(t *testing.T) {
	if h, p := Host("127.0.0.1:5000/acme/web"), Path("127.0.0.1:5000/acme/web"); h != "127.0.0.1:5000" || p != "acme/web" {
		t.Errorf("Host, Path = %q, %q", h, p)
	}
}
