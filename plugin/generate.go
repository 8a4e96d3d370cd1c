package plugin

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/digestpin/digestpin/internal/check"
	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/render"
	"github.com/digestpin/digestpin/internal/repofs"
)

// Config is the sidecar's configuration: the operator's policy and how
// renders go about their work, from the sidecar container's environment.
// The zero Config is what an environment without DIGESTPIN_* variables
// gives: any registry, every image pinned by digest.
type Config struct {
	policy  policy.Policy
	tuning  render.Tuning
	timeout time.Duration
}

// EnvRenderTimeout bounds how long generate may take (a Go duration such
// as 45s).
const EnvRenderTimeout = "DIGESTPIN_RENDER_TIMEOUT"

// DefaultRenderTimeout is generate's bound when EnvRenderTimeout is not
// set: below the 60 s Argo CD gives a whole manifest request by default
// (argocd-application-controller's and argocd-server's
// --repo-server-timeout-seconds), which also pays for fetching the
// repository and sending it to the sidecar. Stopping first, digestpin says
// why; Argo CD would only say that the deadline passed.
const DefaultRenderTimeout = 45 * time.Second

// Timeout is how long generate may take before it gives up, with a
// message and nothing on stdout.
func (c Config) Timeout() time.Duration {
	if c.timeout == 0 {
		return DefaultRenderTimeout
	}
	return c.timeout
}

// TimeoutError is what generate says when a render outlives the timeout.
func TimeoutError(timeout time.Duration) error {
	return fmt.Errorf("the render did not finish within %s (%s), so digestpin stopped it before Argo CD's own timeout; split the app, or raise %s along with Argo CD's controller.repo.server.timeout.seconds", timeout, EnvRenderTimeout, EnvRenderTimeout)
}

// ConfigFromEnv reads the sidecar's DIGESTPIN_* variables; debug is where
// DIGESTPIN_DEBUG=1 writes. A malformed value is an error naming the
// variable: nothing falls back to a default.
func ConfigFromEnv(lookup func(string) (string, bool), debug io.Writer) (Config, error) {
	pol, err := policy.FromEnv(lookup)
	if err != nil {
		return Config{}, err
	}
	tuning, err := render.TuningFromEnv(lookup, debug)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{policy: pol, tuning: tuning}
	if v, _ := lookup(EnvRenderTimeout); strings.TrimSpace(v) != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s is %q; use a duration such as 45s", EnvRenderTimeout, v)
		}
		cfg.timeout = d
	}
	return cfg, nil
}

// IsRefusal reports whether err, from Generate, is a refusal by policy
// (every offender listed in its message) rather than a failure to render.
func IsRefusal(err error) bool {
	var refusal *policy.Refusal
	return errors.As(err, &refusal)
}

// Generate renders the request under cfg. It returns the manifests, or an
// error and no manifests at all: a partial set would make Argo CD prune
// whatever is missing. Messages name files by their repository path.
func Generate(req Request, cfg Config) ([]byte, error) {
	prefix := req.repoPrefix()
	pol := cfg.policy
	out, err := check.Kustomization(render.Options{Root: req.Root, Dir: req.AppPath, Overrides: req.Overrides.forRender(), PathPrefix: prefix, Tuning: cfg.tuning}, pol)
	var refusal *policy.Refusal
	var outside *repofs.OutsideError
	switch {
	case errors.As(err, &refusal):
		refusal.AppPath = req.SourcePath
		req.markParameterImages(refusal.Violations)
	case errors.As(err, &outside) && !outside.Escapes:
		// Inside the repository, but Argo CD did not send it.
		rel, relErr := filepath.Rel(req.SourcePath, outside.Path)
		if relErr != nil {
			rel = outside.Path
		}
		err = fmt.Errorf("%w: Argo CD sent only %s, because the Application's argocd.argoproj.io/manifest-generate-paths annotation does not list %s", err, prefix, filepath.ToSlash(rel))
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// markParameterImages says so when an offending image was set by the
// Application's images parameter or env, where the fix belongs, rather than
// by the file the object came from.
func (r Request) markParameterImages(violations []policy.Violation) {
	for i, v := range violations {
		for _, arg := range r.Overrides.Images {
			o, err := render.ParseImageOverride(arg)
			if err != nil {
				continue
			}
			name := o.NewName
			if name == "" || name == "*" {
				name = o.Name
			}
			if v.Image == name || strings.HasPrefix(v.Image, name+":") || strings.HasPrefix(v.Image, name+"@") {
				violations[i].Source = "the Application's images parameter " + arg
			}
		}
	}
}

// repoPrefix is where Root sits in the repository: "" when Argo CD sent the
// whole repository, the common ancestor's path with manifest-generate-paths.
func (r Request) repoPrefix() string {
	app := filepath.ToSlash(r.AppPath)
	if app == "." {
		return path.Clean(r.SourcePath)
	}
	if prefix, ok := strings.CutSuffix(r.SourcePath, "/"+app); ok {
		return prefix
	}
	return ""
}
