package loop

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is go-containerregistry's registry on 127.0.0.1, holding real
// image manifests.
type Registry struct {
	// Host is "127.0.0.1:<port>".
	Host string
	srv  *http.Server
}

// StartRegistry starts an empty registry.
func StartRegistry() (*Registry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Registry{Host: ln.Addr().String(), srv: &http.Server{Handler: ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))}}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Stop stops the registry.
func (r *Registry) Stop() { _ = r.srv.Close() }

// PushImage pushes a small random single-platform image as repo:tag (repo
// without the host) and returns its digest.
func (r *Registry) PushImage(repo, tag string) (string, error) {
	img, err := random.Image(512, 1)
	if err != nil {
		return "", err
	}
	ref, err := name.NewTag(r.Host + "/" + repo + ":" + tag)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	return d.String(), err
}

// Index is a pushed multi-platform image.
type Index struct {
	// Digest is the index's digest, what Git pins.
	Digest string
	// AMD64 and ARM64 are its platform manifests' digests; a linux/amd64
	// node reports AMD64.
	AMD64, ARM64 string
}

// PushIndex pushes a multi-platform image (linux/amd64 and linux/arm64)
// as repo:tag, as `docker buildx build --platform` would.
func (r *Registry) PushIndex(repo, tag string) (Index, error) {
	amd64, err := random.Image(512, 1)
	if err != nil {
		return Index{}, err
	}
	arm64, err := random.Image(512, 1)
	if err != nil {
		return Index{}, err
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	ref, err := name.NewTag(r.Host + "/" + repo + ":" + tag)
	if err != nil {
		return Index{}, err
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		return Index{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	var out Index
	for d, img := range map[*string]interface{ Digest() (v1.Hash, error) }{&out.Digest: idx, &out.AMD64: amd64, &out.ARM64: arm64} {
		h, err := img.Digest()
		if err != nil {
			return Index{}, err
		}
		*d = h.String()
	}
	return out, nil
}

// Repo is a bare Git repository on disk, served to Argo CD as a file://
// URL.
type Repo struct {
	Bare string
	URL  string
	dir  string
}

// NewRepo creates a bare repository under dir whose main branch holds
// files (path -> content), committed by "Platform team".
func NewRepo(ctx context.Context, dir string, files map[string]string) (*Repo, error) {
	r := &Repo{Bare: filepath.Join(dir, "config.git"), dir: dir}
	r.URL = "file://" + r.Bare
	seed := filepath.Join(dir, "seed")
	for path, content := range files {
		p := filepath.Join(seed, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	for _, step := range [][]string{
		{dir, "init", "--quiet", "--bare", "--initial-branch=main", r.Bare},
		{seed, "init", "--quiet", "--initial-branch=main"},
		{seed, "add", "--all"},
		{seed, "-c", "user.name=Platform team", "-c", "user.email=platform@example.com", "commit", "--quiet", "-m", "Add the shop app"},
		{seed, "push", "--quiet", r.Bare, "main"},
	} {
		if _, err := Git(ctx, step[0], step[1:]...); err != nil {
			return nil, err
		}
	}
	return r, os.RemoveAll(seed)
}

// Head returns the commit main is at.
func (r *Repo) Head(ctx context.Context) (string, error) {
	return Git(ctx, r.dir, "--git-dir", r.Bare, "rev-parse", "main")
}

// Clone clones the repository into dir, as CI checks out the config.
func (r *Repo) Clone(ctx context.Context, dir string) error {
	_, err := Git(ctx, r.dir, "clone", "--quiet", r.Bare, dir)
	return err
}

// Git runs git in dir without the user's or the system's configuration,
// and returns its trimmed output.
func Git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return strings.TrimSpace(out.String()), nil
}

// ShopApp is a config app at apps/<name>: a Deployment of two replicas
// whose pods run a migrate init container (org/migrate) and a web
// container (org/web), deploying tags, as a team writes it before digestpin
// pins it.
func ShopApp(appName, org string) map[string]string {
	dir := "apps/" + appName + "/"
	return map[string]string{
		dir + "kustomization.yaml": fmt.Sprintf(`resources:
- deployment.yaml
images:
- name: %[1]s/web
  newTag: v1
- name: %[1]s/migrate
  newTag: v1
`, org),
		dir + "deployment.yaml": fmt.Sprintf(`apiVersion: apps/v1
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
        image: %[1]s/migrate
      containers:
      - name: web
        image: %[1]s/web
`, org),
	}
}
