package e2e

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestFullLoop is the story end to end: CI pushes images to a real
// registry, `digestpin promote` pins them in a real config repository, and
// Argo CD's repo-server renders that commit through the plugin. The objects
// Argo CD receives run exactly the digests the registry serves.
func TestFullLoop(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	refs := []string{host + "/acme/migrate:v7", host + "/acme/web:v1.2", host + "/acme/report:nightly"}
	for _, ref := range refs {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		tag, err := name.NewTag(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, img); err != nil {
			t.Fatal(err)
		}
	}

	// The config repository: testdata/shop with its images in this
	// registry; the report CronJob takes the tag CI pushed.
	bare := filepath.Join(t.TempDir(), "config.git")
	seed := checkoutTestdata(t, "shop").root
	err := filepath.WalkDir(seed, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		data = bytes.ReplaceAll(data, []byte("ghcr.io/acme/report\n"), []byte("ghcr.io/acme/report:nightly\n"))
		return os.WriteFile(path, bytes.ReplaceAll(data, []byte("ghcr.io/acme"), []byte(host+"/acme")), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	gitT(t, ".", "init", "--quiet", "--bare", "--initial-branch=main", bare)
	gitT(t, seed, "init", "--quiet", "--initial-branch=main")
	gitT(t, seed, "add", "--all")
	gitT(t, seed, "-c", "user.name=Seed", "-c", "user.email=seed@example.com", "commit", "--quiet", "-m", "seed")
	gitT(t, seed, "push", "--quiet", bare, "main")
	ci := filepath.Join(t.TempDir(), "ci")
	gitT(t, ".", "clone", "--quiet", bare, ci)

	// Before: Argo CD refuses the staging overlay.
	before := gitT(t, bare, "rev-parse", "main")
	if _, err := generate(t, clone(t, bare, before), application{name: "shop-staging", namespace: "shop-staging", source: pluginSource("apps/shop/staging", pluginBlock(t, "name: digestpin-v1\n"))}); err == nil || !strings.Contains(err.Error(), "refusing to render: 3 images are not pinned by a sha256 digest.") {
		t.Fatalf("the unpinned commit was not refused: %v", err)
	}

	args := []string{"promote", "--insecure-registry", "--path", "apps/shop/staging"}
	for _, ref := range refs {
		args = append(args, "--image", ref)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = ci
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "DOCKER_CONFIG="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("digestpin promote: %v\n%s", err, out)
	}
	after := gitT(t, bare, "rev-parse", "main")
	if after == before {
		t.Fatal("promote pushed nothing")
	}

	resp, err := generate(t, clone(t, bare, after), application{name: "shop-staging", namespace: "shop-staging", source: pluginSource("apps/shop/staging", pluginBlock(t, "name: digestpin-v1\n"))})
	if err != nil {
		t.Fatalf("Argo CD could not render the pinned commit: %v", err)
	}
	var got []string
	for _, o := range manifests(t, resp) {
		for _, c := range containerImages(o) { // "[init ]name=image"
			_, image, _ := strings.Cut(c, "=")
			got = append(got, image)
		}
	}
	var want []string
	for _, ref := range refs {
		desc, err := remote.Head(mustTag(t, ref), remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ref+"@"+desc.Digest.String())
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("Argo CD's objects run %v; none is %s, the digest the registry serves", got, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Argo CD's objects run %d images, want %d: %v", len(got), len(want), got)
	}
}

func mustTag(t *testing.T, ref string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// clone checks out rev of bare, as argocd-repo-server does before it
// generates manifests for that revision.
func clone(t *testing.T, bare, rev string) checkout {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "checkout")
	gitT(t, ".", "clone", "--quiet", bare, dir)
	gitT(t, dir, "checkout", "--quiet", rev)
	return checkout{root: dir, revision: rev}
}

func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
