package git

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	dir := cloneT(t, bare)
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "apps", "web")} {
		if got := openT(t, d).Root(); got != want {
			t.Errorf("Open(%q).Root() = %q, want %q", d, got, want)
		}
	}

	notRepo := t.TempDir()
	_, err = Open(t.Context(), notRepo)
	if err == nil || !strings.Contains(err.Error(), `opening "`+notRepo+`": `) || !strings.Contains(err.Error(), "not a git repository") {
		t.Errorf("Open(not a repository) error = %v", err)
	}
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 128 {
		t.Errorf("Open(not a repository) error = %#v, want a *CommandError with exit code 128", err)
	}

	_, err = Open(t.Context(), bare)
	if err == nil || !strings.Contains(err.Error(), "must be run in a work tree") {
		t.Errorf("Open(bare) error = %v", err)
	}

	_, err = Open(t.Context(), dir, WithToken("tok\nen"))
	if err == nil || !strings.Contains(err.Error(), "control characters") {
		t.Errorf("Open(WithToken with newline) error = %v", err)
	}
	assertNoSecret(t, err, "tok\nen")
}

func TestCurrentBranch(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	dir := cloneT(t, bare)
	r := openT(t, dir)
	ctx := t.Context()

	if got, err := r.CurrentBranch(ctx); err != nil || got != "main" {
		t.Errorf("CurrentBranch() = %q, %v; want main", got, err)
	}
	gitT(t, dir, "checkout", "--quiet", "-b", "release/v1")
	if got, err := r.CurrentBranch(ctx); err != nil || got != "release/v1" {
		t.Errorf("CurrentBranch() = %q, %v; want release/v1", got, err)
	}
	gitT(t, dir, "checkout", "--quiet", "--detach")
	got, err := r.CurrentBranch(ctx)
	if !errors.Is(err, ErrDetachedHEAD) || got != "" {
		t.Fatalf("CurrentBranch() on detached HEAD = %q, %v; want ErrDetachedHEAD", got, err)
	}
	if !strings.Contains(err.Error(), "HEAD is detached, so there is no current branch") {
		t.Errorf("detached HEAD error %q does not say HEAD is detached", err)
	}
}

func TestReadFile(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	r := openT(t, cloneT(t, bare))
	ctx := t.Context()
	head := gitT(t, bare, "rev-parse", "main")

	for _, p := range []string{"apps/web/deployment.yaml", "apps/web/hooks/run.sh", "README.md"} {
		got, err := r.ReadFile(ctx, head, p, 1<<20)
		if err != nil || string(got) != seed[p] {
			t.Errorf("ReadFile(%q) = %q, %v; want %q", p, got, err, seed[p])
		}
	}
	// A branch name works as well as an object name.
	if got, err := r.ReadFile(ctx, "origin/main", "README.md", 1<<20); err != nil || string(got) != seed["README.md"] {
		t.Errorf("ReadFile(origin/main, README.md) = %q, %v", got, err)
	}

	_, err := r.ReadFile(ctx, head, "apps/web/missing.yaml", 1<<20)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(missing) error = %v, want fs.ErrNotExist", err)
	}
	if want := `reading "apps/web/missing.yaml" at "` + head + `": file does not exist`; err == nil || err.Error() != want {
		t.Errorf("ReadFile(missing) error = %q, want %q", err, want)
	}
	// A file below a file does not exist either.
	if _, err := r.ReadFile(ctx, head, "README.md/x", 1<<20); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(README.md/x) error = %v, want fs.ErrNotExist", err)
	}

	for p, want := range map[string]string{
		"apps/web":         "is a directory",
		"apps/web/current": "is a symbolic link",
		"../etc/passwd":    "must be clean",
		"/README.md":       "must be relative",
		".git/config":      ".git element",
	} {
		_, err := r.ReadFile(ctx, head, p, 1<<20)
		if err == nil || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadFile(%q) error = %v, want one containing %q", p, err, want)
		}
	}

	// A file larger than the reader takes is refused before it is read.
	_, err = r.ReadFile(ctx, head, "README.md", 5)
	var size *SizeError
	if !errors.As(err, &size) || err.Error() != `reading "README.md" at "`+head+`": "README.md" is 18 bytes, more than the 5 read` {
		t.Errorf("ReadFile(README.md, 5) error = %v", err)
	}

	_, err = r.ReadFile(ctx, "no-such-branch", "README.md", 1<<20)
	if err == nil || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), `unknown revision "no-such-branch"`) {
		t.Errorf("ReadFile(unknown revision) error = %v", err)
	}
}

// readAll lists dir at rev and reads every blob, as a checkout would.
func readAll(t *testing.T, r *Repo, rev, dir string) ([]File, error) {
	t.Helper()
	entries, err := r.List(t.Context(), rev, dir)
	if err != nil {
		return nil, err
	}
	var blobs []Entry
	for _, e := range entries {
		if e.Mode != ModeSubmodule {
			blobs = append(blobs, e)
		}
	}
	data := map[string][]byte{}
	err = r.Blobs(t.Context(), blobs, func(e Entry, rd io.Reader) error {
		b, err := io.ReadAll(rd)
		data[e.Path] = b
		return err
	})
	files := make([]File, len(entries))
	for i, e := range entries {
		files[i] = File{Path: e.Path, Mode: e.Mode, Data: data[e.Path]}
	}
	return files, err
}

func TestListAndBlobs(t *testing.T) {
	t.Parallel()
	bare, _ := newRemote(t)
	r := openT(t, cloneT(t, bare))
	ctx := t.Context()
	head := gitT(t, bare, "rev-parse", "main")

	entries, err := r.List(ctx, head, "apps/web")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !isObjectName(e.Object) {
			t.Errorf("%s: object %q", e.Path, e.Object)
		}
	}
	if e := entries[0]; e.Path != "apps/web/current" || e.Mode != ModeSymlink || e.Size != int64(len("deployment.yaml")) {
		t.Errorf("first entry = %+v", e)
	}
	got, err := readAll(t, r, head, "apps/web")
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Path: "apps/web/current", Mode: ModeSymlink, Data: []byte("deployment.yaml")},
		{Path: "apps/web/deployment.yaml", Mode: ModeRegular, Data: []byte(seed["apps/web/deployment.yaml"])},
		{Path: "apps/web/hooks/run.sh", Mode: ModeExecutable, Data: []byte(seed["apps/web/hooks/run.sh"])},
		{Path: "apps/web/kustomization.yaml", Mode: ModeRegular, Data: []byte(seed["apps/web/kustomization.yaml"])},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List and Blobs(apps/web) =\n%+v\nwant\n%+v", got, want)
	}
	if slash, err := readAll(t, r, head, "apps/web/"); err != nil || !reflect.DeepEqual(slash, want) {
		t.Errorf("List(apps/web/) = %+v, %v", slash, err)
	}

	all, err := r.List(ctx, head, "")
	if err != nil || len(all) != len(seed)+1 {
		t.Errorf("List(\"\") = %d files, %v; want %d", len(all), err, len(seed)+1)
	}

	if _, err := r.List(ctx, head, "apps/api"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List(missing) error = %v, want fs.ErrNotExist", err)
	}
	if _, err := r.List(ctx, head, "README.md"); err == nil || !strings.Contains(err.Error(), `listing "README.md" at "`+head+`": not a directory`) {
		t.Errorf("List(file) error = %v", err)
	}

	// A reader may stop early; an error from it stops the stream.
	stop := errors.New("stop")
	n := 0
	err = r.Blobs(ctx, all, func(e Entry, rd io.Reader) error {
		n++
		if n == 2 {
			return stop
		}
		_, err := io.ReadFull(rd, make([]byte, 1))
		return err
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("Blobs stopped by its reader: %v after %d blobs", err, n)
	}
	// A listed size that is not the blob's is an error, not a short read.
	wrong := all[1]
	wrong.Size++
	if err := r.Blobs(ctx, []Entry{wrong}, func(Entry, io.Reader) error { return nil }); err == nil || !strings.Contains(err.Error(), "unexpected git cat-file output") {
		t.Errorf("Blobs with a wrong size: %v", err)
	}
}

func TestListSubmoduleAndEmptyFile(t *testing.T) {
	t.Parallel()
	_, work := newRemote(t)
	head := gitT(t, work, "rev-parse", "HEAD")
	gitT(t, work, "update-index", "--add", "--cacheinfo", "160000,"+head+",vendor/sub")
	if err := os.WriteFile(filepath.Join(work, "empty"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	gitT(t, work, "add", "empty")
	gitT(t, work, "commit", "--quiet", "-m", "submodule")
	r := openT(t, work)

	got, err := readAll(t, r, "HEAD", ".")
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]File{}
	for _, f := range got {
		byPath[f.Path] = f
	}
	if f := byPath["vendor/sub"]; f.Mode != ModeSubmodule || f.Data != nil {
		t.Errorf("submodule entry = %+v", f)
	}
	if f := byPath["empty"]; f.Mode != ModeRegular || f.Data == nil || len(f.Data) != 0 {
		t.Errorf("empty file entry = %+v", f)
	}
	if _, err := r.ReadFile(t.Context(), "HEAD", "vendor/sub", 1<<20); err == nil || !strings.Contains(err.Error(), "is a submodule") {
		t.Errorf("ReadFile(submodule) error = %v", err)
	}
}
