package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/promote"
	"github.com/digestpin/digestpin/internal/semver"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// tagRules reads --semver and --tag-regex values into rules. A value is
// "REPO=VALUE" for one repository, or VALUE alone for every image given
// without a tag (only where bare values are allowed). A --tag-regex
// narrows the --semver rule of the same repository.
func tagRules(semvers, regexes []string, bareAllowed bool) ([]promote.TagRule, error) {
	var rules []promote.TagRule
	index := map[string]int{}
	for _, value := range semvers {
		repo, text := splitRule(value)
		if repo == "" && !bareAllowed {
			return nil, fmt.Errorf("--semver %q: name the image's repository, as in --semver ghcr.io/acme/web='~1.4'", value)
		}
		c, err := semver.ParseConstraint(text)
		if err != nil {
			return nil, fmt.Errorf("--semver: %w", err)
		}
		key := ruleKey(repo)
		if _, dup := index[key]; dup {
			if repo == "" {
				return nil, fmt.Errorf("--semver is given twice without a repository (%s and %s); name each image's repository", rules[index[key]].Constraint, c)
			}
			return nil, fmt.Errorf("--semver is given twice for %s", repo)
		}
		index[key] = len(rules)
		rules = append(rules, promote.TagRule{Repository: repo, Constraint: c})
	}
	for _, value := range regexes {
		repo, text := splitRule(value)
		re, err := regexp.Compile(text)
		if err != nil {
			return nil, fmt.Errorf("--tag-regex %q: %w", value, err)
		}
		i, ok := index[ruleKey(repo)]
		switch {
		case !ok && repo == "":
			return nil, fmt.Errorf("--tag-regex %q narrows a --semver rule, and no --semver without a repository is given", value)
		case !ok:
			return nil, fmt.Errorf("--tag-regex %q narrows a --semver rule, and no --semver is given for %s", value, repo)
		case rules[i].Filter != nil:
			return nil, fmt.Errorf("--tag-regex is given twice for %s", cmpOr(repo, "every image"))
		}
		rules[i].Filter = re
	}
	return rules, nil
}

// splitRule splits "REPO=VALUE". The part before the first "=" is a
// repository only when it reads as one; otherwise ("=1.4.2", ">=1.2") the
// whole value is the rule.
func splitRule(value string) (repo, rule string) {
	left, right, ok := strings.Cut(value, "=")
	if !ok || left == "" || strings.ContainsAny(left, "<>!~^*|, \t\\()[]{}$+?") {
		return "", value
	}
	if _, err := imageref.NormalizeRepository(left); err != nil {
		return "", value
	}
	return left, right
}

func ruleKey(repo string) string {
	if repo == "" {
		return ""
	}
	if key, err := imageref.NormalizeRepository(repo); err == nil {
		return key
	}
	return repo
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// choices writes what each rule chose, and the next candidates it passed
// over.
func choices(b *strings.Builder, cs []promote.Choice) {
	for _, c := range cs {
		// Tags come from the registry's list.
		fmt.Fprintf(b, "chose %s:%s for %s from %d tags", c.Repository, untrusted.Text(c.Tag), c.Rule, c.Listed)
		if len(c.PassedOver) == 0 {
			b.WriteString("; no other tag satisfies it\n")
			continue
		}
		fmt.Fprintf(b, "; passed over %s\n", untrusted.Text(strings.Join(c.PassedOver, ", ")))
	}
}
