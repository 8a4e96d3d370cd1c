package plugin

import (
	"os"
	"reflect"
	"testing"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestRoot(t *testing.T) {
	const floor = "/tmp/_cmp_server/7f3a"
	tests := []struct{ workDir, sourcePath, floor, want string }{
		// The whole repository was sent.
		{"/tmp/_cmp_server/7f3a/apps/shop/prod", "apps/shop/prod", floor, floor},
		{"/tmp/_cmp_server/7f3a/apps/shop/prod", "./apps/shop/prod/", floor, floor},
		// manifest-generate-paths sent only the common root "apps/shop".
		{"/tmp/_cmp_server/7f3a/prod", "apps/shop/prod", floor, floor},
		// ... or only the app directory itself.
		{"/tmp/_cmp_server/7f3a", "apps/shop/prod", floor, floor},
		// The app is the repository root.
		{"/tmp/_cmp_server/7f3a", ".", floor, floor},
		// A source path longer than the tail sent, whose first elements
		// name the directories above the tree, stops at the tree.
		{"/tmp/_cmp_server/7f3a/prod", "tmp/_cmp_server/7f3a/prod", floor, floor},
		{"/tmp/_cmp_server/7f3a/apps/web", "_cmp_server/7f3a/apps/web", floor, floor},
		{"/tmp/_cmp_server/7f3a/x/_cmp_server/y/app", "_cmp_server/7f3a/x/_cmp_server/y/app", floor, floor},
		// Without a known floor, the tail is all that bounds it.
		{"/srv/trees/7f3a/prod", "trees/7f3a/prod", "", "/srv"},
		// Nothing else known.
		{"/home/me/config/apps/shop", "", "", "/home/me/config/apps/shop"},
	}
	for _, tt := range tests {
		if got := Root(tt.workDir, tt.sourcePath, tt.floor); got != tt.want {
			t.Errorf("Root(%q, %q, %q) = %q, want %q", tt.workDir, tt.sourcePath, tt.floor, got, tt.want)
		}
	}
}

func TestCheckout(t *testing.T) {
	tmp := t.TempDir()
	tests := []struct {
		workDir string
		env     map[string]string
		want    string
	}{
		{"/tmp/_cmp_server/7f3a/apps/web", nil, "/tmp/_cmp_server/7f3a"},
		{"/tmp/_cmp_server/7f3a", nil, "/tmp/_cmp_server/7f3a"},
		{"/var/tmp/_cmp_server/7f3a/apps", map[string]string{"TMPDIR": "/var/tmp"}, "/var/tmp/_cmp_server/7f3a"},
		{"/cmp/_cmp_server/7f3a/apps", map[string]string{EnvCMPWorkDir: "/cmp", "TMPDIR": "/var/tmp"}, "/cmp/_cmp_server/7f3a"},
		// Not in the CMP server's work directory: nothing known.
		{"/tmp/_cmp_server", nil, ""},
		{"/tmp/elsewhere/app", nil, ""},
		{"/tmp/_cmp_server/7f3a/app", map[string]string{EnvCMPWorkDir: "/cmp"}, ""},
		// The temporary directory named through a symlink.
		{tmp + "/_cmp_server/u/app", map[string]string{"TMPDIR": tmp + "/link"}, tmp + "/_cmp_server/u"},
	}
	if err := os.MkdirAll(tmp+"/_cmp_server/u/app", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(tmp, tmp+"/link"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if got := Checkout(tt.workDir, env(tt.env)); got != tt.want {
			t.Errorf("Checkout(%q, %v) = %q, want %q", tt.workDir, tt.env, got, tt.want)
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
		ComponentsSource:  "the Application's components parameter",
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
		ComponentsSource:  "the Application's plugin env COMPONENTS",
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
