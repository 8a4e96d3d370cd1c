package promote

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/semver"
)

// registryTags is what a repository might hold: releases with and without a
// leading v, pre-releases, build metadata (after "_", as OCI tags write
// "+"), and tags that are not versions at all.
var registryTags = strings.Fields(`latest main sha-4b825dc 1.25 v1 2024.01.15
	v1.3.9 v1.4.0 v1.4.2 1.4.10 v1.4.9 v1.4.11-rc.1 v1.4.10_build.5 v1.4.10_build.12
	v1.5.0-beta.2 v1.5.0 v2.0.0-rc.1 v2.0.0 0.9.0`)

func TestChoose(t *testing.T) {
	tests := []struct {
		constraint, filter string
		tag                string
		passedOver         string
	}{
		// Equal precedence: build metadata ranks the build tags above the
		// release tag, numeric identifiers numerically.
		{"~1.4", "", "v1.4.10_build.12", "v1.4.10_build.5 1.4.10 v1.4.9"},
		{"1.4.x", "", "v1.4.10_build.12", "v1.4.10_build.5 1.4.10 v1.4.9"},
		{"~1.4", `^v\d+\.\d+\.\d+$`, "v1.4.9", "v1.4.2 v1.4.0"},
		{"=1.4.10", "", "v1.4.10_build.12", "v1.4.10_build.5 1.4.10"},
		{"1.4.10+build.5", "", "v1.4.10_build.5", ""},
		{"^1", "", "v1.5.0", "v1.4.10_build.12 v1.4.10_build.5 1.4.10"},
		{"*", "", "v2.0.0", "v1.5.0 v1.4.10_build.12 v1.4.10_build.5"},
		// Pre-releases only when the constraint names one of that version.
		{">=1.4.11-rc.1 <1.5", "", "v1.4.11-rc.1", ""},
		{"^2.0.0-rc.1", "", "v2.0.0", "v2.0.0-rc.1"},
		{"~1.5.0-beta.1", "", "v1.5.0", "v1.5.0-beta.2"},
		{"<1.4", "", "v1.3.9", "0.9.0"},
		{"^0.9", "", "0.9.0", ""},
	}
	for _, tt := range tests {
		rule := TagRule{Constraint: semver.MustParseConstraint(tt.constraint)}
		if tt.filter != "" {
			rule.Filter = regexp.MustCompile(tt.filter)
		}
		// The registry's order must not matter.
		for _, tags := range [][]string{registryTags, slices.Sorted(slices.Values(registryTags)), reversed(registryTags)} {
			c, err := Choose("ghcr.io/acme/web", tags, rule)
			if err != nil {
				t.Errorf("%s: %v", rule, err)
				continue
			}
			if c.Tag != tt.tag || strings.Join(c.PassedOver, " ") != tt.passedOver || c.Listed != len(registryTags) {
				t.Errorf("%s: chose %s, passed over %q (of %d); want %s, %q", rule, c.Tag, c.PassedOver, c.Listed, tt.tag, tt.passedOver)
			}
		}
	}
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func TestChooseNothing(t *testing.T) {
	tests := []struct {
		constraint, filter string
		tags               []string
		want               string
	}{
		{"^3", "", registryTags, "no tag of ghcr.io/acme/web satisfies ^3; the newest versions it has are v2.0.0, v2.0.0-rc.1, v1.5.0, v1.5.0-beta.2, v1.4.11-rc.1"},
		{"~1.6", `^v`, registryTags, "no tag of ghcr.io/acme/web satisfies ~1.6 among tags matching ^v; the newest versions it has are v2.0.0, v2.0.0-rc.1, v1.5.0, v1.5.0-beta.2, v1.4.11-rc.1"},
		{"~1.4", `^release-`, registryTags, "no tag of ghcr.io/acme/web satisfies ~1.4 among tags matching ^release-: none of its 19 tags is a semantic version matching ^release- (it has latest, main, sha-4b825dc, 1.25, v1)"},
		{"*", "", []string{"latest", "main\n::warning::x"}, `no tag of ghcr.io/acme/web satisfies *: none of its 2 tags is a semantic version (it has latest, main\n::warning::x)`},
		{"*", "", nil, "no tag of ghcr.io/acme/web satisfies *: the repository has no tags"},
	}
	for _, tt := range tests {
		rule := TagRule{Constraint: semver.MustParseConstraint(tt.constraint)}
		if tt.filter != "" {
			rule.Filter = regexp.MustCompile(tt.filter)
		}
		_, err := Choose("ghcr.io/acme/web", tt.tags, rule)
		var none *NoTagError
		if err == nil || err.Error() != tt.want || !asNoTag(err, &none) {
			t.Errorf("%s: error %v\nwant %s", rule, err, tt.want)
		}
	}
}

func asNoTag(err error, target **NoTagError) bool {
	e, ok := err.(*NoTagError)
	*target = e
	return ok
}

func TestRules(t *testing.T) {
	web := TagRule{Repository: "ghcr.io/acme/web", Constraint: semver.MustParseConstraint("~1.4")}
	nginx := TagRule{Repository: "nginx", Constraint: semver.MustParseConstraint("^1.25")}
	all := TagRule{Constraint: semver.MustParseConstraint("*")}
	rules, err := NewRules([]TagRule{web, nginx, all})
	if err != nil {
		t.Fatal(err)
	}
	for repo, want := range map[string]string{
		"ghcr.io/acme/web": "~1.4", "docker.io/library/nginx": "^1.25", "index.docker.io/library/nginx": "^1.25",
		"nginx": "^1.25", "ghcr.io/acme/api": "*",
	} {
		if got, ok := rules.For(repo); !ok || got.Constraint.String() != want {
			t.Errorf("For(%s) = %s, %t; want %s", repo, got.Constraint, ok, want)
		}
	}
	if unused := rules.Unused([]string{"docker.io/library/nginx"}, []TagRule{web, nginx, all}); len(unused) != 1 || unused[0].Repository != "ghcr.io/acme/web" {
		t.Errorf("Unused = %v", unused)
	}
	for _, bad := range [][]TagRule{{all, all}, {web, web}, {nginx, {Repository: "docker.io/library/nginx", Constraint: web.Constraint}}} {
		if _, err := NewRules(bad); err == nil {
			t.Errorf("NewRules(%v) accepted two rules for one repository", bad)
		}
	}
}
