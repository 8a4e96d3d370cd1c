// Package imagetag is the one-pass images: applier: it applies the root
// kustomization's images: entries to the rendered objects itself, in one
// pass, instead of kustomize's one ImageTagTransformer per entry.
//
// Its guarantee: when it applies the entries, the objects are, to the byte,
// what kustomize v5.8.2 makes of them with one ImageTagTransformer per
// entry, and when it cannot guarantee that, it declines and says why
// (NewPlan's reason, Apply's *DeclinedError), and the caller lets
// kustomize apply the entries itself. The differential and fuzz tests of
// internal/render hold it equal to kustomize.
//
// The caller (internal/render) asks NewPlan for a plan, renders the root
// kustomization of Plan.ProbeRoot with kustomize, noting with Unusual the
// files it reads, and calls Plan.Apply on the objects; if any of it
// declines or fails, it renders again with the original root and
// kustomize alone, whose result, or error, it returns.
//
// kustomize v5.8.2 runs one ImageTagTransformer per entry of the root
// kustomization's images: list (api/internal/target/kusttarget_configplugin.go:412-430),
// and each walks every resource twice (api/internal/builtins/ImageTagTransformer.go:25-35:
// the legacy containers walk, then the image field specs) and compiles a
// regexp for every image it compares (api/internal/image/image.go:28). With
// one entry per image, a build is quadratic: 301 entries over 400 objects
// take kustomize 15 to 20 s on two CPUs.
//
// When nothing kustomize does after the root's images: entries can read or
// write what they change, the render keeps a single entry in the root
// kustomization (Plan.ProbeRoot), a probe that matches nothing (its name is not a valid
// regexp), and applies the real entries itself (Plan.Apply), in one pass
// over the rendered objects, with kustomize's exact semantics. The probe makes
// kustomize run one ImageTagTransformer at the right place, so that
// everything an ImageTagTransformer does besides rewriting matched values
// still happens exactly as in kustomize: the errors it raises on malformed
// objects (also on objects later dropped as local config), the null
// `containers:` it turns into `[]`, the empty objects dropped after it, the
// origin it records.
//
// What the pass replicates:
//
//   - the entries, in order, as configured: the root's images: followed by
//     its deprecated imageTags: (api/types/kustomization.go:240-242), each
//     marshalled to YAML and back as configureBuiltinPlugin does
//     (api/internal/target/kusttarget.go:574-592);
//   - the fields each entry visits: the legacy walk over every
//     `containers` and `initContainers` list at any depth, element `image`
//     fields (api/filters/imagetag/legacy.go:30-104), then every field
//     spec of the merged images configuration, the default ones
//     (api/internal/konfig/builtinpluginconsts/images.go:7-23, `create:
//     true` having no effect as the image filter sets no CreateKind) and
//     those of the tree's configurations: files
//     (api/filters/imagetag/imagetag.go:43-67, api/filters/fsslice,
//     api/filters/fieldspec), skipping CustomResourceDefinitions in both.
//     The walks are kustomize's own code (fsslice.Filter) or a line-by-line
//     copy of it (the legacy walk), recording each field instead of
//     rewriting it; what they check (a non-scalar image is an error) is
//     checked the same way;
//   - matching and rewriting (api/internal/image/image.go:13-80,
//     api/filters/imagetag/updater.go:23-64, kyaml/yaml/fns.go:709-723):
//     the name is a regexp, unquoted, followed by an optional tag and
//     digest; a name that does not compile matches nothing; newName,
//     newTag, digest and tagSuffix as the updater combines them; a matched
//     field is rewritten through the same setter even when its value stays
//     the same (its tag is reset, its style kept, its comments dropped);
//   - chaining: entry i+1 sees what entry i wrote, and a field that k walks
//     reach (the legacy walk and a field spec both reach
//     spec/template/spec/containers[]/image) is rewritten up to k times per
//     entry, which matters for tagSuffix and for names that match their
//     own rewrite.
//
// The fast path is not taken, and kustomize applies the entries itself,
// when:
//
//   - the root has fewer than three entries (the fast path would save
//     nothing);
//   - the root has replacements, transformers or validators (they run
//     after images:), or asks for transformerAnnotations (kustomize records
//     every ImageTagTransformer);
//   - any kustomization in the tree has vars (resolved after every
//     transformer) or crds (their name references are not known here);
//   - a configurations: file is reached through generators, transformers
//     or validators (kustomize does not merge it into the root's);
//   - two image field specs share a path with different group, version or
//     kind (how kustomize's merge deduplicates them depends on merge
//     order), or a custom image field spec starts at metadata, kind,
//     apiVersion, data, binaryData, stringData or type (names, ids, sort
//     order and content hashes are computed after images:);
//   - an image field spec and a name reference field spec end in the same
//     field name (name references are fixed after images:);
//   - any file of the render contains needsHashSuffix or allowKindChange
//     (a resource other than a generated ConfigMap or Secret could be
//     hashed after images:) or a YAML or JSON escape that could spell them
//     (\x, \u, \U, an escaped line break): the caller checks every file
//     it reads with Unusual;
//   - an entry matches a field that is part of a ConfigMap or Secret
//     (hashed after images:), or of two objects (see below);
//   - the root kustomization cannot be rewritten with exactly the same
//     meaning but for its images;
//   - the render with the probe fails, or the pass meets anything
//     kustomize would reject: then the render is done again by kustomize
//     alone, whose result, or error, is returned.
//
// kustomize copies nodes wherever one object's content goes into another
// (patches, once per target; replacements; aliases), so no field is part
// of two objects, one of which local config removal could drop after
// images: (its visits would then be missing from the pass); the pass
// checks that of every field it rewrites all the same.
//
// What kustomize runs after the root's images: (the transformer order is
// api/internal/target/kusttarget_configplugin.go:72-84, then
// api/internal/target/kusttarget.go:144-165 and
// api/krusty/kustomizer.go:94-125): replacements and external
// transformers (ruled out above), name hashes (ConfigMaps and Secrets only,
// unless the annotation above), name reference fixing, vars (ruled out),
// local config removal, the legacy sort (by group, version, kind,
// namespace and name) and annotation cleanup. Under these conditions none
// of it reads or writes a field the entries change, so it can run before
// the pass; and the objects local config removal drops are walked by the
// probe, whose errors are kustomize's.
package imagetag

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/filters/filtersutil"
	"sigs.k8s.io/kustomize/api/filters/fsslice"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/utils"
	"sigs.k8s.io/kustomize/kyaml/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// DefaultMinImages is the fewest images: entries the fast path takes on.
// It costs about what two of kustomize's passes over the objects cost (the
// probe's, its own) and a little planning, so it pays from three entries
// on; below, kustomize applies them.
const DefaultMinImages = 3

// unusualMarkers in any file read make the fast path fall back: the
// annotation that hashes any resource, the patch option that changes a
// generated ConfigMap's kind, and escapes that could spell either.
var unusualMarkers = [][]byte{
	[]byte("needsHashSuffix"), []byte("allowKindChange"),
	[]byte(`\x`), []byte(`\u`), []byte(`\U`), []byte("\\\n"), []byte("\\\r"),
}

// Unusual reports whether data, a file the render with ProbeRoot read,
// rules the plan out: it holds needsHashSuffix or allowKindChange, or an
// escape that could spell them.
func Unusual(data []byte) bool {
	for _, m := range unusualMarkers {
		if bytes.Contains(data, m) {
			return true
		}
	}
	return false
}

// probeImage is the one entry the root keeps: the pattern kustomize
// builds from ")" fails to compile at its second character, so it matches
// nothing, at the least cost (kustomize compiles it for every image field).
var probeImage = types.Image{Name: ")"}

// defaultImageFieldSpecs are kustomize's
// (api/internal/konfig/builtinpluginconsts/images.go).
var defaultImageFieldSpecs = types.FsSlice{
	{Path: "spec/containers[]/image", CreateIfNotPresent: true},
	{Path: "spec/initContainers[]/image", CreateIfNotPresent: true},
	{Path: "spec/volumes[]/image/reference", CreateIfNotPresent: true},
	{Path: "spec/template/spec/containers[]/image", CreateIfNotPresent: true},
	{Path: "spec/template/spec/initContainers[]/image", CreateIfNotPresent: true},
	{Path: "spec/template/spec/volumes[]/image/reference", CreateIfNotPresent: true},
	{Path: "spec/jobTemplate/spec/template/spec/volumes[]/image/reference", CreateIfNotPresent: true},
}

// defaultNameReferenceLeaves are the last fields of kustomize's default
// name reference field specs
// (api/internal/konfig/builtinpluginconsts/namereference.go).
var defaultNameReferenceLeaves = []string{
	"adminSecretName", "auth-secret", "auth-tls-secret", "claimName", "configMap",
	"fastcgi-params-configmap", "ingressClassName", "name", "policyName",
	"priorityClassName", "resourceNames", "secretName", "secretRef", "service",
	"serviceAccountName", "serviceName", "storageClassName", "subjects",
	"userSecretName", "volumeName",
}

// reservedImagePathStarts are the top-level fields a custom image field
// spec may not start at: what ids, the sort order and content hashes read.
var reservedImagePathStarts = []string{"metadata", "kind", "apiVersion", "data", "binaryData", "stringData", "type"}

// Input is what NewPlan needs to know of a render.
type Input struct {
	// Root is the root kustomization as kustomize will read it
	// (parameters applied).
	Root []byte
	// Parsed is what Root holds (FixKustomization applied), if known; when
	// nil, NewPlan parses Root.
	Parsed *types.Kustomization
	// Configurations are the configurations: files of every kustomization
	// in the tree.
	Configurations []ConfigFile
	// HasVars and HasCRDs say whether any kustomization in the tree
	// declares vars or crds.
	HasVars, HasCRDs bool
	// MinImages is the fewest images: entries to plan for; 0 means
	// DefaultMinImages.
	MinImages int
}

// ConfigFile is one configurations: file.
type ConfigFile struct {
	// Data is what the file holds.
	Data []byte
	// AsPlugin is true when its kustomization was reached through a
	// generators, transformers or validators entry, whose configuration
	// kustomize does not merge into the root's.
	AsPlugin bool
}

// Plan is the root's images: entries, ready to apply after kustomize has
// rendered ProbeRoot.
type Plan struct {
	images     []types.Image
	fieldSpecs types.FsSlice
	probeRoot  []byte
}

// ProbeRoot is the root kustomization to render instead of Input.Root:
// its images: and imageTags: replaced by the probe, the rest read by
// kustomize exactly as before.
func (p *Plan) ProbeRoot() []byte { return p.probeRoot }

// NewPlan decides whether the root's images: entries can be applied after
// kustomize. It returns the plan, or a nil plan and why not.
func NewPlan(in Input) (plan *Plan, reason string) {
	minImages := in.MinImages
	if minImages == 0 {
		minImages = DefaultMinImages
	}
	var k types.Kustomization
	if in.Parsed != nil {
		k = *in.Parsed
	} else {
		if err := k.Unmarshal(in.Root); err != nil {
			return nil, "the root kustomization does not parse"
		}
		k.FixKustomization()
	}
	switch {
	case len(k.Images) < minImages:
		return nil, "fewer than " + strconv.Itoa(minImages) + " images"
	case len(k.Replacements) > 0:
		return nil, "the root has replacements"
	case len(k.Transformers) > 0:
		return nil, "the root has transformers"
	case len(k.Validators) > 0:
		return nil, "the root has validators"
	case slices.Contains(k.BuildMetadata, types.TransformerAnnotations):
		return nil, "the root asks for transformerAnnotations"
	case in.HasVars:
		return nil, "the tree has vars"
	case in.HasCRDs:
		return nil, "the tree has crds"
	}
	fieldSpecs, reason := imageFieldSpecs(in.Configurations)
	if reason != "" {
		return nil, reason
	}
	images, err := configuredImages(k.Images)
	if err != nil {
		return nil, "an images entry does not marshal"
	}
	edited, err := withProbeImage(in.Root, k)
	if err != nil {
		return nil, errRootRewrite.Error()
	}
	return &Plan{images: images, fieldSpecs: fieldSpecs, probeRoot: edited}, ""
}

// transformerConfig is the part of a configurations: file the fast path
// reads (kustomize's builtinconfig.TransformerConfig).
type transformerConfig struct {
	Images        types.FsSlice `json:"images,omitempty"`
	NameReference []struct {
		FieldSpecs types.FsSlice `json:"fieldSpecs,omitempty"`
	} `json:"nameReference,omitempty"`
}

// imageFieldSpecs returns the image field specs kustomize merges for the
// root, when the fast path can know them and they cannot interfere with
// what kustomize does after images:, or why not.
func imageFieldSpecs(files []ConfigFile) (types.FsSlice, string) {
	specs := slices.Clone(defaultImageFieldSpecs)
	nameRefLeaves := slices.Clone(defaultNameReferenceLeaves)
	for _, f := range files {
		if f.AsPlugin {
			return nil, "a configurations file belongs to a plugin's kustomization"
		}
		var c transformerConfig
		if err := sigsyaml.Unmarshal(f.Data, &c); err != nil {
			return nil, "a configurations file does not parse"
		}
		for _, fs := range c.Images {
			parts := utils.PathSplitter(fs.Path, "/")
			if fs.Path == "" || slices.Contains(reservedImagePathStarts, strings.TrimSuffix(parts[0], "[]")) {
				return nil, "an image field spec starts at " + parts[0] // a reserved word, or ""
			}
			specs = append(specs, fs)
		}
		for _, ref := range c.NameReference {
			for _, fs := range ref.FieldSpecs {
				nameRefLeaves = append(nameRefLeaves, pathLeaf(fs.Path))
			}
		}
	}
	var merged types.FsSlice
	gvks := map[string]types.FieldSpec{}
	for _, fs := range specs {
		if first, ok := gvks[fs.Path]; ok {
			if first.Gvk != fs.Gvk {
				return nil, "two image field specs of path " + strconv.Quote(fs.Path) + " select different kinds"
			}
			continue
		}
		gvks[fs.Path] = fs
		merged = append(merged, fs)
	}
	imageLeaves := []string{"image"}
	for _, fs := range merged {
		imageLeaves = append(imageLeaves, pathLeaf(fs.Path))
	}
	for _, leaf := range imageLeaves {
		if slices.Contains(nameRefLeaves, leaf) {
			return nil, "an image field and a name reference both end in " + strconv.Quote(leaf)
		}
	}
	return merged, ""
}

func pathLeaf(path string) string {
	parts := utils.PathSplitter(path, "/")
	return strings.TrimSuffix(parts[len(parts)-1], "[]")
}

// configuredImages passes the entries through the YAML round trip
// configureBuiltinPlugin makes each take before ImageTagTransformerPlugin
// sees it: a JSON and YAML round trip of its strings, which leaves
// printable ASCII as it is (the YAML emitter quotes what would not read
// back as the same string) and may change anything else (invalid UTF-8
// becomes U+FFFD, for one). Entries of printable ASCII skip it.
func configuredImages(images []types.Image) ([]types.Image, error) {
	out := slices.Clone(images)
	var odd []int
	for i, img := range images {
		if !printableASCII(img.Name, img.NewName, img.NewTag, img.Digest, img.TagSuffix) {
			odd = append(odd, i)
		}
	}
	if len(odd) == 0 {
		return out, nil
	}
	in := make([]types.Image, len(odd))
	for j, i := range odd {
		in[j] = images[i]
	}
	y, err := sigsyaml.Marshal(struct {
		ImageTag []types.Image
	}{in})
	if err != nil {
		return nil, err
	}
	var p struct {
		ImageTag []types.Image `json:"imageTag,omitempty" yaml:"imageTag,omitempty"`
	}
	if err := sigsyaml.Unmarshal(y, &p); err != nil || len(p.ImageTag) != len(in) {
		return nil, errors.New("images do not survive configuration")
	}
	for j, i := range odd {
		out[i] = p.ImageTag[j]
	}
	return out, nil
}

func printableASCII(values ...string) bool {
	for _, v := range values {
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				return false
			}
		}
	}
	return true
}

var errRootRewrite = errors.New("the root kustomization cannot be rewritten without its images")

// withProbeImage returns the root kustomization with its images: and
// imageTags: replaced by the probe, and checks that kustomize reads
// exactly the same kustomization from it otherwise.
func withProbeImage(root []byte, k types.Kustomization) ([]byte, error) {
	doc, err := yaml.Parse(string(root))
	if err != nil || doc.YNode().Kind != yaml.MappingNode {
		return nil, errRootRewrite
	}
	content := doc.YNode().Content
	kept := content[:0:0]
	for i := 0; i+1 < len(content); i += 2 {
		key := content[i].Value
		if strings.EqualFold(key, "images") || strings.EqualFold(key, "imageTags") {
			continue
		}
		kept = append(kept, content[i], content[i+1])
	}
	doc.YNode().Content = kept
	probe, err := yaml.FromMap(map[string]any{"images": []any{map[string]any{"name": probeImage.Name}}})
	if err != nil {
		return nil, err
	}
	if err := doc.PipeE(yaml.SetField("images", probe.Field("images").Value)); err != nil {
		return nil, err
	}
	out, err := doc.String()
	if err != nil {
		return nil, err
	}
	var got types.Kustomization
	if err := got.Unmarshal([]byte(out)); err != nil {
		return nil, errRootRewrite
	}
	got.FixKustomization()
	if len(got.Images) != 1 || got.Images[0] != probeImage {
		return nil, errRootRewrite
	}
	got.Images, k.Images = nil, nil
	if !reflect.DeepEqual(got, k) {
		return nil, errRootRewrite
	}
	return []byte(out), nil
}

// imageField is a field the entries visit, and how many times.
type imageField struct {
	node   *yaml.Node
	visits int
}

type imagePass struct {
	plan   *Plan
	fields map[*yaml.Node]*imageField
	order  []*imageField
}

// DeclinedError says Apply cannot reproduce kustomize, and why; it left
// the objects untouched.
type DeclinedError struct {
	Reason string
}

func (e *DeclinedError) Error() string { return "images fast path declined: " + e.Reason }

// Apply applies the plan's entries to m, the objects kustomize rendered
// from ProbeRoot. It returns a *DeclinedError, leaving m untouched, when
// kustomize must apply them; any other error comes from rewriting a field,
// and m must then be rendered again.
func (p *Plan) Apply(m resmap.ResMap) error {
	pass := &imagePass{plan: p, fields: map[*yaml.Node]*imageField{}}
	resources := m.Resources()
	for _, res := range resources {
		if err := pass.legacy(&res.RNode); err != nil {
			return &DeclinedError{"an object has an image field that is not a string, or no kind"}
		}
		if err := pass.fieldSpecs(&res.RNode); err != nil {
			return &DeclinedError{"an object has an image field that is not a string"}
		}
	}
	matcher := newImageMatcher(p.images)
	updates := map[*yaml.Node]string{}
	var order []*yaml.Node
	for _, f := range pass.order {
		if value, matched := matcher.final(f.node.Value, f.visits); matched {
			updates[f.node] = value
			order = append(order, f.node)
		}
	}
	if len(updates) == 0 {
		return nil
	}
	// kustomize rewrites these fields before it hashes ConfigMaps and
	// Secrets and drops local config objects. A field that is also part of
	// a ConfigMap or Secret, or of two objects (a replacement can share a
	// node), could tell.
	owner := map[*yaml.Node]int{}
	for i, res := range resources {
		kind := res.GetKind()
		hashed := kind == "ConfigMap" || kind == "Secret"
		shared := false
		eachNode(res.YNode(), func(n *yaml.Node) {
			if _, ok := updates[n]; !ok {
				return
			}
			if o, seen := owner[n]; hashed || seen && o != i {
				shared = true
			}
			owner[n] = i
		})
		if shared {
			return &DeclinedError{"an image field the entries rewrite is part of a ConfigMap or Secret, or of two objects"}
		}
	}
	for _, n := range order {
		if err := filtersutil.SetScalar(updates[n])(yaml.NewRNode(n)); err != nil {
			return err
		}
	}
	return nil
}

// eachNode calls fn for n and every node under it.
func eachNode(n *yaml.Node, fn func(*yaml.Node)) {
	if n == nil {
		return
	}
	fn(n)
	for _, c := range n.Content {
		eachNode(c, fn)
	}
	eachNode(n.Alias, fn)
}

// visit records one visit of an image field, with the check
// imageTagUpdater.SetImageValue makes before anything else.
func (p *imagePass) visit(rn *yaml.RNode) error {
	if err := yaml.ErrorIfInvalid(rn, yaml.ScalarNode); err != nil {
		return err
	}
	n := rn.YNode()
	f := p.fields[n]
	if f == nil {
		f = &imageField{node: n}
		p.fields[n] = f
		p.order = append(p.order, f)
	}
	f.visits++
	return nil
}

// fieldSpecs is imagetag.Filter's walk (api/filters/imagetag/imagetag.go).
func (p *imagePass) fieldSpecs(node *yaml.RNode) error {
	if meta, err := node.GetMeta(); err == nil && meta.Kind == "CustomResourceDefinition" {
		return nil
	}
	return node.PipeE(fsslice.Filter{FsSlice: p.plan.fieldSpecs, SetValue: p.visit})
}

// legacy is imagetag.LegacyFilter's walk (api/filters/imagetag/legacy.go).
func (p *imagePass) legacy(node *yaml.RNode) error {
	meta, err := node.GetMeta()
	if err != nil {
		return err
	}
	if meta.Kind == "CustomResourceDefinition" {
		return nil
	}
	return node.PipeE(yaml.FilterFunc(func(obj *yaml.RNode) (*yaml.RNode, error) {
		return obj, p.walk(obj)
	}))
}

func (p *imagePass) walk(node *yaml.RNode) error {
	switch node.YNode().Kind {
	case yaml.MappingNode:
		return node.VisitFields(func(n *yaml.MapNode) error {
			if err := p.walk(n.Value); err != nil {
				return err
			}
			if key := n.Key.YNode().Value; key == "containers" || key == "initContainers" {
				return p.containers(n.Value)
			}
			return nil
		})
	case yaml.SequenceNode:
		return node.VisitElements(p.walk)
	}
	return nil
}

func (p *imagePass) containers(node *yaml.RNode) error {
	if node.YNode().Kind != yaml.SequenceNode {
		return nil
	}
	return node.VisitElements(func(n *yaml.RNode) error {
		return n.PipeE(yaml.Get("image"), yaml.FilterFunc(func(rn *yaml.RNode) (*yaml.RNode, error) {
			return rn, p.visit(rn)
		}))
	})
}
