package policy

import (
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/imageref"
)

// Every documented pattern form, and the forms a user would try, against
// images that must and must not match. Exemptions and allowed registries
// share the matcher; TestPatternFormsInBothLists checks both lists.
var patternCases = []struct {
	pattern string
	match   []string
	miss    []string
}{
	{"*", []string{"nginx", "ghcr.io/acme/app", "localhost:5000/x", "docker.io/library/busybox", "a.b.c.example.com/x/y/z"}, nil},
	{"*/*", []string{"nginx", "ghcr.io/acme/app", "localhost:5000/x", "bitnami/redis"}, nil},
	{"*.example.com/*", []string{"registry.example.com/app", "a.b.example.com/team/app"},
		[]string{"example.com/app", "evil.io/x.example.com/app", "evil.io/a.example.com", "registry.example.com.evil.io/app", "nginx"}},
	{"*.example.com", []string{"registry.example.com/app", "a.b.example.com/team/app"},
		[]string{"example.com/app", "evil.io/x.example.com/app", "registry.example.com.evil.io/app"}},
	{"docker.io/*", []string{"nginx", "docker.io/library/nginx", "bitnami/redis", "index.docker.io/x/y"},
		[]string{"ghcr.io/acme/app", "docker.io.evil.io/x", "localhost:5000/docker.io/x"}},
	{"docker.io", []string{"nginx", "bitnami/redis"}, []string{"ghcr.io/acme/app", "docker.io.evil.io/x"}},
	{"index.docker.io", []string{"nginx", "bitnami/redis"}, []string{"ghcr.io/acme/app"}},
	{"nginx", []string{"nginx", "nginx:1.27", "docker.io/library/nginx", "index.docker.io/library/nginx"},
		[]string{"nginxinc/nginx", "docker.io/nginx-evil/x", "docker.io/library/nginx-evil", "ghcr.io/nginx", "ghcr.io/library/nginx"}},
	{"library/nginx", []string{"nginx", "docker.io/library/nginx"}, []string{"docker.io/library/nginx2", "ghcr.io/library/nginx"}},
	{"docker.io/library/nginx", []string{"nginx"}, []string{"docker.io/library/nginxx"}},
	{"bitnami", []string{"bitnami", "docker.io/library/bitnami"}, []string{"bitnami/redis", "nginx"}},
	{"docker.io/bitnami", []string{"bitnami/redis", "docker.io/bitnami/redis"}, []string{"bitnamix/redis", "nginx", "ghcr.io/bitnami/redis"}},
	{"bitnami/*", []string{"bitnami/redis", "docker.io/bitnami/a/b"}, []string{"bitnamix/redis", "ghcr.io/bitnami/redis"}},
	{"localhost:5000/*", []string{"localhost:5000/app", "localhost:5000/a/b"}, []string{"localhost:5001/app", "localhost/app", "localhost:50000/app"}},
	{"localhost:5000", []string{"localhost:5000/app"}, []string{"localhost:50000/app", "localhost:5001/app"}},
	{"localhost", []string{"localhost/app"}, []string{"localhost:5000/app", "localhostx/app"}},
	{"localhost:*", []string{"localhost:5000/app", "localhost:1/a/b"}, []string{"localhost/app", "evil.io/localhost:5000"}},
	{"ghcr.io/acme", []string{"ghcr.io/acme/app", "ghcr.io/acme/team/app"}, []string{"ghcr.io/acme-evil/app", "ghcr.io/acm/app", "ghcr.io/acm"}},
	{"ghcr.io/acme/", []string{"ghcr.io/acme/app"}, []string{"ghcr.io/acme-evil/app"}},
	{"ghcr.io/acme/*", []string{"ghcr.io/acme/app", "ghcr.io/acme/team/app"}, []string{"ghcr.io/acme-evil/app", "ghcr.io/acme"}},
	{"ghcr.io/acme*", []string{"ghcr.io/acme/app", "ghcr.io/acme-team/app"}, []string{"ghcr.io/acm/app", "evil.io/ghcr.io/acme/app"}},
	{"ghcr.io/*/app", []string{"ghcr.io/acme/app", "ghcr.io/a/b/app", "ghcr.io/acme/app/sub"}, []string{"ghcr.io/acme/app2", "ghcr.io/app"}},
	{"registry-*.example.com", []string{"registry-eu.example.com/app"}, []string{"registry-eu.evil.io/x.example.com/app", "registry.example.com/app"}},
	{"*/nginx", []string{"ghcr.io/nginx", "localhost:5000/nginx/x"}, []string{"nginx", "docker.io/nginx", "ghcr.io/acme/nginx-x"}},
	{"library/*", []string{"nginx", "busybox"}, []string{"bitnami/redis"}},
	{"acme*/web", []string{"docker.io/acme/web", "docker.io/acme-corp/web"}, []string{"ghcr.io/acme/web"}},
}

func TestPatternForms(t *testing.T) {
	for _, tt := range patternCases {
		p, err := ParsePattern(tt.pattern, false)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tt.pattern, err)
			continue
		}
		for _, image := range tt.match {
			if !p.Match(mustParse(t, image)) {
				t.Errorf("%q does not match %q", tt.pattern, image)
			}
		}
		for _, image := range tt.miss {
			if p.Match(mustParse(t, image)) {
				t.Errorf("%q matches %q", tt.pattern, image)
			}
		}
	}
}

// The same forms mean the same in both lists, through the environment.
func TestPatternFormsInBothLists(t *testing.T) {
	for _, tt := range patternCases {
		allowed := mustPolicy(t, map[string]string{EnvAllowedRegistries: tt.pattern})
		exempt := mustPolicy(t, map[string]string{EnvExemptImages: tt.pattern})
		for _, image := range tt.match {
			if err := allowed.Judge(image + digest); err != nil {
				t.Errorf("%s=%q refuses %q: %v", EnvAllowedRegistries, tt.pattern, image+digest, err)
			}
			if err := exempt.Judge(image); err != nil {
				t.Errorf("%s=%q refuses %q: %v", EnvExemptImages, tt.pattern, image, err)
			}
		}
		for _, image := range tt.miss {
			if allowed.Judge(image+digest) == nil {
				t.Errorf("%s=%q allows %q", EnvAllowedRegistries, tt.pattern, image+digest)
			}
			if exempt.Judge(image) == nil {
				t.Errorf("%s=%q exempts %q", EnvExemptImages, tt.pattern, image)
			}
		}
	}
}

func TestExemptTag(t *testing.T) {
	for pattern, tests := range map[string]map[string]bool{
		"nginx:1.27":               {"nginx:1.27": true, "docker.io/library/nginx:1.27": true, "nginx:1.28": false, "nginx": false, "ghcr.io/x/nginx:1.27": false},
		"localhost:5000/app:v1":    {"localhost:5000/app:v1": true, "localhost:5000/app:v2": false},
		"ghcr.io/acme/*:v1":        {"ghcr.io/acme/a:v1": true, "ghcr.io/acme/a/b:v1": true, "ghcr.io/acme/a:v2": false},
		"*:latest":                 {"nginx:latest": true, "ghcr.io/a/b:latest": true, "nginx": false, "nginx:1": false},
		"docker.io/library/x:1.0_": {"x:1.0_": true},
	} {
		p := mustPolicy(t, map[string]string{EnvExemptImages: pattern})
		for image, want := range tests {
			if got := p.Judge(image) == nil; got != want {
				t.Errorf("%q exempts %q: %v, want %v", pattern, image, got, want)
			}
		}
	}
}

// A pattern that could never match, or whose meaning would be a guess, is
// a configuration error naming the variable.
func TestPatternMistakesAreErrors(t *testing.T) {
	long := strings.Repeat("x", 129)
	tests := []struct{ variable, value, want string }{
		{EnvAllowedRegistries, "ng*", `DIGESTPIN_ALLOWED_REGISTRIES: "ng*" is ambiguous: a glob without "/" is "*" (every image) or names registries ("*.example.com"); for Docker Hub write "docker.io/library/ng*"`},
		{EnvExemptImages, "*nginx", `DIGESTPIN_EXEMPT_IMAGES: "*nginx" is ambiguous: a glob without "/" is "*" (every image) or names registries ("*.example.com"); for Docker Hub write "docker.io/library/*nginx"`},
		{EnvExemptImages, "nginx:1.*", `DIGESTPIN_EXEMPT_IMAGES: "nginx:1.*": a tag cannot be a glob; list each tag, or exempt the repository`},
		{EnvExemptImages, "nginx:" + long, `DIGESTPIN_EXEMPT_IMAGES: "nginx:` + long + `": "` + long + `" is not a valid tag, so it could never match`},
		{EnvAllowedRegistries, "ghcr.io//acme", `DIGESTPIN_ALLOWED_REGISTRIES: "ghcr.io//acme" has an empty path segment, so it could never match`},
		{EnvAllowedRegistries, "ghcr.io/a:b/c", `DIGESTPIN_ALLOWED_REGISTRIES: "ghcr.io/a:b/c" has a colon after the registry host ("a:b"), so it could never match`},
		{EnvAllowedRegistries, "localhost:port/x", `DIGESTPIN_ALLOWED_REGISTRIES: "localhost:port/x" has no valid registry host ("localhost:port"), so it could never match`},
		{EnvAllowedRegistries, "/acme", `DIGESTPIN_ALLOWED_REGISTRIES: "/acme" has an empty path segment, so it could never match`},
		{EnvAllowedRegistries, "nginx:1.27", `DIGESTPIN_ALLOWED_REGISTRIES: "nginx:1.27" names a tag; list registries or repositories`},
		{EnvExemptImages, "nginx:", `DIGESTPIN_EXEMPT_IMAGES: "nginx:" has an empty tag`},
	}
	for _, tt := range tests {
		_, err := FromEnv(env(map[string]string{tt.variable: tt.value}))
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s=%q: error %v, want %q", tt.variable, tt.value, err, tt.want)
		}
	}
}

func mustParse(t *testing.T, image string) imageref.Ref {
	t.Helper()
	ref, err := imageref.Parse(image)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
