package render

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/digestpin/digestpin/internal/testutil"
)

// The differential test renders many generated trees both ways, with the
// images fast path and with kustomize alone (the root's images: left in),
// and requires identical bytes, or the same error; a sample is also
// compared with the kustomize CLI. FuzzImages (fuzz_test.go) drives the
// same generator with the fuzzer's bytes.

// chooser makes the generator's decisions.
type chooser interface {
	// intn returns a number in [0, n).
	intn(n int) int
	// text returns a short arbitrary string, or "" when it has none.
	text() string
}

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int) int { return c.r.IntN(n) }
func (c randChooser) text() string   { return "" }

// byteChooser takes its decisions from fuzz input; once the input is
// used up, every decision is 0.
type byteChooser struct{ data []byte }

func (c *byteChooser) intn(n int) int {
	if len(c.data) == 0 || n <= 1 {
		return 0
	}
	v := int(c.data[0])
	c.data = c.data[1:]
	return v % n
}

func (c *byteChooser) text() string {
	n := c.intn(24)
	if n > len(c.data) {
		n = len(c.data)
	}
	s := strings.Map(printable, strings.ToValidUTF8(string(c.data[:n]), "?"))
	c.data = c.data[n:]
	return s
}

// printable keeps what YAML can hold in a string (the YAML 1.2 printable
// set), and drops the rest.
func printable(r rune) rune {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85,
		r >= 0x20 && r <= 0x7e,
		r >= 0xa0 && r <= 0xd7ff,
		r >= 0xe000 && r <= 0xfffd && r != 0xfeff,
		r >= 0x10000 && r <= 0x10ffff:
		return r
	}
	return -1
}

// gen generates one tree: files by path, the directory to render and the
// images parameters.
type gen struct {
	c      chooser
	files  map[string]string
	params []string
	dir    string
	// deployments are the Deployments generated so far, by directory.
	deployments map[string][]string
}

func (g *gen) pick(options ...string) string { return options[g.c.intn(len(options))] }
func (g *gen) chance(n int) bool             { return g.c.intn(n) == 0 }

var repoNames = []string{
	"nginx", "docker.io/library/nginx", "ghcr.io/acme/web", "ghcr.io/acme/api", "ghcr.io/acme/web-worker",
	"registry.k8s.io/pause", "localhost:5000/tools/debug", "busybox", "quay.io/x/y",
}

// imageValue is an image reference as objects write it.
func (g *gen) imageValue() string {
	name := g.pick(repoNames...)
	if t := g.c.text(); t != "" && g.chance(4) {
		name = t
	}
	switch g.c.intn(5) {
	case 0:
		return name
	case 1:
		return name + ":" + g.pick("v1", "1.25", "latest", "v1.2.3-rc.1", "{tag}")
	case 2:
		return name + "@" + digestA
	case 3:
		return name + ":v1@" + digestB
	default:
		return name + ":" + g.pick("v2", "2")
	}
}

// imageName is an images: entry name: usually a repository, sometimes a
// regexp in disguise.
func (g *gen) imageName() string {
	name := g.pick(repoNames...)
	switch g.c.intn(12) {
	case 0:
		return strings.ReplaceAll(name, ".", "X")
	case 1:
		return g.pick(".*", "[", "nginx|busybox", "ghcr.io/acme/.*", "(web)", "", "ghcr.io/acme/web$", `ghcr\.io/acme/api`)
	case 2:
		if t := g.c.text(); t != "" {
			return t
		}
	case 3:
		return name[:len(name)/2]
	}
	return name
}

func (g *gen) imageEntry() map[string]any {
	e := map[string]any{"name": g.imageName()}
	switch g.c.intn(8) {
	case 0:
		e["newName"] = g.pick(repoNames...)
	case 1:
		e["newTag"] = g.pick("v9", "1.27", "latest")
	case 2:
		e["digest"] = g.pick(digestA, digestB)
	case 3:
		e["newTag"], e["digest"] = "v9", digestA
	case 4:
		e["tagSuffix"] = g.pick("-alpine", "-debug")
	case 5:
		e["newName"], e["newTag"], e["digest"] = g.pick(repoNames...), "v8", digestB
	case 6:
		e["newName"], e["tagSuffix"] = g.pick(repoNames...), "-s"
	default:
		e["newName"], e["newTag"] = g.pick(repoNames...), "v7"
	}
	return e
}

func (g *gen) images(n int) []any {
	var out []any
	for range n {
		out = append(out, g.imageEntry())
	}
	return out
}

func (g *gen) containers(n int) string {
	var b strings.Builder
	for i := range n {
		switch g.c.intn(10) {
		case 0:
			fmt.Fprintf(&b, "  - name: c%d\n    image: %q # pinned?\n", i, g.imageValue())
		case 1:
			fmt.Fprintf(&b, "  - name: c%d\n", i) // no image
		default:
			fmt.Fprintf(&b, "  - name: c%d\n    image: %s\n", i, yamlString(g.imageValue()))
		}
	}
	return b.String()
}

func yamlString(s string) string {
	out, err := sigsyaml.Marshal(s)
	if err != nil {
		panic(err)
	}
	return strings.TrimSuffix(string(out), "\n")
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// object returns one object named name.
func (g *gen) object(name string) string {
	switch g.c.intn(9) {
	case 0, 1:
		g.deployments[g.dir] = append(g.deployments[g.dir], name)
		s := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name + "\nspec:\n  selector:\n    matchLabels: {app: " + name + "}\n  template:\n    metadata:\n      labels: {app: " + name + "}\n    spec:\n"
		if g.chance(2) {
			s += "      initContainers:\n" + indent(g.containers(1), "      ")
		}
		s += "      containers:\n" + indent(g.containers(1+g.c.intn(3)), "      ")
		if g.chance(3) {
			s += "      volumes:\n      - name: v\n        image:\n          reference: " + yamlString(g.imageValue()) + "\n"
		}
		return s
	case 2:
		return "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: " + name + "\nspec:\n  schedule: \"0 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n" + indent(g.containers(1+g.c.intn(2)), "          ")
	case 3:
		s := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\nspec:\n"
		if g.chance(4) {
			return s + "  containers:\n  initContainers: null\n"
		}
		return s + "  containers:\n" + indent(g.containers(1+g.c.intn(2)), "  ")
	case 4:
		return "apiVersion: acme.io/v1\nkind: Thing\nmetadata:\n  name: " + name + "\nspec:\n  image: " + yamlString(g.imageValue()) + "\n  template:\n    spec:\n      sidecars:\n      - image: " + yamlString(g.imageValue()) + "\n  deep:\n  - containers:\n" + indent(g.containers(1), "    ")
	case 5:
		if g.chance(3) {
			return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  a: b\nspec:\n  containers:\n" + indent(g.containers(1), "  ")
		}
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  image: " + yamlString(g.imageValue()) + "\n"
	case 6:
		return "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: " + name + ".acme.io\nspec:\n  containers:\n" + indent(g.containers(1), "  ")
	case 7:
		return "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: " + name + "\nspec:\n  serviceName: " + name + "\n  template:\n    spec:\n      containers:\n" + indent(g.containers(1+g.c.intn(2)), "      ")
	default:
		return "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: " + name + "\nspec:\n  template:\n    spec:\n      containers:\n" + indent(g.containers(1), "      ")
	}
}

func marshal(v any) string {
	out, err := sigsyaml.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(out)
}

// kustomization fills k with what any kustomization may have.
func (g *gen) common(k map[string]any, dir string, root bool) {
	if g.chance(3) {
		k["namePrefix"] = g.pick("p-", "prod-")
	}
	if g.chance(5) {
		k["nameSuffix"] = "-s"
	}
	if g.chance(4) {
		k["namespace"] = g.pick("shop", "other")
	}
	if g.chance(4) {
		k["commonLabels"] = map[string]any{"team": "shop"}
	}
	if g.chance(3) {
		// Patches that bring images of their own.
		var patches []any
		if g.chance(2) {
			patches = append(patches, map[string]any{
				"target": map[string]any{"kind": "Deployment"},
				"patch":  "- op: add\n  path: /spec/template/spec/containers/-\n  value:\n    name: added\n    image: " + yamlString(g.imageValue()) + "\n",
			})
		}
		if g.chance(2) {
			patches = append(patches, map[string]any{
				"target": map[string]any{"kind": "Pod"},
				"patch":  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: any\nspec:\n  containers:\n  - name: c0\n    image: " + yamlString(g.imageValue()) + "\n",
			})
		}
		if len(patches) > 0 {
			k["patches"] = patches
		}
	}
	if g.chance(4) {
		k["configMapGenerator"] = []any{map[string]any{"name": g.pick("gen-"+dir, "gen"), "literals": []any{"image=" + g.imageValue()}}}
	}
	if g.chance(4) {
		config := "images:\n- kind: Thing\n  path: spec/image\n"
		switch g.c.intn(12) {
		case 0, 1:
			config += "- path: spec/template/spec/sidecars[]/image\n"
		case 2:
			config += "- kind: Deployment\n  path: spec/template/spec/containers[]/image\n  create: true\n"
		case 3:
			config += "nameReference:\n- kind: ConfigMap\n  fieldSpecs:\n  - kind: Thing\n    path: spec/configName\n"
		}
		g.files[dir+"/kustomizeconfig.yaml"] = config
		k["configurations"] = []any{"kustomizeconfig.yaml"}
	}
	if deployments := g.deployments[dir]; !root && len(deployments) > 0 && g.chance(4) {
		k["replacements"] = []any{map[string]any{
			"source":  map[string]any{"kind": "Deployment", "name": deployments[0], "fieldPath": "spec.template.spec.containers.0.name"},
			"targets": []any{map[string]any{"select": map[string]any{"kind": "Deployment"}, "fieldPaths": []any{"spec.template.spec.containers.0.image"}, "options": map[string]any{"delimiter": ":", "index": 1}}},
		}}
	}
}

// tree generates the tree and returns the directory to render.
func (g *gen) tree() string {
	g.files = map[string]string{}
	g.deployments = map[string][]string{}
	var bases []any
	objects := 0
	for b := range 1 + g.c.intn(3) {
		dir := fmt.Sprintf("base%d", b)
		g.dir = dir
		k := map[string]any{}
		var resources []any
		for range 1 + g.c.intn(3) {
			objects++
			name := fmt.Sprintf("o%d", objects)
			g.files[dir+"/"+name+".yaml"] = g.object(name)
			resources = append(resources, name+".yaml")
		}
		k["resources"] = resources
		g.common(k, dir, false)
		if g.chance(3) {
			k["images"] = g.images(1 + g.c.intn(3))
		}
		g.files[dir+"/kustomization.yaml"] = marshal(k)
		bases = append(bases, "../"+dir)
	}
	root := map[string]any{"resources": bases}
	if g.chance(4) {
		g.files["component/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n" +
			marshal(map[string]any{"images": g.images(1)})
		root["components"] = []any{"../component"}
	}
	g.common(root, "overlay", true)
	entries := g.images(1 + g.c.intn(10))
	switch g.c.intn(12) {
	case 0:
		root["imageTags"] = entries
	case 1:
		root["Images"] = entries
	default:
		root["images"] = entries
	}
	var all []string
	for _, d := range g.deployments {
		all = append(all, d...)
	}
	switch g.c.intn(14) {
	case 0:
		if len(all) == 0 {
			break
		}
		root["replacements"] = []any{map[string]any{
			"source":  map[string]any{"kind": "Deployment", "name": all[0], "fieldPath": "spec.template.spec.containers.0.image"},
			"targets": []any{map[string]any{"select": map[string]any{"kind": "Deployment"}, "fieldPaths": []any{"metadata.annotations.image"}, "options": map[string]any{"create": true}}},
		}}
	case 1:
		root["buildMetadata"] = []any{g.pick("originAnnotations", "transformerAnnotations", "managedByLabel")}
	case 2:
		if len(all) == 0 {
			break
		}
		root["vars"] = []any{map[string]any{"name": "V", "objref": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": all[0]}, "fieldref": map[string]any{"fieldpath": "spec.template.spec.containers[0].image"}}}
	}
	g.files["overlay/kustomization.yaml"] = marshal(root)
	if g.chance(5) {
		for range 1 + g.c.intn(2) {
			name := g.pick(repoNames...)
			g.params = append(g.params, g.pick(name+":v5", name+"@"+digestB, name+"="+g.pick(repoNames...)+":v6", name+"=*:v4"))
		}
	}
	return "overlay"
}

// TestImagesDifferential renders generated trees both ways.
func TestImagesDifferential(t *testing.T) {
	const trees, workers = 240, 4
	bin := ""
	if os.Getenv("KUSTOMIZE") != "" || os.Getenv("CI") != "" {
		bin = testutil.Kustomize(t, KustomizeVersion)
	}
	var fast atomic.Int64
	t.Run("trees", func(t *testing.T) {
		for w := range workers {
			t.Run(fmt.Sprint(w), func(t *testing.T) {
				t.Parallel()
				for i := w; i < trees; i += workers {
					g := &gen{c: randChooser{rand.New(rand.NewPCG(uint64(i), 42))}}
					dir := g.tree()
					root := testutil.WriteTree(t, g.files)
					opts := Options{Root: root, Dir: dir, Overrides: Overrides{Images: g.params}}
					got, _, problem := bothWays(opts)
					if problem == "" && i%5 == 0 {
						traced := opts
						traced.TrackOrigins = true
						_, _, problem = bothWays(traced)
					}
					if problem == "" && bin != "" && i%6 == 0 && len(g.params) == 0 {
						problem = kustomizeDiff(t, bin, root, dir, got)
					}
					if problem != "" {
						t.Fatalf("tree %d: %s\ntree:\n%s", i, problem, dumpTree(g.files))
					}
					if got.fast {
						fast.Add(1)
					}
				}
			})
		}
	})
	t.Logf("%d of %d trees took the fast path", fast.Load(), trees)
	if !t.Failed() && fast.Load() < trees/3 {
		t.Errorf("only %d of %d trees took the fast path: the test no longer tests it", fast.Load(), trees)
	}
}

func dumpTree(files map[string]string) string {
	var b strings.Builder
	for name, content := range files {
		fmt.Fprintf(&b, "--- %s\n%s", name, content)
	}
	return b.String()
}
