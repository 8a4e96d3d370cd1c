// Package check is the engine generate and check share: it renders a
// kustomization or reads plain manifests, and judges every image against
// the operator's policy.
package check

import (
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/kio"

	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/render"
	"github.com/digestpin/digestpin/internal/repofs"
)

// Kustomization renders opts and returns its YAML when every image passes
// pol. Otherwise it returns a *policy.Refusal listing every offender with
// the file it came from, and no YAML.
func Kustomization(opts render.Options, pol policy.Policy) ([]byte, error) {
	result, err := render.Render(opts)
	if err != nil {
		return nil, err
	}
	if violations, offenders := judge(result, pol); len(violations) > 0 {
		// Say where each offender came from: from the render's own origin
		// marks when it has them, otherwise by rendering once more. A
		// passing render stays a single plain run.
		if origins, err := render.Origins(opts, result, offenders); err == nil {
			result.Origins = origins
			violations, _ = judge(result, pol)
		}
		return nil, &policy.Refusal{Violations: violations, AppPath: opts.Dir, Allowed: pol.AllowedRegistries}
	}
	return result.YAML()
}

// judge returns the violations of result's objects, and the indexes of
// the objects that have any.
func judge(result *render.Result, pol policy.Policy) ([]policy.Violation, []int) {
	var violations []policy.Violation
	var offenders []int
	for i, res := range result.Resources.Resources() {
		found := pol.Check(res.YNode(), result.ImageFields)
		for _, v := range found {
			if i < len(result.Origins) {
				v.Source = result.Origins[i]
			}
			v.Line = 0 // a line of the rendered output means nothing to the reader
			violations = append(violations, v)
		}
		if len(found) > 0 {
			offenders = append(offenders, i)
		}
	}
	return violations, offenders
}

// Manifests judges the objects of a plain YAML stream read from file.
func Manifests(file string, data []byte, pol policy.Policy) ([]policy.Violation, error) {
	if err := repofs.DefaultLimits().Check(file, data); err != nil {
		return nil, err
	}
	return judgeManifests(file, data, pol)
}

// judgeManifests is Manifests on data already measured against the
// limits.
func judgeManifests(file string, data []byte, pol policy.Policy) ([]policy.Violation, error) {
	nodes, err := kio.FromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", file, err)
	}
	var violations []policy.Violation
	for _, n := range nodes {
		for _, v := range pol.Check(n.YNode(), nil) {
			v.Source = file
			violations = append(violations, v)
		}
	}
	return violations, nil
}
