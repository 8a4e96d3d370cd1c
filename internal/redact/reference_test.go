package redact

import (
	"strings"
	"testing"
)

func TestReference(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct{ in, shown, secret string }{
		{"ghcr.io/acme/app:v1", "ghcr.io/acme/app:v1", ""},
		{"alpine" + digest, "alpine" + digest, ""},
		{"ghcr.io/acme/app:v1" + digest, "ghcr.io/acme/app:v1" + digest, ""},
		{"u:p@ghcr.io/acme/app:v1", "xxxxx@ghcr.io/acme/app:v1", "u:p"},
		{"u:p@ghcr.io/acme/app" + digest, "xxxxx@ghcr.io/acme/app" + digest, "u:p"},
		{"u:p/@x@ghcr.io/acme/app", "xxxxx@ghcr.io/acme/app", "u:p/@x"},
		{"oci://token@ghcr.io/app", "oci://xxxxx@ghcr.io/app", "token"},
		{"u:p@ghcr.io", "xxxxx@ghcr.io", "u:p"},
	} {
		shown, secret := Reference(tc.in)
		if shown != tc.shown || secret != tc.secret {
			t.Errorf("Reference(%q) = %q, %q; want %q, %q", tc.in, shown, secret, tc.shown, tc.secret)
		}
	}
}

func TestMessage(t *testing.T) {
	for _, tc := range []struct{ ref, in, want string }{
		{
			ref:  "ghcr.io/acme/app:v1",
			in:   `GET https://ghcr.io/v2/acme/app/manifests/v1: MANIFEST_UNKNOWN: unknown`,
			want: `GET https://ghcr.io/v2/acme/app/manifests/v1: MANIFEST_UNKNOWN: unknown`,
		},
		{
			ref:  "ghcr.io/acme/app:v1",
			in:   `Get "https://u:pw@storage.example/blob?sig=abc&scope=repository%3Aacme%2Fapp%3Apull": EOF`,
			want: `Get "https://xxxxx@storage.example/blob?scope=repository%3Aacme%2Fapp%3Apull&sig=xxxxx": EOF`,
		},
		{
			ref:  "ghcr.io/acme/app:v1",
			in:   `GET https://auth.example/token?access_token=abc: denied`,
			want: `GET https://auth.example/token?access_token=xxxxx: denied`,
		},
		{
			ref:  "ghcr.io/acme/app:v1",
			in:   "no token in bearer response:\n{\"refresh_token\": \"abc\", \"expires_in\": 300}",
			want: "no token in bearer response:\n{\"refresh_token\": \"xxxxx\", \"expires_in\": 300}",
		},
		{
			ref:  "ghcr.io/acme/app:v1",
			in:   "request had Authorization: Bearer abc.def\nnext line",
			want: "request had Authorization: xxxxx\nnext line",
		},
		{
			ref:  "robot:hunter22@ghcr.io/acme/app:v1",
			in:   `registries must be valid RFC 3986 URI authorities: robot:hunter22@ghcr.io; tag "hunter22"`,
			want: `registries must be valid RFC 3986 URI authorities: xxxxx@ghcr.io; tag "xxxxx"`,
		},
	} {
		if got := Message(tc.in, tc.ref); got != tc.want {
			t.Errorf("Message(%q):\n got: %s\nwant: %s", tc.in, got, tc.want)
		}
	}
}
