package plugin

import (
	"errors"
	"path"
	"path/filepath"
	"strings"

	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/render"
	"github.com/digestpin/digestpin/internal/verify"
)

// Generate renders the request under pol. It returns the manifests, or an
// error and no manifests at all: a partial set would make Argo CD prune
// whatever is missing. A *policy.Refusal names files as they are in the
// repository.
func Generate(req Request, pol policy.Policy) ([]byte, error) {
	out, err := verify.Kustomization(render.Options{Root: req.Root, Dir: req.AppPath, Overrides: req.Overrides}, pol)
	var refusal *policy.Refusal
	if errors.As(err, &refusal) {
		refusal.AppPath = req.SourcePath
		prefix := req.repoPrefix()
		for i := range refusal.Violations {
			if src := refusal.Violations[i].Source; src != "" {
				refusal.Violations[i].Source = path.Join(prefix, src)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// repoPrefix is where Root sits in the repository: "" when Argo CD sent the
// whole repository, the common ancestor's path with manifest-generate-paths.
func (r Request) repoPrefix() string {
	app := filepath.ToSlash(r.AppPath)
	if app == "." {
		return r.SourcePath
	}
	if prefix, ok := strings.CutSuffix(r.SourcePath, "/"+app); ok {
		return prefix
	}
	return ""
}
