package promote

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/registry"
	"github.com/digestpin/digestpin/internal/semver"
	"github.com/digestpin/digestpin/internal/untrusted"
)

// TagRule picks an image's tag by version: the highest semantic version
// among the repository's tags that Constraint admits and Filter, when set,
// matches. Tags that are not semantic versions (a leading "v" allowed) are
// ignored.
type TagRule struct {
	// Repository is the repository the rule is for, as users write it
	// ("ghcr.io/acme/web", "nginx"); "" makes it the rule for every image
	// given without a rule of its own.
	Repository string
	Constraint semver.Constraint
	// Filter, when set, keeps only the tags it matches.
	Filter *regexp.Regexp
}

func (r TagRule) String() string {
	if r.Filter == nil {
		return r.Constraint.String()
	}
	return fmt.Sprintf("%s among tags matching %s", r.Constraint, r.Filter)
}

// Choice is the tag a TagRule picked.
type Choice struct {
	// Repository is the repository as given.
	Repository string
	Rule       TagRule
	Tag        string
	// PassedOver are the next tags the rule admitted, best first, at most
	// MaxPassedOver of them.
	PassedOver []string
	// Listed counts the repository's tags.
	Listed int
}

// MaxPassedOver bounds Choice.PassedOver.
const MaxPassedOver = 3

// maxNewest bounds the tags a NoTagError lists.
const maxNewest = 5

// NoTagError says no tag of a repository satisfies its TagRule. Nothing
// was changed.
type NoTagError struct {
	Repository string
	Rule       TagRule
	// Newest are the highest semantic versions among the tags the filter
	// kept, best first; when none is a version, some of the tags.
	Newest []string
	// Listed counts the repository's tags, Versions those that are
	// semantic versions the filter kept.
	Listed, Versions int
}

func (e *NoTagError) Error() string {
	newest := make([]string, len(e.Newest))
	for i, t := range e.Newest {
		newest[i] = untrusted.Text(t)
	}
	what := fmt.Sprintf("no tag of %s satisfies %s", e.Repository, e.Rule)
	switch {
	case e.Listed == 0:
		return what + ": the repository has no tags"
	case e.Versions == 0 && e.Rule.Filter != nil:
		return fmt.Sprintf("%s: none of its %d tags is a semantic version matching %s (it has %s)", what, e.Listed, e.Rule.Filter, strings.Join(newest, ", "))
	case e.Versions == 0:
		return fmt.Sprintf("%s: none of its %d tags is a semantic version (it has %s)", what, e.Listed, strings.Join(newest, ", "))
	}
	return fmt.Sprintf("%s; the newest versions it has are %s", what, strings.Join(newest, ", "))
}

// Choose picks the tag rule admits among tags, the repository's.
func Choose(repository string, tags []string, rule TagRule) (Choice, error) {
	type candidate struct {
		tag string
		v   semver.Version
	}
	var versions []candidate
	for _, tag := range tags {
		if rule.Filter != nil && !rule.Filter.MatchString(tag) {
			continue
		}
		if v, ok := semver.ParseTag(tag); ok {
			versions = append(versions, candidate{tag, v})
		}
	}
	// Best first: precedence, then build metadata and text (CompareTags),
	// so that the choice never depends on the order the registry lists.
	slices.SortFunc(versions, func(a, b candidate) int { return semver.CompareTags(b.v, a.v) })
	var admitted []string
	for _, c := range versions {
		if rule.Constraint.Admits(c.v) {
			admitted = append(admitted, c.tag)
		}
	}
	if len(admitted) == 0 {
		e := &NoTagError{Repository: repository, Rule: rule, Listed: len(tags), Versions: len(versions)}
		for _, c := range versions[:min(len(versions), maxNewest)] {
			e.Newest = append(e.Newest, c.tag)
		}
		if len(versions) == 0 {
			e.Newest = tags[:min(len(tags), maxNewest)]
		}
		return Choice{}, e
	}
	return Choice{
		Repository: repository,
		Rule:       rule,
		Tag:        admitted[0],
		PassedOver: admitted[1:min(len(admitted), 1+MaxPassedOver)],
		Listed:     len(tags),
	}, nil
}

// ChooseTag lists repository's tags in the registry and picks one by rule.
func ChooseTag(ctx context.Context, client *registry.Client, repository string, rule TagRule) (Choice, error) {
	tags, err := client.Tags(ctx, repository)
	if err != nil {
		return Choice{}, err
	}
	return Choose(repository, tags, rule)
}

// Rules finds the TagRule for each repository.
type Rules struct {
	byRepo map[string]TagRule
	all    *TagRule
}

// NewRules indexes rules: at most one per repository, and at most one for
// every image (Repository "").
func NewRules(rules []TagRule) (*Rules, error) {
	r := &Rules{byRepo: map[string]TagRule{}}
	for _, rule := range rules {
		if rule.Repository == "" {
			if r.all != nil {
				return nil, usageError("%s: two rules for every image (%s and %s); give one, or name each image's repository", OptTagRules, r.all.Constraint, rule.Constraint)
			}
			r.all = &rule
			continue
		}
		key, err := imageref.NormalizeRepository(rule.Repository)
		if err != nil {
			return nil, usageError("%s: %w", OptTagRules, err)
		}
		if prev, ok := r.byRepo[key]; ok {
			return nil, usageError("%s: two rules for %s (%s and %s)", OptTagRules, rule.Repository, prev.Constraint, rule.Constraint)
		}
		r.byRepo[key] = rule
	}
	return r, nil
}

// For returns the rule for repository, if any.
func (r *Rules) For(repository string) (TagRule, bool) {
	if r == nil {
		return TagRule{}, false
	}
	if key, err := imageref.NormalizeRepository(repository); err == nil {
		if rule, ok := r.byRepo[key]; ok {
			return rule, true
		}
	}
	if r.all != nil {
		return *r.all, true
	}
	return TagRule{}, false
}

// Unused returns the repository-specific rules none of repositories
// matches, in the order given.
func (r *Rules) Unused(repositories []string, order []TagRule) []TagRule {
	used := map[string]bool{}
	for _, repo := range repositories {
		if key, err := imageref.NormalizeRepository(repo); err == nil {
			used[key] = true
		}
	}
	var unused []TagRule
	for _, rule := range order {
		if rule.Repository == "" {
			continue
		}
		if key, err := imageref.NormalizeRepository(rule.Repository); err == nil && !used[key] {
			unused = append(unused, rule)
		}
	}
	return unused
}
