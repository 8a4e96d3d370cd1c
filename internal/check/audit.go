package check

import (
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/render"
)

// Audit renders opts as Kustomization does, but lets images that only lack
// a digest through: every object that runs one carries
// policy.AuditAnnotation naming them, and the others are byte for byte
// what Kustomization returns. Any other violation (a registry that is not
// allowed, an image that does not parse) is refused as Kustomization
// refuses it, with no YAML. found lists what was let through.
func Audit(opts render.Options, pol policy.Policy) (out []byte, found *policy.Audit, err error) {
	result, err := render.Render(opts)
	if err != nil {
		return nil, nil, err
	}
	violations, offenders := judge(result, pol)
	refused := false
	for _, v := range violations {
		refused = refused || !v.MissingDigest()
	}
	if len(violations) > 0 {
		if origins, err := render.Origins(opts, result, offenders); err == nil {
			result.Origins = origins
			violations, _ = judge(result, pol)
		}
	}
	if refused {
		var kept []policy.Violation
		for _, v := range violations {
			if !v.MissingDigest() {
				kept = append(kept, v)
			}
		}
		return nil, nil, &policy.Refusal{Violations: kept, AppPath: opts.Dir, Allowed: pol.AllowedRegistries}
	}
	for _, i := range offenders {
		res := result.Resources.Resources()[i]
		mine := pol.Check(res.YNode(), result.ImageFields)
		if err := res.PipeE(yaml.SetAnnotation(policy.AuditAnnotation, policy.AuditValue(mine))); err != nil {
			return nil, nil, err
		}
	}
	out, err = result.YAML()
	if err != nil {
		return nil, nil, err
	}
	return out, &policy.Audit{Violations: violations, AppPath: opts.Dir}, nil
}
