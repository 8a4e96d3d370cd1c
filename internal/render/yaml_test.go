package render

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"unicode"

	yamlv2 "go.yaml.in/yaml/v2"

	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// checkPrinting fails unless objectYAML prints every object of docs as
// kustomize's AsYAML does (or both fail). It reports how many objects took
// the direct path.
func checkPrinting(t *testing.T, docs string) (direct int) {
	t.Helper()
	nodes, err := kio.FromBytes([]byte(docs))
	if err != nil {
		return 0
	}
	for _, n := range nodes {
		res := &resource.Resource{RNode: *n}
		want, wantErr := res.AsYAML()
		got, err := objectYAML(res)
		if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) && !(unstableKeyOrder(n.YNode()) && sameValue(got, want)) {
			t.Fatalf("objectYAML printed\n%s(%v)\nAsYAML printed\n%s(%v)\nfor\n%s", got, err, want, wantErr, docs)
		}
		if n.YNode().Kind == yaml.MappingNode && plainNode(n.YNode()) {
			direct++
		}
	}
	return direct
}

func TestObjectYAML(t *testing.T) {
	docs := []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {b: c, a: \"1\"}\ndata:\n  k: v\n  n: 12\n  t: true\n  z: null\n  e: ''\n",
		"kind: K\nlist: [1, 2, three, 'four', \"5\", -0, 0x1F, 0o17, +3, 1_000]\nempty: []\nmap: {}\n",
		"kind: K\nfloats: [1.0, 1.5, 1e3, .inf, -.Inf, .nan, 3.]\n",
		"kind: K\nbig: 123456789012345678901234567890\nneg: -9223372036854775808\nmax: 9223372036854775807\nover: 9223372036854775808\n",
		"kind: K\nwhen: 2001-12-14\nts: 2001-12-14t21:59:43.10-05:00\n",
		"kind: K\nbin: !!binary aGVsbG8=\nbad: !!binary /w==\n",
		"kind: K\ns: |\n  line one\n  line two\nf: >\n  folded\n  text\nk: |+\n  keep\n\n",
		"kind: K\ncr: \"a\\r\\nb\"\ntab: \"a\\tb\"\nnel: \"a\\u0085b\"\nls: \"a\\u2028b\"\nbom: \"a\\ufeffb\"\ndel: \"a\\x7fb\"\nc1: \"a\\x80b\"\nzero: \"\\0\"\n",
		"kind: K\nhtml: \"<a href='x'>&amp;</a>\"\nemoji: \"😀 ok\"\nuni: éàü\nquote: \"it's \\\"q\\\"\"\nback: 'a\\b'\n",
		"kind: K\nbase: &b {x: 1}\nuse: *b\n",
		"kind: K\nbase: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\n",
		"kind: K\n? [a, b]\n: complex key\n",
		"kind: K\n1: int key\ntrue: bool key\nnull: null key\n",
		"kind: K\ntagged: !custom value\nstr: !!str 123\nint: !!int \"42\"\nlong: !<tag:yaml.org,2002:str> x\n",
		"kind: K\nyes: yes\nno: no\non: on\noff: off\ny: y\nn: n\n~: tilde\n",
		"kind: K\nlongline: " + strings.Repeat("word ", 50) + "\nspaces: \"  leading and trailing  \"\ncolon: \"a: b\"\nhash: \"a #b\"\ndash: \"- x\"\n",
		"kind: K\nreplacement: \"\\uFFFD\"\n",
		"- a\n- b\n",
	}
	direct := 0
	for _, d := range docs {
		direct += checkPrinting(t, d)
	}
	if direct < 6 {
		t.Errorf("only %d objects took the direct path", direct)
	}
}

// FuzzObjectYAML compares objectYAML with AsYAML on arbitrary YAML.
func FuzzObjectYAML(f *testing.F) {
	f.Add("kind: K\na: 1\nb: [x, 'y', \"z\"]\nc: {d: true, e: null}\n")
	f.Add("kind: K\ns: \"\\u0085\"\nt: 1.5\n")
	f.Add("kind: K\nm: &a {x: 1}\nn: *a\n")
	f.Fuzz(func(t *testing.T, docs string) {
		checkPrinting(t, docs)
	})
}

// unstableKeyOrder reports whether a mapping under n has two keys with a
// digit. yaml.v2 sorts keys with a "natural" order that is not transitive
// on some of those (1210 < 1A < 7 < 1210), so that kustomize itself prints
// them in an order that changes from run to run; the tests then compare
// what is printed, not the order.
func unstableKeyOrder(n *yaml.Node) bool {
	if n.Kind == yaml.MappingNode {
		digits := 0
		for i := 0; i < len(n.Content); i += 2 {
			if strings.IndexFunc(n.Content[i].Value, unicode.IsDigit) >= 0 {
				digits++
			}
		}
		if digits >= 2 {
			return true
		}
	}
	for _, c := range n.Content {
		if unstableKeyOrder(c) {
			return true
		}
	}
	return false
}

func sameValue(a, b []byte) bool {
	var x, y any
	if yamlv2.Unmarshal(a, &x) != nil || yamlv2.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
