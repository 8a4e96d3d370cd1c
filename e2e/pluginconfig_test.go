package e2e

import (
	"path/filepath"
	"slices"
	"testing"

	cmpplugin "github.com/argoproj/argo-cd/v2/cmpserver/plugin"

	"github.com/digestpin/digestpin/plugin"
)

// TestPluginYAMLLoadsWithArgoCDsReader reads the root plugin.yaml with the
// reader argocd-cmp-server uses at start-up and checks what it announces.
func TestPluginYAMLLoadsWithArgoCDsReader(t *testing.T) {
	config, err := cmpplugin.ReadPluginConfig(filepath.Join(".."))
	if err != nil {
		t.Fatalf("argo-cd rejected plugin.yaml: %v", err)
	}
	if config.Metadata.Name != "digestpin" || config.Spec.Version != "v1" {
		t.Errorf("plugin %q version %q, want digestpin v1", config.Metadata.Name, config.Spec.Version)
	}
	if got := config.Spec.Generate.Command; !slices.Equal(got, []string{"digestpin", "generate"}) {
		t.Errorf("generate command %q", got)
	}
	if got := config.Spec.Discover.Find.Glob; got != "{kustomization.yaml,kustomization.yml,Kustomization}" {
		t.Errorf("discovery glob %q", got)
	}
	announced := map[string]string{}
	for _, p := range config.Spec.Parameters.Static {
		announced[p.Name] = p.CollectionType
		if p.Title == "" || p.Tooltip == "" {
			t.Errorf("parameter %q has no title or tooltip for the UI", p.Name)
		}
	}
	want := map[string]string{
		plugin.ParamImages:            "array",
		plugin.ParamNamePrefix:        "string",
		plugin.ParamNameSuffix:        "string",
		plugin.ParamNamespace:         "string",
		plugin.ParamCommonLabels:      "map",
		plugin.ParamCommonAnnotations: "map",
		plugin.ParamComponents:        "array",
	}
	if len(announced) != len(want) {
		t.Errorf("plugin.yaml announces %v, want %v", announced, want)
	}
	for name, kind := range want {
		if announced[name] != kind {
			t.Errorf("parameter %q announced as %q, want %q", name, announced[name], kind)
		}
	}
}
