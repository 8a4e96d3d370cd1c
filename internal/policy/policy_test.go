package policy

import (
	"testing"

	"github.com/digestpin/digestpin/internal/imageref"
)

const digest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func mustPolicy(t *testing.T, vars map[string]string) Policy {
	t.Helper()
	p, err := FromEnv(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJudge(t *testing.T) {
	p := mustPolicy(t, map[string]string{
		EnvAllowedRegistries: "ghcr.io/acme/*, docker.io/library, localhost:5000",
		EnvExemptImages:      "registry.k8s.io/pause, docker.io/library/busybox:1.36",
	})
	// The exemption above lists a registry outside the allowed ones on
	// purpose: exempt images still need an allowed registry.
	tests := []struct {
		image string
		want  string
	}{
		{"ghcr.io/acme/app" + digest, ""},
		{"ghcr.io/acme/team/app:v1" + digest, ""},
		{"nginx" + digest, ""},
		{"localhost:5000/app" + digest, ""},
		{"ghcr.io/acme/app:v1", `no digest (tag "v1" can be moved in the registry)`},
		{"ghcr.io/acme-evil/app" + digest, "repository ghcr.io/acme-evil/app is not in the allowed registries"},
		{"ghcr.io/acme" + digest, "repository ghcr.io/acme is not in the allowed registries"},
		{"docker.io/libraryx/app" + digest, "repository docker.io/libraryx/app is not in the allowed registries"},
		{"busybox:1.36", ""},
		{"busybox:1.37", `no digest (tag "1.37" can be moved in the registry)`},
		{"registry.k8s.io/pause:3.9", "repository registry.k8s.io/pause is not in the allowed registries"},
		{"localhost:5001/app" + digest, "repository localhost:5001/app is not in the allowed registries"},
	}
	for _, tt := range tests {
		got := ""
		if err := p.Judge(tt.image); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Judge(%q) = %q, want %q", tt.image, got, tt.want)
		}
	}
}

func TestExemptWithoutAllowList(t *testing.T) {
	p := mustPolicy(t, map[string]string{EnvExemptImages: "registry.k8s.io/pause,nginx"})
	for image, want := range map[string]bool{
		"registry.k8s.io/pause:3.9":     true,
		"registry.k8s.io/pause-other:1": false,
		"nginx:1.27":                    true,
		"docker.io/library/nginx":       true,
		"ghcr.io/acme/app:v1":           false,
	} {
		if got := p.Judge(image) == nil; got != want {
			t.Errorf("Judge(%q) accepted = %v, want %v", image, got, want)
		}
	}
}

func TestFromEnvErrors(t *testing.T) {
	tests := []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{EnvAllowedRegistries: "ghcr.io/acme/app:v1"}, `DIGESTPIN_ALLOWED_REGISTRIES: "ghcr.io/acme/app:v1" names a tag; list registries or repositories`},
		{map[string]string{EnvAllowedRegistries: "GHCR.io"}, `DIGESTPIN_ALLOWED_REGISTRIES: "GHCR.io" is not a registry or repository pattern (lowercase letters, digits, . _ - / : and * only)`},
		{map[string]string{EnvExemptImages: "ghcr.io/a b"}, `DIGESTPIN_EXEMPT_IMAGES: "ghcr.io/a b" is not a registry or repository pattern (lowercase letters, digits, . _ - / : and * only)`},
		{map[string]string{EnvExemptImages: "nginx:"}, `DIGESTPIN_EXEMPT_IMAGES: "nginx:" has an empty tag`},
		{map[string]string{EnvImageFields: "spec/image"}, `DIGESTPIN_IMAGE_FIELDS: image field "spec/image" is not of the form Kind:path/to/image`},
	}
	for _, tt := range tests {
		_, err := FromEnv(env(tt.vars))
		if err == nil || err.Error() != tt.want {
			t.Errorf("FromEnv(%v) error = %v, want %q", tt.vars, err, tt.want)
		}
	}
}

func TestFromEnvParsesEveryList(t *testing.T) {
	p := mustPolicy(t, map[string]string{
		EnvAllowedRegistries: " ghcr.io/acme/* ,,",
		EnvExemptImages:      "nginx:1.27",
		EnvImageFields:       "Workflow:spec/templates[]/container/image, Runner:spec/image",
	})
	if len(p.AllowedRegistries) != 1 || p.AllowedRegistries[0].String() != "ghcr.io/acme/*" {
		t.Errorf("AllowedRegistries = %v", p.AllowedRegistries)
	}
	if len(p.Exempt) != 1 || p.Exempt[0].String() != "nginx:1.27" {
		t.Errorf("Exempt = %v", p.Exempt)
	}
	want := []imageref.FieldSpec{{Kind: "Workflow", Path: "spec/templates[]/container/image"}, {Kind: "Runner", Path: "spec/image"}}
	if len(p.ImageFields) != 2 || p.ImageFields[0] != want[0] || p.ImageFields[1] != want[1] {
		t.Errorf("ImageFields = %v, want %v", p.ImageFields, want)
	}
}
