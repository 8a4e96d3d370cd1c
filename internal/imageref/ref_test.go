package imageref

import (
	"strings"
	"testing"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestRequireDigest(t *testing.T) {
	tests := []struct {
		ref  string
		want string // "" means accepted
	}{
		{"ghcr.io/acme/app@sha256:" + hex64, ""},
		{"ghcr.io/acme/app:v1@sha256:" + hex64, ""},
		{"nginx@sha256:" + hex64, ""},
		{"localhost:5000/team/app:1.2@sha256:" + hex64, ""},
		{"ghcr.io/acme/app:v1", `no digest (tag "v1" can be moved in the registry)`},
		{"localhost:5000/app", "no digest and no tag (pulls whatever :latest points to)"},
		{"nginx", "no digest and no tag (pulls whatever :latest points to)"},
		{"ghcr.io/acme/app@sha256:" + strings.ToUpper(hex64), "digest hex must be lowercase"},
		{"ghcr.io/acme/app@sha512:" + hex64 + hex64, `digest algorithm "sha512" is not allowed; use sha256`},
		{"ghcr.io/acme/app@sha256:" + hex64[:63], "sha256 digest must have 64 hex characters, has 63"},
		{"ghcr.io/acme/app@sha256:" + hex64 + "0", "sha256 digest must have 64 hex characters, has 65"},
		{"ghcr.io/acme/app@sha256:" + hex64[:63] + "g", `digest "sha256:` + hex64[:63] + `g" is not hex`},
		{"ghcr.io/acme/app@" + hex64, `digest "` + hex64 + `" has no algorithm; use sha256:<64 hex>`},
		{"", "image is empty"},
		{" ghcr.io/acme/app@sha256:" + hex64, "image contains whitespace"},
		{"ghcr.io/acme/app@sha256:" + hex64 + "\n", "image contains whitespace"},
		{"Ghcr.io/ACME/App:v1", "not a valid image reference: repository can only contain the characters `abcdefghijklmnopqrstuvwxyz0123456789_-./`: ACME/App"},
	}
	for _, tt := range tests {
		err := RequireDigest(tt.ref)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("RequireDigest(%q) = %q, want %q", tt.ref, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		ref  string
		want Ref
	}{
		{"nginx:1.27", Ref{Repository: "docker.io/library/nginx", Tag: "1.27"}},
		{"docker.io/library/nginx", Ref{Repository: "docker.io/library/nginx"}},
		{"index.docker.io/acme/app:v1@sha256:" + hex64, Ref{Repository: "docker.io/acme/app", Tag: "v1", Digest: "sha256:" + hex64}},
		{"localhost:5000/app@sha256:" + hex64, Ref{Repository: "localhost:5000/app", Digest: "sha256:" + hex64}},
		{"ghcr.io/acme/team/app:v2", Ref{Repository: "ghcr.io/acme/team/app", Tag: "v2"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.ref)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.ref, err)
		}
		tt.want.Original = tt.ref
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.ref, got, tt.want)
		}
	}
}

func TestNormalizeRepository(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                         "docker.io/library/nginx",
		"index.docker.io/library/nginx": "docker.io/library/nginx",
		"ghcr.io/acme/app":              "ghcr.io/acme/app",
		"localhost:5000/app":            "localhost:5000/app",
	} {
		got, err := NormalizeRepository(in)
		if err != nil || got != want {
			t.Errorf("NormalizeRepository(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := NormalizeRepository("UPPER/case"); err == nil {
		t.Error("NormalizeRepository accepted an invalid repository")
	}
}
