// Package tree generates the kustomize trees digestpin is benchmarked on:
// an overlay of N services, each a Deployment (an init container and two
// containers), a Service, a CronJob and a generated ConfigMap, with one
// `images:` entry per image, all pinned by digest, as `digestpin promote`
// writes them; and a small typical app. The benchmark harness (go run
// ./bench) and the Go benchmarks in internal/render share it.
package tree

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// App is a generated repository: files by slash-separated path, and the
// directory of the kustomization to render.
type App struct {
	Name    string
	Files   map[string]string
	AppPath string
	// Services, Resources and Images describe its size.
	Services, Resources, Images int
	// Shared is the image the most objects run, the one Unpinned leaves
	// without a digest.
	Shared string
}

// Write writes the app under root.
func (a App) Write(root string) error {
	names := make([]string, 0, len(a.Files))
	for name := range a.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(a.Files[name]), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Digest is a deterministic sha256 digest for an image name.
func Digest(name string) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(name)))
}

const registry = "ghcr.io/acme"

// Unpinned returns the app with the images: entry of its Shared image left
// without its digest, so that digestpin refuses it, in every object that
// runs it.
func (a App) Unpinned() App {
	image := a.Shared
	files := make(map[string]string, len(a.Files))
	for name, content := range a.Files {
		files[name] = content
	}
	overlay := a.AppPath + "/kustomization.yaml"
	lines := strings.Split(files[overlay], "\n")
	for i, line := range lines {
		if line != "- name: "+image {
			continue
		}
		for j := i + 1; j < len(lines) && strings.HasPrefix(lines[j], "  "); j++ {
			if strings.HasPrefix(lines[j], "  digest: ") {
				files[overlay] = strings.Join(append(lines[:j:j], lines[j+1:]...), "\n")
				a.Files = files
				a.Name += ", " + image[strings.LastIndex(image, "/")+1:] + " unpinned"
				return a
			}
		}
	}
	panic("tree: no pinned images: entry for " + image)
}

// Services returns the overlay of n services: 4n resources and 3n+1
// images: entries (each service's app, migrate and report images, and a
// proxy image every Deployment shares).
func Services(n int) App { return services(n, registry, true) }

// BeforePin is the overlay of n services as an application looks before
// `digestpin pin`: the same tree, its images in repositories under reg
// (a registry host and path), and no images: entries, so that all 3n+1
// images render with their tags only.
func BeforePin(n int, reg string) App {
	a := services(n, reg, false)
	a.Name = fmt.Sprintf("%d services, unpinned", n)
	return a
}

func services(n int, registry string, pinned bool) App {
	files := map[string]string{}
	var resources []string
	shared := registry + "/envoy-proxy"
	images := []string{shared}
	for i := 1; i <= n; i++ {
		svc := fmt.Sprintf("svc-%03d", i)
		dir := "apps/shop/base/" + svc
		files[dir+"/kustomization.yaml"] = fmt.Sprintf(serviceKustomization, svc)
		files[dir+"/deployment.yaml"] = fmt.Sprintf(serviceDeployment, svc, registry)
		files[dir+"/service.yaml"] = fmt.Sprintf(serviceService, svc)
		files[dir+"/cronjob.yaml"] = fmt.Sprintf(serviceCronJob, svc, registry)
		resources = append(resources, "../../base/"+svc)
		images = append(images, registry+"/"+svc, registry+"/"+svc+"-migrate", registry+"/"+svc+"-report")
	}
	sort.Strings(images)
	count := len(images)
	var k strings.Builder
	if pinned {
		k.WriteString("# Production: every image pinned by digest.\n")
	} else {
		k.WriteString("# Production.\n")
	}
	k.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop-prod\nlabels:\n- pairs:\n    env: prod\n    team: shop\nresources:\n")
	for _, r := range resources {
		fmt.Fprintf(&k, "- %s\n", r)
	}
	if !pinned {
		images = nil
	} else {
		k.WriteString("images:\n")
	}
	for _, name := range images {
		tag := "v1.4.2"
		if strings.HasSuffix(name, "envoy-proxy") {
			tag = "v1.30.1"
		}
		fmt.Fprintf(&k, "- name: %s\n  newTag: %s\n  digest: %s\n", name, tag, Digest(name+":"+tag))
	}
	files["apps/shop/overlays/prod/kustomization.yaml"] = k.String()
	return App{
		Name:      fmt.Sprintf("%d services", n),
		Files:     files,
		AppPath:   "apps/shop/overlays/prod",
		Services:  n,
		Resources: 4 * n,
		Images:    count,
		Shared:    shared,
	}
}

const serviceKustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
- service.yaml
- cronjob.yaml
configMapGenerator:
- name: %[1]s-config
  literals:
  - LOG_LEVEL=info
  - SERVICE=%[1]s
`

const serviceDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels:
    app.kubernetes.io/name: %[1]s
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: %[1]s
  template:
    metadata:
      labels:
        app.kubernetes.io/name: %[1]s
    spec:
      initContainers:
      - name: migrate
        image: %[2]s/%[1]s-migrate:v1.4.1
      containers:
      - name: app
        image: %[2]s/%[1]s:v1.4.1
        ports:
        - containerPort: 8080
        envFrom:
        - configMapRef:
            name: %[1]s-config
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
      - name: proxy
        image: %[2]s/envoy-proxy:v1.30.0
        ports:
        - containerPort: 9901
`

const serviceService = `apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  labels:
    app.kubernetes.io/name: %[1]s
spec:
  selector:
    app.kubernetes.io/name: %[1]s
  ports:
  - port: 80
    targetPort: 8080
`

const serviceCronJob = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: %[1]s-report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: report
            image: %[2]s/%[1]s-report:v1.4.1
            envFrom:
            - configMapRef:
                name: %[1]s-config
`

// Small is a small typical app: a base with a Deployment (an init
// container and a container), a Service and a generated ConfigMap, and a
// production overlay with a namespace, a replicas patch and two pinned
// images.
func Small() App {
	files := map[string]string{
		"apps/shop/base/kustomization.yaml": `resources:
- deployment.yaml
- service.yaml
configMapGenerator:
- name: web-config
  literals:
  - LOG_LEVEL=info
`,
		"apps/shop/base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      initContainers:
      - name: migrate
        image: ghcr.io/acme/shop-migrate:v7
      containers:
      - name: web
        image: ghcr.io/acme/shop-web:v1.2
        ports:
        - containerPort: 8080
        envFrom:
        - configMapRef:
            name: web-config
`,
		"apps/shop/base/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
`,
		"apps/shop/prod/kustomization.yaml": `namespace: shop
resources:
- ../base
patches:
- target:
    kind: Deployment
    name: web
  patch: |-
    - op: replace
      path: /spec/replicas
      value: 4
images:
- name: ghcr.io/acme/shop-migrate
  newTag: v7
  digest: ` + Digest("ghcr.io/acme/shop-migrate:v7") + `
- name: ghcr.io/acme/shop-web
  newTag: v1.2
  digest: ` + Digest("ghcr.io/acme/shop-web:v1.2") + `
`,
	}
	return App{Name: "small app", Files: files, AppPath: "apps/shop/prod", Services: 1, Resources: 3, Images: 2, Shared: "ghcr.io/acme/shop-web"}
}
