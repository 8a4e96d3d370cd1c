// Package demo runs digestpin's whole story on one machine, over loopback
// only: a registry, a config repository, Argo CD's render refusing tags,
// promote pinning digests, and the render that follows.
package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/digestpin/digestpin/examples"
	"github.com/digestpin/digestpin/internal/policy"
	"github.com/digestpin/digestpin/internal/promote"
	dpregistry "github.com/digestpin/digestpin/internal/registry"
	"github.com/digestpin/digestpin/plugin"
)

// Options configure a demo run.
type Options struct {
	// Dir receives the config repository and the clones. Default: a new
	// temporary directory.
	Dir string
	// Keep leaves Dir in place afterwards. Default: removed.
	Keep bool
	// Out receives the story. Default: io.Discard.
	Out io.Writer
}

const app = "apps/shop/staging"

// images are the sample images, as the example app names them.
var images = []string{"shop-migrate:v7", "shop-web:v1.2"}

// Run tells the story.
func Run(ctx context.Context, opts Options) (err error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "digestpin-demo-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer func() {
		switch {
		case opts.Keep:
			fmt.Fprintf(out, "\nEverything is in %s: config.git (the config repository), ci (the clone promote pushed from), argocd (the checkout Argo CD rendered).\n", dir)
		default:
			if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
				err = rmErr
			}
			fmt.Fprintf(out, "\nRemoved %s; run `digestpin demo --keep` to look around.\n", dir)
		}
	}()

	host, stop, err := startRegistry()
	if err != nil {
		return err
	}
	defer stop()
	org := host + "/acme"

	fmt.Fprintf(out, "digestpin demo: the whole loop on this machine, over loopback only.\n\n")
	fmt.Fprintf(out, "1. CI built two images and pushed them to a registry (in-process, %s):\n", host)
	digests := map[string]string{}
	for _, img := range images {
		ref := org + "/" + img
		if digests[ref], err = push(ref); err != nil {
			return err
		}
		fmt.Fprintf(out, "     %s  %s\n", ref, digests[ref])
	}

	bare := filepath.Join(dir, "config.git")
	if err := seedConfigRepository(ctx, dir, bare, org); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n2. The config repository holds apps/shop: a base, a prod overlay pinned by\n   digest, and a staging overlay that still deploys tags.\n")

	checkout := filepath.Join(dir, "argocd")
	if err := git(ctx, dir, "clone", "--quiet", bare, checkout); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n3. Argo CD renders %s through the digestpin plugin. It refuses,\n   so Argo CD syncs nothing, and the Application shows:\n\n", app)
	if _, err := render(checkout); err == nil {
		return errors.New("the unpinned app rendered; the demo expected a refusal")
	} else {
		var refusal *policy.Refusal
		if !errors.As(err, &refusal) {
			return err
		}
		fmt.Fprintf(out, "%s\n", indent(refusal.Error(), "     "))
	}

	ci := filepath.Join(dir, "ci")
	if err := git(ctx, dir, "clone", "--quiet", bare, ci); err != nil {
		return err
	}
	refs := make([]string, len(images))
	args := "digestpin promote --insecure-registry"
	for i, img := range images {
		refs[i] = org + "/" + img
		args += " --image " + refs[i]
	}
	args += " --path " + app
	fmt.Fprintf(out, "\n4. CI pins the images in Git:\n\n     $ %s\n\n", args)
	result, err := promote.Promote(ctx, promote.Options{
		Images:   refs,
		Path:     app,
		Registry: []dpregistry.Option{dpregistry.WithInsecure(true)},
		Publish:  promote.Publish{RepoDir: ci},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n     committed %s and pushed it to main\n", indent(strings.TrimRight(result.Diff, "\n"), "     "), result.Commit)

	if err := git(ctx, checkout, "pull", "--quiet", "--ff-only"); err != nil {
		return err
	}
	rendered, err := render(checkout)
	if err != nil {
		return fmt.Errorf("rendering the pinned commit: %w", err)
	}
	fmt.Fprintf(out, "\n5. Argo CD renders the new commit. The Deployment runs exactly the digests\n   the registry reported:\n\n%s\n", indent(strings.TrimRight(string(rendered), "\n"), "     "))
	for ref, digest := range digests {
		if !bytes.Contains(rendered, []byte("image: "+ref+"@"+digest+"\n")) {
			return fmt.Errorf("the render does not run %s@%s", ref, digest)
		}
	}
	return nil
}

func startRegistry() (host string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// push uploads a small random image, as a CI build would, and returns the
// digest the registry now serves for it.
func push(ref string) (string, error) {
	img, err := random.Image(512, 1)
	if err != nil {
		return "", err
	}
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(tag, img); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	return d.String(), err
}

// seedConfigRepository creates the bare config repository holding the
// example app, its images pointed at the demo's registry.
func seedConfigRepository(ctx context.Context, dir, bare, org string) error {
	seed := filepath.Join(dir, "seed")
	err := fs.WalkDir(examples.Shop, "shop", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := examples.Shop.ReadFile(path)
		if err != nil {
			return err
		}
		target := filepath.Join(seed, "apps", filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, bytes.ReplaceAll(data, []byte(examples.Registry), []byte(org)), 0o644)
	})
	if err != nil {
		return err
	}
	for _, step := range [][]string{
		{dir, "init", "--quiet", "--bare", "--initial-branch=main", bare},
		{seed, "init", "--quiet", "--initial-branch=main"},
		{seed, "add", "--all"},
		{seed, "-c", "user.name=Platform team", "-c", "user.email=platform@example.com", "commit", "--quiet", "-m", "Add the shop app"},
		{seed, "push", "--quiet", bare, "main"},
	} {
		if err := git(ctx, step[0], step[1:]...); err != nil {
			return err
		}
	}
	return os.RemoveAll(seed)
}

// render runs the plugin as argocd-cmp-server would, in the app's
// directory of a checkout.
func render(checkout string) ([]byte, error) {
	req, err := plugin.NewRequest(filepath.Join(checkout, app), func(k string) (string, bool) {
		if k == plugin.EnvSourcePath {
			return app, true
		}
		return "", false
	})
	if err != nil {
		return nil, err
	}
	return plugin.Generate(req, plugin.Config{})
}

func git(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func indent(s, prefix string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if strings.TrimSpace(line) != "" {
			b.WriteString(prefix)
		}
		b.WriteString(line)
	}
	return b.String()
}
