package promote

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/kio"

	"github.com/digestpin/digestpin/internal/git"
	"github.com/digestpin/digestpin/internal/imageref"
)

// order keeps promote from going back: an image built from an older commit
// of the source repository never replaces a pin built from a newer one.
type order struct {
	source    *git.Repo
	sourceDir string
	// revision is the commit the images were built from.
	revision string
}

func openOrder(ctx context.Context, opts Options) (*order, error) {
	if opts.SourceRepoDir == "" {
		return nil, nil
	}
	if opts.SourceRevision == "" {
		return nil, usageError("%s needs %s: the commit the images were built from", OptSourceRepoDir, OptSourceRevision)
	}
	src, err := git.Open(ctx, opts.SourceRepoDir)
	if err != nil {
		return nil, usageError("%s: %w", OptSourceRepoDir, err)
	}
	if _, err := src.IsAncestor(ctx, opts.SourceRevision, opts.SourceRevision); err != nil {
		return nil, usageError("%s %s is not a commit of %s %s; fetch its history (actions/checkout: fetch-depth: 0)", OptSourceRevision, opts.SourceRevision, OptSourceRepoDir, opts.SourceRepoDir)
	}
	return &order{source: src, sourceDir: opts.SourceRepoDir, revision: opts.SourceRevision}, nil
}

// check looks at each image whose pin file (as at head) already holds. It
// returns notes for the output, or a *SupersededError when the pin in Git
// was built from a commit newer than o.revision.
func (o *order) check(ctx context.Context, config *git.Repo, head, file string, data []byte, images []Image) ([]string, error) {
	var notes []string
	var history []git.Trailed
	read := false
	for _, img := range images {
		repo, err := imageref.NormalizeRepository(img.Repository)
		if err != nil || !hasPin(file, data, repo) {
			continue
		}
		if !read {
			if history, err = config.Trailed(ctx, head, file, "Digestpin-Image"); err != nil {
				return nil, err
			}
			read = true
		}
		i := slices.IndexFunc(history, func(t git.Trailed) bool {
			return slices.ContainsFunc(t.Values("Digestpin-Image"), func(v string) bool { return names(v, repo) })
		})
		if i < 0 {
			shallow, err := config.IsShallow(ctx)
			if err != nil {
				return nil, err
			}
			if shallow {
				return nil, fmt.Errorf("cannot tell which build the pin of %s in %s came from: the clone of the config repository is shallow, so the commit that wrote it may be missing; fetch its full history (actions/checkout: fetch-depth: 0)", img.Repository, file)
			}
			notes = append(notes, fmt.Sprintf("replacing the pin of %s in %s: no digestpin commit recorded it, so its source revision is unknown", img.Repository, file))
			continue
		}
		pinned := history[i]
		revs := pinned.Values("Source-Revision")
		if len(revs) == 0 || !isHex(revs[0], 40, 64) {
			notes = append(notes, fmt.Sprintf("replacing the pin of %s in %s from commit %s, which records no source revision", img.Repository, file, pinned.Commit))
			continue
		}
		built := strings.ToLower(revs[0])
		if sameCommit(built, o.revision) {
			continue
		}
		newer, err := o.source.IsAncestor(ctx, o.revision, built)
		if errors.Is(err, git.ErrUnknownCommit) {
			return nil, fmt.Errorf("cannot tell whether the pin of %s in %s, built from %s (commit %s), is newer than %s: %s is not in the history of %s; fetch its full history (actions/checkout: fetch-depth: 0)", img.Repository, file, built, pinned.Commit, o.revision, built, o.sourceDir)
		}
		if err != nil {
			return nil, err
		}
		if newer {
			return nil, &SupersededError{From: o.revision, To: built, Repository: img.Repository, File: file, Commit: pinned.Commit}
		}
		if older, err := o.source.IsAncestor(ctx, built, o.revision); err == nil && !older {
			notes = append(notes, fmt.Sprintf("replacing the pin of %s in %s built from %s, which is neither older nor newer than %s (they are on different branches)", img.Repository, file, built, o.revision))
		}
	}
	return notes, nil
}

// names reports whether a Digestpin-Image value names repository repo.
func names(value, repo string) bool {
	name, _, _ := imageref.SplitDocker(value)
	got, err := imageref.NormalizeRepository(name)
	return err == nil && got == repo
}

// hasPin reports whether file (a kustomization or a manifest) already
// records a digest for repository repo.
func hasPin(file string, data []byte, repo string) bool {
	if slices.Contains(konfig.RecognizedKustomizationFileNames(), path.Base(file)) {
		var k types.Kustomization
		if err := k.Unmarshal(data); err != nil {
			return false
		}
		for _, img := range k.Images {
			for _, n := range []string{img.Name, img.NewName} {
				if got, err := imageref.NormalizeRepository(n); err == nil && got == repo && img.Digest != "" {
					return true
				}
			}
		}
		return false
	}
	nodes, err := kio.FromBytes(data)
	if err != nil {
		return false
	}
	for _, n := range nodes {
		for _, use := range imageref.Find(n.YNode(), nil) {
			if ref, err := imageref.Parse(use.Image); err == nil && ref.Repository == repo && ref.Pinned() {
				return true
			}
		}
	}
	return false
}
