// Package plugin is digestpin's side of Argo CD's Config Management Plugin
// contract: it reads what argocd-cmp-server passes to the generate command
// (working directory, ARGOCD_APP_* variables, plugin env as ARGOCD_ENV_*,
// parameters as JSON in ARGOCD_APP_PARAMETERS) and turns it into a render.
package plugin

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/digestpin/digestpin/internal/render"
)

// Variables Argo CD sets for every plugin command.
const (
	EnvSourcePath = "ARGOCD_APP_SOURCE_PATH"
	EnvParameters = "ARGOCD_APP_PARAMETERS"
	// EnvPrefix prefixes every variable of an Application's
	// spec.source.plugin.env.
	EnvPrefix = "ARGOCD_ENV_"
)

// Request is one generate call as Argo CD makes it.
type Request struct {
	// Root is the repository tree Argo CD sent; nothing outside it is read.
	Root string
	// AppPath is the application's directory relative to Root.
	AppPath string
	// SourcePath is the application's path in the repository, as the
	// Application names it; used in messages.
	SourcePath string
	// Overrides come from the Application's plugin parameters and env.
	Overrides Overrides
	// Mode is what the Application's plugin env MODE asks for: "",
	// "audit" or "enforce" (Generate judges whether it may).
	Mode string
}

// Overrides are the options of Argo CD's native kustomize source that an
// Application sets through the plugin's parameters or env. They are
// applied to the root kustomization in memory, with the semantics of the
// `kustomize edit` commands Argo CD runs; the checkout is never edited.
type Overrides struct {
	// Images are `kustomize edit set image` arguments: "name=newName:tag",
	// "name:tag", "name@sha256:...", "name=*:tag" keeps newName.
	Images []string
	// NamePrefix, NameSuffix and Namespace replace the kustomization's,
	// when set.
	NamePrefix, NameSuffix, Namespace string
	// CommonLabels and CommonAnnotations are merged over the
	// kustomization's.
	CommonLabels, CommonAnnotations map[string]string
	// Components are appended to the kustomization's components unless
	// already listed. They are vetted like the kustomization's own.
	Components []string
	// ComponentsSource says where Components come from, for messages:
	// "the Application's components parameter" or "the Application's
	// plugin env COMPONENTS".
	ComponentsSource string
}

func (o Overrides) forRender() render.Overrides {
	return render.Overrides{
		Images: o.Images, NamePrefix: o.NamePrefix, NameSuffix: o.NameSuffix, Namespace: o.Namespace,
		CommonLabels: o.CommonLabels, CommonAnnotations: o.CommonAnnotations, Components: o.Components,
		ComponentsSource: o.ComponentsSource,
	}
}

// NewRequest reads the request from the command's working directory and
// environment.
func NewRequest(workDir string, lookup func(string) (string, bool)) (Request, error) {
	sourcePath, _ := lookup(EnvSourcePath)
	root := Root(workDir, sourcePath, Checkout(workDir, lookup))
	appPath, err := filepath.Rel(root, workDir)
	if err != nil {
		return Request{}, err
	}
	overrides, err := envOverrides(lookup)
	if err != nil {
		return Request{}, err
	}
	if raw, ok := lookup(EnvParameters); ok && strings.TrimSpace(raw) != "" {
		if err := applyParameters(&overrides, raw); err != nil {
			return Request{}, err
		}
	}
	shown := filepath.ToSlash(filepath.Clean(sourcePath))
	if sourcePath == "" {
		shown = filepath.ToSlash(appPath)
	}
	mode, _ := lookup(AppEnvMode)
	return Request{Root: root, AppPath: appPath, SourcePath: shown, Overrides: overrides, Mode: strings.TrimSpace(mode)}, nil
}

// Root returns the root of the tree Argo CD sent. Argo CD runs the command
// in <tree>/<app path relative to the tree>, and the tree is the whole
// repository unless the Application uses manifest-generate-paths, in which
// case it is the common ancestor of the app path and those paths (see
// getApplicationRootPath in argo-cd's reposerver/repository). Either way the
// working directory ends with a tail of the source path, and the root is
// what precedes that tail. The root never rises above floor, the directory
// the tree was unpacked into when it is known (see Checkout): a source path
// longer than the tail sent, whose first elements happen to name the
// directories above the tree, must not take the root out of the tree.
// Without a source path, the working directory is all that is known.
func Root(workDir, sourcePath, floor string) string {
	dir := filepath.Clean(workDir)
	if floor != "" {
		floor = filepath.Clean(floor)
	}
	parts := strings.Split(filepath.ToSlash(filepath.Clean(sourcePath)), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if parts[i] == "." || parts[i] == "" {
			continue
		}
		if dir == floor || filepath.Base(dir) != parts[i] || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	return dir
}

// EnvCMPWorkDir is argo-cd's common.EnvCMPWorkDir: where argocd-cmp-server
// keeps the trees it unpacks. The CMP server passes its environment on to
// the commands it runs.
const EnvCMPWorkDir = "ARGOCD_CMP_WORKDIR"

// cmpWorkDirName is argo-cd's common.DefaultCMPWorkDirName.
const cmpWorkDirName = "_cmp_server"

// Checkout returns the directory argocd-cmp-server unpacked this request's
// tree into, when workDir lies in one, and "" otherwise. The CMP server
// unpacks every request into a directory of its own, named by a random
// UUID, directly under common.GetCMPWorkDir(): $ARGOCD_CMP_WORKDIR, or the
// temporary directory, joined with "_cmp_server" (argo-cd's
// cmpserver/plugin.getTempDirMustCleanup). Its neighbours are other
// requests' trees, which a render must never read.
func Checkout(workDir string, lookup func(string) (string, bool)) string {
	base, _ := lookup(EnvCMPWorkDir)
	if base == "" {
		// os.TempDir on Unix, with the command's environment.
		if base, _ = lookup("TMPDIR"); base == "" {
			base = "/tmp"
		}
	}
	cmp := filepath.Join(base, cmpWorkDirName)
	for _, resolve := range []bool{false, true} {
		dir, work := cmp, filepath.Clean(workDir)
		if resolve {
			var err error
			if dir, err = filepath.EvalSymlinks(cmp); err != nil {
				return ""
			}
			if work, err = filepath.EvalSymlinks(work); err != nil {
				return ""
			}
		}
		rel, err := filepath.Rel(dir, work)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		first, _, _ := strings.Cut(rel, string(filepath.Separator))
		// The working directory is a real path: argocd-cmp-server passes
		// its own PWD on, so os.Getwd asks the kernel.
		return filepath.Join(dir, first)
	}
	return ""
}

// parameter is one entry of ARGOCD_APP_PARAMETERS, as Argo CD marshals
// ApplicationSourcePluginParameter.
type parameter struct {
	Name   string             `json:"name"`
	String *string            `json:"string,omitempty"`
	Array  *[]string          `json:"array,omitempty"`
	Map    *map[string]string `json:"map,omitempty"`
}

func (p parameter) kind() string {
	switch {
	case p.String != nil && p.Array == nil && p.Map == nil:
		return "string"
	case p.Array != nil && p.String == nil && p.Map == nil:
		return "array"
	case p.Map != nil && p.String == nil && p.Array == nil:
		return "map"
	}
	return "mixture"
}

// Parameter names, as announced in plugin.yaml. They mirror the options of
// Argo CD's native kustomize source.
const (
	ParamImages            = "images"
	ParamNamePrefix        = "namePrefix"
	ParamNameSuffix        = "nameSuffix"
	ParamNamespace         = "namespace"
	ParamCommonLabels      = "commonLabels"
	ParamCommonAnnotations = "commonAnnotations"
	ParamComponents        = "components"
)

var parameterKinds = map[string]string{
	ParamImages:            "array",
	ParamComponents:        "array",
	ParamNamePrefix:        "string",
	ParamNameSuffix:        "string",
	ParamNamespace:         "string",
	ParamCommonLabels:      "map",
	ParamCommonAnnotations: "map",
}

// applyParameters reads the JSON form of the parameters, which keeps
// arrays, maps and names intact where the PARAM_* variables do not.
func applyParameters(o *Overrides, raw string) error {
	var params []parameter
	if err := json.Unmarshal([]byte(raw), &params); err != nil {
		return fmt.Errorf("%s is not the JSON Argo CD sends: %w", EnvParameters, err)
	}
	for _, p := range params {
		kind, known := parameterKinds[p.Name]
		if !known {
			names := slices.Sorted(maps.Keys(parameterKinds))
			return fmt.Errorf("unknown parameter %q; digestpin accepts %s", p.Name, strings.Join(names, ", "))
		}
		if p.kind() != kind {
			return fmt.Errorf("parameter %q must be %s", p.Name, map[string]string{"string": "a string", "array": "an array", "map": "a map"}[kind])
		}
		switch p.Name {
		case ParamImages:
			o.Images = *p.Array
		case ParamComponents:
			o.Components = *p.Array
			o.ComponentsSource = "the Application's " + ParamComponents + " parameter"
		case ParamNamePrefix:
			o.NamePrefix = *p.String
		case ParamNameSuffix:
			o.NameSuffix = *p.String
		case ParamNamespace:
			o.Namespace = *p.String
		case ParamCommonLabels:
			o.CommonLabels = *p.Map
		case ParamCommonAnnotations:
			o.CommonAnnotations = *p.Map
		}
	}
	for _, image := range o.Images {
		if _, err := render.ParseImageOverride(image); err != nil {
			return fmt.Errorf("parameter %q: %w", ParamImages, err)
		}
	}
	return nil
}

// envOverrides reads the same options from the Application's plugin env,
// which Argo CD expands ($ARGOCD_APP_NAME and the like) and ApplicationSets
// template easily: NAME_PREFIX, NAME_SUFFIX, NAMESPACE, IMAGES and
// COMPONENTS (comma-separated), COMMON_LABELS and COMMON_ANNOTATIONS
// (comma-separated key=value). Parameters take precedence.
func envOverrides(lookup func(string) (string, bool)) (Overrides, error) {
	get := func(name string) string {
		v, _ := lookup(EnvPrefix + name)
		return strings.TrimSpace(v)
	}
	o := Overrides{
		NamePrefix: get("NAME_PREFIX"),
		NameSuffix: get("NAME_SUFFIX"),
		Namespace:  get("NAMESPACE"),
		Images:     list(get("IMAGES")),
		Components: list(get("COMPONENTS")),
	}
	if len(o.Components) > 0 {
		o.ComponentsSource = "the Application's plugin env COMPONENTS"
	}
	var err error
	if o.CommonLabels, err = pairs(EnvPrefix+"COMMON_LABELS", get("COMMON_LABELS")); err != nil {
		return o, err
	}
	if o.CommonAnnotations, err = pairs(EnvPrefix+"COMMON_ANNOTATIONS", get("COMMON_ANNOTATIONS")); err != nil {
		return o, err
	}
	for _, image := range o.Images {
		if _, err := render.ParseImageOverride(image); err != nil {
			return o, fmt.Errorf("%sIMAGES: %w", EnvPrefix, err)
		}
	}
	return o, nil
}

func list(s string) []string {
	var items []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

func pairs(name, s string) (map[string]string, error) {
	items := list(s)
	if len(items) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, item := range items {
		k, v, ok := strings.Cut(item, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s: %q is not key=value", name, item)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, nil
}
