package policy

import (
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/digestpin/digestpin/internal/imageref"
)

// Violation is one image that may not be rendered.
type Violation struct {
	Kind      string
	Namespace string
	Name      string
	imageref.Use
	// Reason says why the image is refused.
	Reason error
	// Source is the repository file the object came from, "" when unknown.
	Source string
}

// Check judges every image of obj: those in containers lists and those in
// the policy's and the extra image fields.
func (p Policy) Check(obj *yaml.Node, extraFields []imageref.FieldSpec) []Violation {
	fields := append(append([]imageref.FieldSpec(nil), p.ImageFields...), extraFields...)
	var violations []Violation
	for _, use := range imageref.Find(obj, fields) {
		if err := p.Judge(use.Image); err != nil {
			rn := yaml.NewRNode(obj)
			violations = append(violations, Violation{
				Kind:      rn.GetKind(),
				Namespace: rn.GetNamespace(),
				Name:      rn.GetName(),
				Use:       use,
				Reason:    err,
			})
		}
	}
	return violations
}
