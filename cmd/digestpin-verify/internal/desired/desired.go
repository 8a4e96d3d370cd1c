// Package desired reads what Git says should run: the container images of
// every workload in the manifests Argo CD rendered for a revision.
//
// A workload is any object carrying a pod template: a Pod's own spec, a
// CronJob's spec.jobTemplate.spec.template, and spec.template of everything
// else (Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, and
// custom kinds such as Argo Rollouts that follow the same shape). Objects
// without one are skipped; a manifest that is not a Kubernetes object is an
// error, never silently ignored.
package desired

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Key names an object the way Argo CD's resource tree does.
type Key struct {
	Group, Kind, Namespace, Name string
}

func (k Key) String() string {
	kind := k.Kind
	if k.Group != "" {
		kind += "." + k.Group
	}
	if k.Namespace == "" {
		return kind + " " + k.Name
	}
	return kind + " " + k.Namespace + "/" + k.Name
}

// Container is one container of a pod template.
type Container struct {
	Name string
	// Init is true for an init container.
	Init bool
	// Image is the image as the manifest writes it.
	Image string
}

// Workload is an object with a pod template.
type Workload struct {
	Key        Key
	Containers []Container
}

// Container returns the template's container of that name and kind.
func (w Workload) Container(name string, init bool) (Container, bool) {
	for _, c := range w.Containers {
		if c.Name == name && c.Init == init {
			return c, true
		}
	}
	return Container{}, false
}

// Error is a manifest Workloads cannot read.
type Error struct{ err error }

func (e *Error) Error() string { return e.err.Error() }
func (e *Error) Unwrap() error { return e.err }

// Workloads reads the workloads among manifests (JSON or YAML, one object
// each, as Argo CD's GetManifests returns them). Objects without a
// namespace get defaultNamespace, as Argo CD applies them to the
// Application's destination namespace.
func Workloads(manifests []string, defaultNamespace string) (map[Key]Workload, error) {
	out := map[Key]Workload{}
	for i, m := range manifests {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(m), &obj); err != nil {
			return nil, &Error{fmt.Errorf("manifest %d of %d from Argo CD is not valid YAML or JSON: %w", i+1, len(manifests), err)}
		}
		if obj == nil {
			continue
		}
		key, err := keyOf(obj, defaultNamespace)
		if err != nil {
			return nil, &Error{fmt.Errorf("manifest %d of %d from Argo CD: %w", i+1, len(manifests), err)}
		}
		spec, ok := podSpec(key.Kind, obj)
		if !ok {
			continue
		}
		w := Workload{Key: key}
		for _, field := range []struct {
			name string
			init bool
		}{{"initContainers", true}, {"containers", false}} {
			list, _ := spec[field.name].([]any)
			for _, item := range list {
				c, _ := item.(map[string]any)
				name, _ := c["name"].(string)
				image, _ := c["image"].(string)
				w.Containers = append(w.Containers, Container{Name: name, Init: field.init, Image: image})
			}
		}
		if len(w.Containers) > 0 {
			out[key] = w
		}
	}
	return out, nil
}

func keyOf(obj map[string]any, defaultNamespace string) (Key, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)
	if apiVersion == "" || kind == "" || name == "" {
		return Key{}, fmt.Errorf("not a Kubernetes object: apiVersion, kind or metadata.name is missing")
	}
	group := ""
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	}
	if namespace == "" {
		namespace = defaultNamespace
	}
	return Key{Group: group, Kind: kind, Namespace: namespace, Name: name}, nil
}

// podSpec finds the pod spec an object's pods are made from.
func podSpec(kind string, obj map[string]any) (map[string]any, bool) {
	var path []string
	switch kind {
	case "Pod":
		path = []string{"spec"}
	case "CronJob":
		path = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	default:
		path = []string{"spec", "template", "spec"}
	}
	cur := obj
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			return nil, false
		}
		cur = next
	}
	_, hasContainers := cur["containers"].([]any)
	return cur, hasContainers
}

// Sorted returns the workloads in a stable order.
func Sorted(ws map[Key]Workload) []Workload {
	out := make([]Workload, 0, len(ws))
	for _, w := range ws {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}
