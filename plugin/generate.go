package plugin

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strconv"
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
	// mode is the operator's DIGESTPIN_MODE; allowAppAudit says whether an
	// Application may ask for audit itself.
	mode          Mode
	allowAppAudit bool
	// log receives audit mode's summary.
	log    io.Writer
	memory int64
}

// Mode says what generate does with an image that lacks a digest.
type Mode string

const (
	// Enforce refuses to render: nothing reaches Argo CD.
	Enforce Mode = "enforce"
	// Audit renders anyway, marking each object that runs such an image
	// with the annotation digestpin.dev/unpinned-images.
	Audit Mode = "audit"
)

// The sidecar's variables for the mode, and the plugin env an
// Application sets to ask for one.
const (
	EnvMode          = "DIGESTPIN_MODE"
	EnvAllowAppAudit = "DIGESTPIN_ALLOW_APP_AUDIT"
	AppEnvMode       = EnvPrefix + "MODE"
)

// ModeError says an Application asked for a mode it may not have, or one
// that does not exist. Nothing was rendered.
type ModeError struct{ msg string }

func (e *ModeError) Error() string { return e.msg }

func modeFromEnv(lookup func(string) (string, bool)) (Mode, bool, error) {
	mode := Enforce
	if v, ok := lookup(EnvMode); ok && strings.TrimSpace(v) != "" {
		switch m := Mode(strings.TrimSpace(v)); m {
		case Enforce, Audit:
			mode = m
		default:
			return "", false, fmt.Errorf("%s=%q: want enforce or audit", EnvMode, v)
		}
	}
	allow := false
	if v, ok := lookup(EnvAllowAppAudit); ok && strings.TrimSpace(v) != "" {
		switch strings.TrimSpace(v) {
		case "true":
			allow = true
		case "false":
		default:
			return "", false, fmt.Errorf("%s=%q: want true or false", EnvAllowAppAudit, v)
		}
	}
	return mode, allow, nil
}

// modeFor is the mode req renders in: the operator's, unless the
// Application asks for enforce, or for audit where the operator allows it.
func (c Config) modeFor(req Request) (Mode, error) {
	mode := c.mode
	if mode == "" {
		mode = Enforce
	}
	switch Mode(req.Mode) {
	case "":
		return mode, nil
	case Enforce:
		return Enforce, nil
	case Audit:
		if mode == Audit || c.allowAppAudit {
			return Audit, nil
		}
		return "", &ModeError{fmt.Sprintf("the Application asks for audit mode (plugin env MODE=audit), and the operator has not allowed Applications to choose it: images without a digest are refused here. The operator allows it with %s=true on the digestpin sidecar; or remove MODE from the Application's plugin env", EnvAllowAppAudit)}
	}
	return "", &ModeError{fmt.Sprintf("the Application's plugin env MODE=%q is not a mode: use audit or enforce", req.Mode)}
}

// EnvRenderMemory bounds the memory generate's render may hold (bytes, or
// a number with a KiB, MiB or GiB suffix).
const EnvRenderMemory = "DIGESTPIN_RENDER_MEMORY"

// DefaultRenderMemory is generate's memory bound when EnvRenderMemory is
// not set: half the sidecar's 512 MiB limit, which argocd-cmp-server and
// concurrent renders share. The input limits keep what a render reads
// well below it, but what kustomize makes of it can grow past any input
// limit (a patch with thousands of keys applied to every one of a
// thousand objects).
const DefaultRenderMemory = 256 << 20

// Memory is how much memory generate's render may hold before generate
// gives up, with a message and nothing on stdout.
func (c Config) Memory() int64 {
	if c.memory == 0 {
		return DefaultRenderMemory
	}
	return c.memory
}

// MemoryError is what generate says when a render outgrows the memory
// bound.
func MemoryError(limit int64) error {
	return fmt.Errorf("the render needed more than %d MiB of memory (%s), so digestpin stopped it before the sidecar's memory limit would kill it; split the app, or raise %s along with the sidecar's memory limit", limit>>20, EnvRenderMemory, EnvRenderMemory)
}

func parseBytes(v string) (int64, bool) {
	v = strings.TrimSpace(v)
	unit := int64(1)
	for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(v, suffix); ok {
			v, unit = strings.TrimSpace(n), u
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/unit {
		return 0, false
	}
	return n * unit, true
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
// DIGESTPIN_DEBUG=1 and audit mode's summary write. A malformed value is an error naming the
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
	mode, allow, err := modeFromEnv(lookup)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{policy: pol, tuning: tuning, mode: mode, allowAppAudit: allow, log: debug}
	if v, _ := lookup(EnvRenderTimeout); strings.TrimSpace(v) != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s is %q; use a duration such as 45s", EnvRenderTimeout, v)
		}
		cfg.timeout = d
	}
	if v, _ := lookup(EnvRenderMemory); strings.TrimSpace(v) != "" {
		n, ok := parseBytes(v)
		if !ok || n < 32<<20 {
			return Config{}, fmt.Errorf("%s is %q; use a size of at least 32MiB, such as 256MiB", EnvRenderMemory, v)
		}
		cfg.memory = n
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
//
// In audit mode (the operator's DIGESTPIN_MODE, or the Application's MODE
// where the operator allows it), images that only lack a digest do not
// stop the render: each object that runs one carries the annotation
// digestpin.dev/unpinned-images, and a summary goes to the log. Every
// other violation is refused in any mode.
func Generate(req Request, cfg Config) ([]byte, error) {
	mode, err := cfg.modeFor(req)
	if err != nil {
		return nil, err
	}
	prefix := req.repoPrefix()
	pol := cfg.policy
	opts := render.Options{Root: req.Root, Dir: req.AppPath, Overrides: req.Overrides.forRender(), PathPrefix: prefix, Tuning: cfg.tuning}
	var out []byte
	var audit *policy.Audit
	if mode == Audit {
		out, audit, err = check.Audit(opts, pol)
	} else {
		out, err = check.Kustomization(opts, pol)
	}
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
	if audit != nil && len(audit.Violations) > 0 && cfg.log != nil {
		audit.AppPath = req.SourcePath
		req.markParameterImages(audit.Violations)
		io.WriteString(cfg.log, audit.String())
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
