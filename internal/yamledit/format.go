package yamledit

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// quoteStyle keeps only the quoting bits of a node's style.
func quoteStyle(n *yaml.Node) yaml.Style {
	if n == nil || n.Kind != yaml.ScalarNode {
		return 0
	}
	return n.Style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle)
}

// render writes v as a scalar in the given quoting style. Plain style falls
// back to double quotes when the text would not read back as the string v
// in every YAML reader a kustomization or manifest may meet.
func render(v string, style yaml.Style) string {
	switch {
	case style&yaml.SingleQuotedStyle != 0:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case style&yaml.DoubleQuotedStyle != 0 || needsQuotes(v):
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	}
	return v
}

// yaml11Words are read as booleans or null by YAML 1.1 parsers (yaml.v2,
// and through it many Kubernetes tools) though YAML 1.2 reads them as text.
var yaml11Words = map[string]bool{
	"y": true, "yes": true, "n": true, "no": true, "on": true, "off": true,
	"true": true, "false": true, "null": true, "~": true,
}

// yaml11Float is the float syntax yaml.v2 resolves, looser than YAML 1.2's.
var yaml11Float = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// needsQuotes reports whether v written plain would be read as something
// other than the string v: a number such as the tag 1.0 or 010, a boolean,
// null, or text the parser splits or rejects.
func needsQuotes(v string) bool {
	if v == "" || yaml11Words[strings.ToLower(v)] {
		return true
	}
	digits := strings.ReplaceAll(v, "_", "")
	if _, err := strconv.ParseInt(digits, 0, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseUint(digits, 0, 64); err == nil {
		return true
	}
	if yaml11Float.MatchString(digits) {
		return true
	}
	for _, r := range v {
		if unicode.IsControl(r) || unicode.IsSpace(r) && r != ' ' {
			return true
		}
	}
	// Both contexts matter: a value may land in a block or a flow collection.
	var m map[string]any
	if err := yaml.Unmarshal([]byte("k: "+v), &m); err != nil || m["k"] != v {
		return true
	}
	var l []any
	if err := yaml.Unmarshal([]byte("["+v+"]"), &l); err != nil || len(l) != 1 || l[0] != v {
		return true
	}
	return false
}

// checkText refuses values that cannot be written on one line.
func checkText(what, v string) error {
	if v == "" {
		return fmt.Errorf("%s is empty", what)
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("%s %q contains whitespace or control characters", what, v)
		}
	}
	return nil
}
