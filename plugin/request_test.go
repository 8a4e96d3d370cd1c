package plugin

import (
	"reflect"
	"testing"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestRoot(t *testing.T) {
	tests := []struct{ workDir, sourcePath, want string }{
		// The whole repository was sent.
		{"/tmp/_cmp_server/7f3a/apps/shop/prod", "apps/shop/prod", "/tmp/_cmp_server/7f3a"},
		{"/tmp/_cmp_server/7f3a/apps/shop/prod", "./apps/shop/prod/", "/tmp/_cmp_server/7f3a"},
		// manifest-generate-paths sent only the common root "apps/shop".
		{"/tmp/_cmp_server/7f3a/prod", "apps/shop/prod", "/tmp/_cmp_server/7f3a"},
		// ... or only the app directory itself.
		{"/tmp/_cmp_server/7f3a", "apps/shop/prod", "/tmp/_cmp_server/7f3a"},
		// The app is the repository root.
		{"/tmp/_cmp_server/7f3a", ".", "/tmp/_cmp_server/7f3a"},
		// Nothing else known.
		{"/home/me/config/apps/shop", "", "/home/me/config/apps/shop"},
	}
	for _, tt := range tests {
		if got := Root(tt.workDir, tt.sourcePath); got != tt.want {
			t.Errorf("Root(%q, %q) = %q, want %q", tt.workDir, tt.sourcePath, got, tt.want)
		}
	}
}

func TestNewRequestReadsArgoCDParameters(t *testing.T) {
	// Exactly what argo-cd's ApplicationSourcePluginParameters.Environ
	// marshals for spec.source.plugin.parameters.
	params := `[{"array":["ghcr.io/acme/web=ghcr.io/acme/web:v2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],"name":"images"},` +
		`{"name":"namePrefix","string":"prod-"},{"name":"namespace","string":"shop"},` +
		`{"map":{"env":"prod","team":"checkout"},"name":"commonLabels"},{"map":{},"name":"commonAnnotations"},` +
		`{"array":["components/debug"],"name":"components"},{"name":"nameSuffix","string":"-v2"}]`
	req, err := NewRequest("/w/apps/shop", env(map[string]string{
		EnvSourcePath:              "apps/shop",
		EnvParameters:              params,
		"ARGOCD_ENV_NAME_PREFIX":   "from-env-",
		"ARGOCD_ENV_COMMON_LABELS": "owner=platform",
		"PARAM_NAMEPREFIX":         "lossy-copy-ignored",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Request{Root: "/w", AppPath: "apps/shop", SourcePath: "apps/shop", Overrides: Overrides{
		Images:            []string{"ghcr.io/acme/web=ghcr.io/acme/web:v2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		NamePrefix:        "prod-",
		NameSuffix:        "-v2",
		Namespace:         "shop",
		CommonLabels:      map[string]string{"env": "prod", "team": "checkout"},
		CommonAnnotations: map[string]string{},
		Components:        []string{"components/debug"},
	}}
	if !reflect.DeepEqual(req, want) {
		t.Errorf("NewRequest =\n%+v\nwant\n%+v", req, want)
	}
}

func TestNewRequestReadsPluginEnv(t *testing.T) {
	req, err := NewRequest("/w/app", env(map[string]string{
		EnvSourcePath:                   "app",
		"ARGOCD_ENV_NAME_PREFIX":        "shop-",
		"ARGOCD_ENV_NAME_SUFFIX":        "-blue",
		"ARGOCD_ENV_NAMESPACE":          "shop",
		"ARGOCD_ENV_IMAGES":             "nginx=ghcr.io/acme/nginx, busybox:1.36",
		"ARGOCD_ENV_COMPONENTS":         "c1,c2",
		"ARGOCD_ENV_COMMON_LABELS":      "env=prod, team = shop",
		"ARGOCD_ENV_COMMON_ANNOTATIONS": "owner=platform",
		"ARGOCD_ENV_SOMETHING_ELSE":     "ignored",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Overrides{
		NamePrefix: "shop-", NameSuffix: "-blue", Namespace: "shop",
		Images:            []string{"nginx=ghcr.io/acme/nginx", "busybox:1.36"},
		Components:        []string{"c1", "c2"},
		CommonLabels:      map[string]string{"env": "prod", "team": "shop"},
		CommonAnnotations: map[string]string{"owner": "platform"},
	}
	if !reflect.DeepEqual(req.Overrides, want) {
		t.Errorf("Overrides =\n%+v\nwant\n%+v", req.Overrides, want)
	}
}

func TestNewRequestErrors(t *testing.T) {
	tests := []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{EnvParameters: `{"name":"images"}`}, "ARGOCD_APP_PARAMETERS is not the JSON Argo CD sends: json: cannot unmarshal object into Go value of type []plugin.parameter"},
		{map[string]string{EnvParameters: `[{"name":"namePrefx","string":"x"}]`}, `unknown parameter "namePrefx"; digestpin accepts commonAnnotations, commonLabels, components, images, namePrefix, nameSuffix, namespace`},
		{map[string]string{EnvParameters: `[{"name":"images","string":"nginx:1"}]`}, `parameter "images" must be an array`},
		{map[string]string{EnvParameters: `[{"name":"commonLabels","array":["a=b"]}]`}, `parameter "commonLabels" must be a map`},
		{map[string]string{EnvParameters: `[{"name":"images","array":["nginx"]}]`}, `parameter "images": image override "nginx" sets nothing; write name=newName, name:tag or name@sha256:digest`},
		{map[string]string{"ARGOCD_ENV_COMMON_LABELS": "env"}, `ARGOCD_ENV_COMMON_LABELS: "env" is not key=value`},
		{map[string]string{"ARGOCD_ENV_IMAGES": "nginx"}, `ARGOCD_ENV_IMAGES: image override "nginx" sets nothing; write name=newName, name:tag or name@sha256:digest`},
	}
	for _, tt := range tests {
		_, err := NewRequest("/w", env(tt.vars))
		if err == nil || err.Error() != tt.want {
			t.Errorf("NewRequest(%v) error =\n%v\nwant\n%s", tt.vars, err, tt.want)
		}
	}
}
