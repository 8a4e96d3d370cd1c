package render

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/repofs"
)

// ErrUnsafe is wrapped by every refusal of repository content that could
// reach the network, run programs, or read outside the repository.
var ErrUnsafe = errors.New("not allowed in digestpin")

// tree is what the walk over a kustomization and everything it includes
// learned before kustomize runs.
type tree struct {
	// rootFile is the root kustomization's real path, and root what it
	// holds (FixKustomization applied).
	rootFile string
	root     *types.Kustomization
	// imageFields are the image fieldSpecs of every `configurations:` file.
	imageFields []imageref.FieldSpec
	// originsRequested is true when the root kustomization already asks for
	// origin annotations, which must then stay in the output.
	originsRequested bool
	// managedByLabel is true when the root kustomization asks for the
	// app.kubernetes.io/managed-by label.
	managedByLabel bool
	// relDir is the kustomization directory, relative to the root.
	relDir string
	// configurations are the `configurations:` files of every
	// kustomization in the tree, and hasVars and hasCRDs say whether any
	// kustomization declares vars or crds: what the root images fast path
	// (images.go) needs to know about the tree.
	configurations []configFile
	hasVars        bool
	hasCRDs        bool
	// resourceFiles are the real paths of the files resources: entries
	// name, and otherFiles those any other entry names (patches,
	// generators' files, configurations, ...): files only kustomize's
	// resource loader reads can carry origin marks (origins.go).
	resourceFiles, otherFiles map[string]bool
}

// configFile is one `configurations:` file. asPlugin is true when its
// kustomization was reached through a generators, transformers or
// validators entry, whose configuration kustomize does not merge into the
// root's.
type configFile struct {
	data     []byte
	asPlugin bool
}

// inspect walks the kustomization at dir, with the overrides applied to it
// in memory as kustomize will read it, and every kustomization it
// includes, from the repository or from the overrides. Before kustomize
// fetches, runs or reads anything, it refuses what kustomize would resolve
// outside the repository: remote resources, bases and files (http, https,
// ssh, file, git URLs and GitHub shorthands, whatever characters they
// hold), any path with a control character, Helm charts, and exec or
// container KRM functions and other plugins; and it counts what the render
// will read and make against the limits (budget.go).
func inspect(fsys *readFS, dir string, o Overrides) (*tree, error) {
	w := walker{fs: fsys, seen: map[string]*total{}, tree: &tree{resourceFiles: map[string]bool{}, otherFiles: map[string]bool{}}}
	rootFile, k, err := w.load(dir)
	if err != nil {
		return nil, err
	}
	if rootFile == "" {
		return nil, fmt.Errorf("no kustomization in %q: expected one of %s", fsys.Rel(dir), strings.Join(konfig.RecognizedKustomizationFileNames(), ", "))
	}
	if !o.empty() {
		// The walk vets what kustomize will read: the root with the
		// overrides applied, the components they add included.
		if k, err = w.override(rootFile, k, o); err != nil {
			return nil, err
		}
	}
	w.tree.rootFile = rootFile
	w.tree.root = k
	for _, m := range k.BuildMetadata {
		if m == types.OriginAnnotations {
			w.tree.originsRequested = true
		}
		if m == types.ManagedByLabelOption {
			w.tree.managedByLabel = true
		}
	}
	sum, err := w.visit(dir, rootFile, k, false)
	if err != nil {
		return nil, err
	}
	if err := w.admit(sum); err != nil {
		return nil, err
	}
	return w.tree, nil
}

// override applies o to the root kustomization file in memory and returns
// what it then holds. It remembers the components o added, for messages.
func (w *walker) override(rootFile string, k *types.Kustomization, o Overrides) (*types.Kustomization, error) {
	src, err := w.fs.ReadFile(rootFile)
	if err != nil {
		return nil, err
	}
	edited, err := o.apply(src, false)
	if err != nil {
		return nil, fmt.Errorf("applying parameters to %s: %w", w.fs.Rel(rootFile), err)
	}
	w.fs.Replace(rootFile, edited)
	var ek types.Kustomization
	if err := ek.Unmarshal(edited); err != nil {
		return nil, fmt.Errorf("applying parameters to %s: %w", w.fs.Rel(rootFile), err)
	}
	ek.FixKustomization()
	source := o.ComponentsSource
	if source == "" {
		source = "the overrides"
	}
	w.added = map[string]string{}
	for _, c := range ek.Components {
		if !slices.Contains(k.Components, c) {
			w.added[c] = source
		}
	}
	w.rootFile = rootFile
	return &ek, nil
}

type walker struct {
	fs *readFS
	// seen holds the totals of every kustomization visited, by directory
	// and role; a zero total while its visit is under way, so that a cycle
	// (which kustomize reports) ends the walk.
	seen map[string]*total
	tree *tree
	// added names where the components the overrides added to the root
	// kustomization (rootFile) come from, by entry.
	added    map[string]string
	rootFile string
	// distinct counts what the walk itself read, each file once: when it
	// passes a limit, so does the render, and the walk stops there.
	distinct total
}

// load reads the kustomization file in dir, if there is one. A
// kustomization file that is there but cannot be read (a symlink leading
// out of the repository, into a loop or to nothing) is an error that says
// why, not a directory without a kustomization.
func (w *walker) load(dir string) (string, *types.Kustomization, error) {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		path := filepath.Join(dir, name)
		if !w.fs.Present(path) {
			continue
		}
		real, err := w.fs.Resolve(path)
		if err != nil {
			return "", nil, err
		}
		if !w.fs.Exists(real) {
			return "", nil, fmt.Errorf("%q is a symlink to a file that does not exist", w.fs.Rel(path))
		}
		if w.fs.IsDir(real) {
			continue
		}
		data, err := w.fs.ReadFile(real)
		if err != nil {
			return "", nil, err
		}
		var k types.Kustomization
		if err := k.Unmarshal(data); err != nil {
			return "", nil, fmt.Errorf("%s: %w", w.fs.Rel(real), err)
		}
		k.FixKustomization()
		return real, &k, nil
	}
	return "", nil, nil
}

// visit checks one kustomization and returns what its render reads and
// makes, what it includes counted as often as it is included. Under a
// generators, transformers or validators entry (asPlugins) its resources
// are plugin configurations and are checked as such.
func (w *walker) visit(dir, file string, k *types.Kustomization, asPlugins bool) (total, error) {
	key := fmt.Sprintf("%s\x00%t", dir, asPlugins)
	if seen, ok := w.seen[key]; ok {
		return *seen, nil
	}
	w.seen[key] = &total{}
	sum := total{kustomizations: 1}
	if err := w.count(&sum, file, false); err != nil {
		return total{}, err
	}
	where := w.fs.Rel(file)
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s: %w", where, fmt.Sprintf(format, args...), ErrUnsafe)
	}
	if len(k.HelmCharts) > 0 || k.HelmGlobals != nil {
		return total{}, refuse("helmCharts would run helm; render the chart into the repository instead")
	}
	check := func(field, value string) error {
		entry := fmt.Sprintf("%s entry %q", field, value)
		if source, ok := w.added[value]; ok && file == w.rootFile && field == "components" {
			entry += " from " + source
		}
		if hasControl(value) {
			return refuse("%s holds a control character; a path never does", entry)
		}
		if isRemote(value) {
			return refuse("%s is remote; digestpin renders only what is in the repository, so vendor it into the repository", entry)
		}
		return nil
	}
	// Entries that kustomize takes for inline content rather than paths
	// are checked as content.
	inline := map[string][]string{}
	fields := map[string][]string{
		"resources":      k.Resources,
		"components":     k.Components,
		"crds":           k.Crds,
		"configurations": k.Configurations,
	}
	for field, entries := range map[string][]string{"generators": k.Generators, "transformers": k.Transformers, "validators": k.Validators} {
		for _, e := range entries {
			if isInlinePlugin(e) {
				inline[field] = append(inline[field], e)
			} else {
				fields[field] = append(fields[field], e)
			}
		}
	}
	//lint:ignore SA1019 repositories still use the deprecated field and kustomize still reads it, so it is vetted too.
	for _, p := range k.PatchesStrategicMerge {
		if !isInlinePatch(string(p)) {
			fields["patchesStrategicMerge"] = append(fields["patchesStrategicMerge"], string(p))
		}
	}
	for _, p := range k.Patches {
		fields["patches"] = append(fields["patches"], p.Path)
	}
	//lint:ignore SA1019 repositories still use the deprecated field and kustomize still reads it, so it is vetted too.
	for _, p := range k.PatchesJson6902 {
		fields["patchesJson6902"] = append(fields["patchesJson6902"], p.Path)
	}
	for _, r := range k.Replacements {
		fields["replacements"] = append(fields["replacements"], r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		fields["configMapGenerator"] = append(fields["configMapGenerator"], generatorFiles(g.GeneratorArgs)...)
	}
	for _, g := range k.SecretGenerator {
		fields["secretGenerator"] = append(fields["secretGenerator"], generatorFiles(g.GeneratorArgs)...)
	}
	if p := k.OpenAPI["path"]; p != "" {
		fields["openapi"] = []string{p}
	}
	for _, field := range slices.Sorted(maps.Keys(fields)) {
		for _, value := range fields[field] {
			if err := check(field, value); err != nil {
				return total{}, err
			}
			if (field != "resources" || asPlugins) && field != "components" && !strings.Contains(value, "\n") {
				if real, err := w.fs.Resolve(filepath.Join(dir, value)); err == nil {
					w.tree.otherFiles[real] = true
				}
			}
		}
	}
	//lint:ignore SA1019 vars are deprecated but kustomize still applies them; the fast path must know.
	w.tree.hasVars = w.tree.hasVars || len(k.Vars) > 0
	w.tree.hasCRDs = w.tree.hasCRDs || len(k.Crds) > 0
	for _, c := range k.Configurations {
		if err := w.readConfiguration(dir, c, asPlugins); err != nil {
			return total{}, err
		}
	}
	// Files kustomize reads, besides resources: their documents and bytes
	// count, not as objects.
	for _, field := range []string{"crds", "configurations", "patchesStrategicMerge", "patches", "patchesJson6902", "replacements", "configMapGenerator", "secretGenerator", "openapi"} {
		for _, entry := range fields[field] {
			if entry == "" {
				continue
			}
			if err := w.count(&sum, filepath.Join(dir, entry), false); err != nil {
				return total{}, err
			}
		}
	}
	sum.objects = saturatingAdd(sum.objects, len(k.ConfigMapGenerator)+len(k.SecretGenerator))
	for _, field := range []string{"resources", "components"} {
		for _, entry := range fields[field] {
			sub, err := w.include(where, dir, field, entry, asPlugins)
			if err != nil {
				return total{}, err
			}
			sum.add(sub, true)
		}
	}
	for _, field := range []string{"generators", "transformers", "validators"} {
		for _, entry := range inline[field] {
			sub, err := w.checkPluginConfigs(field, "inline "+field+" entry", []byte(entry))
			if err != nil {
				return total{}, err
			}
			sum.add(sub, field == "generators")
		}
		for _, entry := range fields[field] {
			sub, err := w.include(where, dir, field, entry, true)
			if err != nil {
				return total{}, err
			}
			sum.add(sub, field == "generators")
		}
	}
	*w.seen[key] = sum
	return sum, nil
}

// include follows one entry: a directory is walked as a kustomization; a
// file is counted, and under a plugin entry must configure built-ins only.
func (w *walker) include(where, dir, field, entry string, plugin bool) (total, error) {
	path := filepath.Join(dir, entry)
	real, err := w.fs.Resolve(path)
	var outside *repofs.OutsideError
	if errors.As(err, &outside) && outside.Path == entry {
		return total{}, fmt.Errorf("%s: %s entry %w", where, field, err)
	}
	if err != nil {
		return total{}, fmt.Errorf("%s: %s entry %q: %w", where, field, entry, err)
	}
	if !plugin && field == "resources" && !w.fs.IsDir(real) {
		w.tree.resourceFiles[real] = true
	}
	if w.fs.IsDir(real) {
		file, k, err := w.load(real)
		if err != nil || file == "" {
			return total{}, err // kustomize reports a directory without a kustomization
		}
		return w.visit(real, file, k, plugin)
	}
	if !w.fs.Present(real) {
		return total{}, nil // kustomize reports a missing file
	}
	var sum total
	if err := w.count(&sum, real, true); err != nil {
		return total{}, err
	}
	if !plugin {
		return sum, nil
	}
	data, err := w.fs.ReadFile(real)
	if err != nil {
		return total{}, err
	}
	if _, err := w.checkPluginConfigs(field, w.fs.Rel(real), data); err != nil {
		return total{}, err
	}
	return sum, nil
}

// builtinPaths names the fields of built-in plugins that load files.
var builtinPaths = map[string][]string{
	"PatchTransformer":               {"path"},
	"PatchJson6902Transformer":       {"path"},
	"PatchStrategicMergeTransformer": {"paths"},
	"ReplacementTransformer":         {"replacements[].path"},
	"ConfigMapGenerator":             {"files", "envs", "env"},
	"SecretGenerator":                {"files", "envs", "env"},
}

var builtins = func() map[string]bool {
	m := map[string]bool{}
	for _, name := range krusty.GetBuiltinPluginNames() {
		m[name] = true
	}
	return m
}()

// checkPluginConfigs checks the plugin configurations in data, and returns
// what they count as when they are inline.
func (w *walker) checkPluginConfigs(field, where string, data []byte) (total, error) {
	nodes, err := kio.FromBytes(data)
	if err != nil {
		return total{}, nil // kustomize reports the syntax error
	}
	sum := total{documents: max(len(nodes), 1), objects: len(nodes), bytes: int64(len(data))}
	for _, n := range nodes {
		kind := n.GetKind()
		annotations := n.GetAnnotations()
		_, fn := annotations["config.kubernetes.io/function"]
		_, legacyFn := annotations["config.k8s.io/function"]
		switch {
		case fn || legacyFn:
			return total{}, fmt.Errorf("%s: %s %q is a KRM function (exec or container), which would run a program: %w", where, field, kind, ErrUnsafe)
		case kind == "HelmChartInflationGenerator":
			return total{}, fmt.Errorf("%s: %s HelmChartInflationGenerator would run helm; render the chart into the repository instead: %w", where, field, ErrUnsafe)
		}
		if !builtins[kind] {
			return total{}, fmt.Errorf("%s: %s %q is not a kustomize built-in; plugins would run programs: %w", where, field, kind, ErrUnsafe)
		}
		for _, p := range builtinPaths[kind] {
			for _, value := range stringsAt(n, p) {
				if kind == "PatchStrategicMergeTransformer" && isInlinePatch(value) {
					continue
				}
				if hasControl(value) {
					return total{}, fmt.Errorf("%s: %s %s %q holds a control character; a path never does: %w", where, kind, p, value, ErrUnsafe)
				}
				if isRemote(value) {
					return total{}, fmt.Errorf("%s: %s %s %q is remote; digestpin renders only what is in the repository: %w", where, kind, p, value, ErrUnsafe)
				}
			}
		}
	}
	return sum, nil
}

// stringsAt returns the strings at a simple path like "replacements[].path"
// or "files" (a string or a list of strings).
func stringsAt(n *yaml.RNode, path string) []string {
	list, field, isList := strings.Cut(path, "[].")
	if !isList {
		field = path
	}
	var values []string
	collect := func(node *yaml.RNode) {
		v := node.Field(field)
		if v == nil {
			return
		}
		switch v.Value.YNode().Kind {
		case yaml.ScalarNode:
			values = append(values, v.Value.YNode().Value)
		case yaml.SequenceNode:
			for _, item := range v.Value.YNode().Content {
				values = append(values, item.Value)
			}
		}
	}
	if !isList {
		collect(n)
		return values
	}
	items := n.Field(list)
	if items == nil {
		return nil
	}
	for _, item := range items.Value.YNode().Content {
		collect(yaml.NewRNode(item))
	}
	return values
}

func (w *walker) readConfiguration(dir, entry string, asPlugin bool) error {
	data, err := w.fs.ReadFile(filepath.Join(dir, entry))
	if err != nil {
		if refused(err) {
			return err
		}
		return nil // kustomize reports a missing configuration file
	}
	w.tree.configurations = append(w.tree.configurations, configFile{data: data, asPlugin: asPlugin})
	var config struct {
		Images []struct {
			Group string `json:"group"`
			Kind  string `json:"kind"`
			Path  string `json:"path"`
		} `json:"images"`
	}
	if err := yaml.Unmarshal(data, &config); err != nil {
		return nil
	}
	for _, spec := range config.Images {
		w.tree.imageFields = append(w.tree.imageFields, imageref.FieldSpec{Group: spec.Group, Kind: spec.Kind, Path: spec.Path})
	}
	return nil
}

func generatorFiles(g types.GeneratorArgs) []string {
	var files []string
	for _, f := range g.FileSources {
		_, path, found := strings.Cut(f, "=")
		if !found {
			path = f
		}
		files = append(files, path)
	}
	return append(files, g.EnvSources...)
}

var scpUser = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote mirrors what kustomize's loader would fetch: an http(s) URL for
// a file, or anything its git repo spec parser accepts (a scheme, an
// scp-style user@host, or a github.com shorthand), with or without the
// go-getter "git::" prefix.
func isRemote(s string) bool {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	lower = strings.TrimPrefix(lower, "git::")
	return strings.Contains(lower, "://") ||
		scpUser.MatchString(lower) ||
		strings.HasPrefix(lower, "github.com/") ||
		strings.HasPrefix(lower, "github.com:")
}
