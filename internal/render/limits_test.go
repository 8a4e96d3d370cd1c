package render

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/digestpin/digestpin/internal/repofs"
	"github.com/digestpin/digestpin/internal/testutil"
)

// aliasBomb is the classic billion-laughs document, 9^9 strings once
// expanded, as a ConfigMap resource.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n")
	b.WriteString(`  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for c := 'b'; c <= 'i'; c++ {
		prev := string(c - 1)
		fmt.Fprintf(&b, "  %c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", c, c, prev, prev, prev, prev, prev, prev, prev, prev, prev)
	}
	return b.String()
}

func TestInputLimits(t *testing.T) {
	deep := func(n int) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n  x: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n"
	}
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"alias bomb in a resource",
			map[string]string{"kustomization.yaml": "resources: [bomb.yaml]\n", "bomb.yaml": aliasBomb()},
			`"bomb.yaml": YAML aliases expand to more than 100000 nodes: input exceeds the render limits`},
		{"alias bomb in the kustomization",
			map[string]string{"kustomization.yaml": "commonAnnotations:\n  a: &a [x,x,x,x,x,x,x,x,x]\n" + strings.Join(strings.Split(aliasBomb(), "\n")[5:], "\n")},
			`"kustomization.yaml": YAML aliases expand to more than 100000 nodes: input exceeds the render limits`},
		{"alias bomb in a patch",
			map[string]string{"kustomization.yaml": "resources: [d.yaml]\npatches:\n- path: bomb.yaml\n", "d.yaml": deployment, "bomb.yaml": aliasBomb()},
			`"bomb.yaml": YAML aliases expand to more than 100000 nodes: input exceeds the render limits`},
		{"deep nesting",
			map[string]string{"kustomization.yaml": "resources: [deep.yaml]\n", "deep.yaml": deep(1000)},
			`"deep.yaml": YAML nests deeper than 256 levels: input exceeds the render limits`},
		{"oversized file",
			map[string]string{"kustomization.yaml": "resources: [big.yaml]\n", "big.yaml": strings.Repeat("#", 9<<20)},
			`"big.yaml" is 9437184 bytes, more than the 8388608 allowed: input exceeds the render limits`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Render(Options{Root: testutil.WriteTree(t, tt.files)})
			if !errors.Is(err, repofs.ErrInputTooLarge) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render error =\n%v\nwant it to contain\n%s", err, tt.want)
			}
		})
	}
}

func TestNestingBeyondTheParserLimitFails(t *testing.T) {
	// yaml.v3 itself stops at depth 10000, before anything is expanded.
	doc := "x: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n"
	_, err := Render(Options{Root: testutil.WriteTree(t, map[string]string{"kustomization.yaml": "resources: [deep.yaml]\n", "deep.yaml": doc})})
	if err == nil || !strings.Contains(err.Error(), "exceeded max depth") {
		t.Errorf("Render error = %v, want the parser's depth error", err)
	}
}

func TestTotalInputIsBounded(t *testing.T) {
	files := map[string]string{"kustomization.yaml": "resources: [a.yaml, b.yaml, c.yaml]\n"}
	for _, name := range []string{"a", "b", "c"} {
		files[name+".yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata:\n  x: " + strings.Repeat("x", 400) + "\n"
	}
	limits := repofs.DefaultLimits()
	limits.MaxTotalBytes = 1000
	_, err := Render(Options{Root: testutil.WriteTree(t, files), Limits: limits})
	if !errors.Is(err, repofs.ErrInputTooLarge) || !strings.Contains(err.Error(), `the render would read more than 1000 bytes of input, counting what is included in several places once for each; split the app: input exceeds the render limits`) {
		t.Errorf("Render error = %v", err)
	}
}

func TestModestAnchorsPass(t *testing.T) {
	root := testutil.WriteTree(t, map[string]string{
		"kustomization.yaml": "resources: [cm.yaml]\n",
		"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels: &l {app: web, tier: front}\n  annotations: *l\ndata: {a: b}\n",
	})
	got := renderYAML(t, Options{Root: root})
	want := "apiVersion: v1\ndata:\n  a: b\nkind: ConfigMap\nmetadata:\n  annotations:\n    app: web\n    tier: front\n  labels:\n    app: web\n    tier: front\n  name: cm\n"
	if got != want {
		t.Errorf("render =\n%s\nwant\n%s", got, want)
	}
}
