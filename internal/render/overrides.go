package render

import (
	"fmt"
	"slices"
	"sort"

	"sigs.k8s.io/kustomize/api/pkg/util"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Overrides are the options of Argo CD's native kustomize source, so that
// the plugin is a drop-in replacement. They are applied to the root
// kustomization in memory, with the semantics of the `kustomize edit`
// commands Argo CD runs; the checkout is never edited.
type Overrides struct {
	// Images are `kustomize edit set image` arguments: "name=newName:tag",
	// "name:tag", "name@sha256:...", "name=*:tag" keeps newName. An entry
	// replaces the kustomization's entry of the same name.
	Images []string
	// NamePrefix and NameSuffix replace the kustomization's, when set.
	NamePrefix, NameSuffix string
	// Namespace replaces the kustomization's namespace, when set.
	Namespace string
	// CommonLabels and CommonAnnotations are merged over the
	// kustomization's, overriding keys it already has.
	CommonLabels, CommonAnnotations map[string]string
	// Components are appended to the kustomization's components unless
	// already listed. They are vetted like the kustomization's own.
	Components []string
	// ComponentsSource says where Components come from, for messages
	// ("the Application's components parameter"). Default: "the
	// overrides".
	ComponentsSource string
}

func (o Overrides) empty() bool {
	return len(o.Images) == 0 && o.NamePrefix == "" && o.NameSuffix == "" && o.Namespace == "" &&
		len(o.CommonLabels) == 0 && len(o.CommonAnnotations) == 0 && len(o.Components) == 0
}

// ParseImageOverride parses a `kustomize edit set image` argument.
func ParseImageOverride(arg string) (types.Image, error) {
	key, value, hasKey := cutEquals(arg)
	name, tag, digest := util.SplitImageName(value)
	if name == arg {
		return types.Image{}, fmt.Errorf("image override %q sets nothing; write name=newName, name:tag or name@sha256:digest", arg)
	}
	img := types.Image{NewTag: tag, Digest: digest}
	if hasKey {
		img.Name, img.NewName = key, name
	} else {
		img.Name = name
	}
	if img.Name == "" {
		return types.Image{}, fmt.Errorf("image override %q has no image name", arg)
	}
	return img, nil
}

func cutEquals(s string) (key, value string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}

const keep = "*"

// mergeImages applies overrides the way `kustomize edit set image` does:
// same-name entries are replaced ("*" keeps the old value of a part), new
// ones appended, and the list sorted by name.
func mergeImages(existing []types.Image, args []string) ([]types.Image, error) {
	byName := map[string]types.Image{}
	for _, arg := range args {
		img, err := ParseImageOverride(arg)
		if err != nil {
			return nil, err
		}
		byName[img.Name] = img
	}
	var out []types.Image
	for _, old := range existing {
		img, ok := byName[old.Name]
		if !ok {
			out = append(out, old)
			continue
		}
		delete(byName, old.Name)
		out = append(out, keepParts(img, old))
	}
	for _, img := range byName {
		out = append(out, keepParts(img, types.Image{}))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func keepParts(img, old types.Image) types.Image {
	if img.NewName == keep {
		img.NewName = old.NewName
	}
	if img.NewTag == keep {
		img.NewTag = old.NewTag
	}
	if img.Digest == keep {
		img.Digest = old.Digest
	}
	return img
}

// apply returns the kustomization src with the overrides applied and, when
// trackOrigins is set, origin annotations requested.
func (o Overrides) apply(src []byte, trackOrigins bool) ([]byte, error) {
	var k types.Kustomization
	if err := k.Unmarshal(src); err != nil {
		return nil, err
	}
	k.FixKustomization()
	doc, err := yaml.Parse(string(src))
	if err != nil {
		return nil, err
	}
	set := func(field string, value any) error {
		node, err := yaml.FromMap(map[string]any{field: value})
		if err != nil {
			return err
		}
		return doc.PipeE(yaml.SetField(field, node.Field(field).Value))
	}
	if len(o.Images) > 0 {
		images, err := mergeImages(k.Images, o.Images)
		if err != nil {
			return nil, err
		}
		// The merged list already holds the deprecated imageTags.
		if err := doc.PipeE(yaml.Clear("imageTags")); err != nil {
			return nil, err
		}
		list := make([]any, len(images))
		for i, img := range images {
			entry := map[string]any{"name": img.Name}
			for field, value := range map[string]string{"newName": img.NewName, "newTag": img.NewTag, "digest": img.Digest} {
				if value != "" {
					entry[field] = value
				}
			}
			list[i] = entry
		}
		if err := set("images", list); err != nil {
			return nil, err
		}
	}
	for field, value := range map[string]string{"namePrefix": o.NamePrefix, "nameSuffix": o.NameSuffix, "namespace": o.Namespace} {
		if value != "" {
			if err := set(field, value); err != nil {
				return nil, err
			}
		}
	}
	for field, values := range map[string]map[string]string{"commonLabels": o.CommonLabels, "commonAnnotations": o.CommonAnnotations} {
		if len(values) == 0 {
			continue
		}
		merged := map[string]any{}
		//lint:ignore SA1019 the commonLabels parameter mirrors Argo CD, which edits this deprecated field.
		existing := k.CommonLabels
		if field == "commonAnnotations" {
			existing = k.CommonAnnotations
		}
		for key, v := range existing {
			merged[key] = v
		}
		for key, v := range values {
			merged[key] = v
		}
		if err := set(field, merged); err != nil {
			return nil, err
		}
	}
	if len(o.Components) > 0 {
		components := slices.Clone(k.Components)
		for _, c := range o.Components {
			if !slices.Contains(components, c) {
				components = append(components, c)
			}
		}
		if err := set("components", toAny(components)); err != nil {
			return nil, err
		}
	}
	if trackOrigins && !slices.Contains(k.BuildMetadata, types.OriginAnnotations) {
		if err := set("buildMetadata", toAny(append(slices.Clone(k.BuildMetadata), types.OriginAnnotations))); err != nil {
			return nil, err
		}
	}
	out, err := doc.String()
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
