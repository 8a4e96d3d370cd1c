package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/digestpin/digestpin/internal/testutil"
)

// testRegistry is a real OCI registry over HTTP on loopback. fail, when
// set, may answer a request instead of the registry.
type testRegistry struct {
	host string
	fail func(w http.ResponseWriter, r *http.Request) bool
}

func newRegistry(t *testing.T) *testRegistry {
	t.Helper()
	reg := &testRegistry{}
	handler := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reg.fail != nil && reg.fail(w, r) {
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	reg.host = strings.TrimPrefix(srv.URL, "http://")
	return reg
}

// push uploads a random image with the given revision label (none when
// "") and returns its digest.
func (reg *testRegistry) push(t *testing.T, repo, tag, revision string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if revision != "" {
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cfg = cfg.DeepCopy()
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		cfg.Config.Labels["org.opencontainers.image.revision"] = revision
		if img, err = mutate.ConfigFile(img, cfg); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := name.ParseReference(reg.host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return digest.String()
}

// configRepo is a bare repository holding files on main, and a clone of it
// as CI would check it out.
type configRepo struct {
	bare, clone string
}

func newConfigRepo(t *testing.T, files map[string]string) configRepo {
	t.Helper()
	seed := testutil.WriteTree(t, files)
	bare := filepath.Join(t.TempDir(), "config.git")
	git(t, ".", "init", "--quiet", "--bare", "--initial-branch=main", bare)
	git(t, seed, "init", "--quiet", "--initial-branch=main")
	git(t, seed, "add", "--all")
	git(t, seed, "-c", "user.name=Seed", "-c", "user.email=seed@example.com", "commit", "--quiet", "-m", "seed")
	git(t, seed, "push", "--quiet", bare, "main")
	clone := filepath.Join(t.TempDir(), "clone")
	git(t, ".", "clone", "--quiet", bare, clone)
	return configRepo{bare: bare, clone: clone}
}

// commitElsewhere pushes a change to the bare repository from another
// clone, as another pipeline or person would, and returns the new head.
func (c configRepo) commitElsewhere(t *testing.T, file, content string) string {
	t.Helper()
	other := filepath.Join(t.TempDir(), "other")
	git(t, ".", "clone", "--quiet", c.bare, other)
	testutil.WriteFiles(t, other, map[string]string{file: content})
	git(t, other, "add", "--all")
	git(t, other, "-c", "user.name=Other", "-c", "user.email=other@example.com", "commit", "--quiet", "-m", "other change")
	git(t, other, "push", "--quiet", "origin", "main")
	return git(t, other, "rev-parse", "HEAD")
}

func (c configRepo) head(t *testing.T) string { return git(t, c.bare, "rev-parse", "main") }

func (c configRepo) show(t *testing.T, rev, file string) string {
	return git(t, c.bare, "show", rev+":"+file) + "\n"
}

// clean asserts the clone's work tree and index are as checked out.
func (c configRepo) clean(t *testing.T) {
	t.Helper()
	if status := git(t, c.clone, "status", "--porcelain"); status != "" {
		t.Errorf("the clone's work tree changed:\n%s", status)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimRight(string(out), "\n")
}

// promoteEnv isolates promote from the developer's git and docker config.
func promoteEnv(t *testing.T, extra ...string) []string {
	return append([]string{
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"DOCKER_CONFIG=" + t.TempDir(),
	}, extra...)
}

// TestPromoteFlagsExist checks that every option promote's errors can name
// is spelled as a flag promote has.
func TestPromoteFlagsExist(t *testing.T) {
	have := map[string]bool{}
	for _, f := range promoteCommand().Flags {
		for _, n := range f.Names() {
			have["--"+n] = true
		}
	}
	for o, flag := range promoteFlags {
		if !have[flag] {
			t.Errorf("option %s is spelled %s, which promote does not have", o, flag)
		}
	}
}
