package pin

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/digestpin/digestpin/internal/imageref"
	"github.com/digestpin/digestpin/internal/promote"
	"github.com/digestpin/digestpin/internal/registry"
)

// resolver resolves each distinct image once, across attempts, with at
// most Concurrency registry requests in flight.
type resolver struct {
	client *registry.Client
	rules  *promote.Rules
	sem    chan struct{}
	every  time.Duration
	out    io.Writer

	mu   sync.Mutex
	jobs map[string]*job
}

// job resolves one image: a tag, or the tag a rule chooses.
type job struct {
	key  string
	done chan struct{}
	// byRule is set when a rule picks the tag, so tag is known only when
	// done.
	byRule bool
	// Set when done: the tag pinned, the choice a rule made, the digest.
	tag    string
	choice *promote.Choice
	digest string
	err    error
}

func newResolver(opts Options, rules *promote.Rules) *resolver {
	return &resolver{
		// pin records no source revision, so the image config is not read.
		client: registry.NewClient(append([]registry.Option{registry.WithRevision(false)}, opts.Registry...)...),
		rules:  rules,
		sem:    make(chan struct{}, opts.Concurrency),
		every:  opts.ProgressEvery,
		out:    opts.Progress,
		jobs:   map[string]*job{},
	}
}

// get returns the job for image name:tag (tag "" for none, which is
// latest), starting it unless it ran already.
func (r *resolver) get(ctx context.Context, name, tag string) *job {
	repo, err := imageref.NormalizeRepository(name)
	if err != nil {
		repo = name
	}
	rule, byRule := r.rules.For(name)
	key := repo + ":" + tag
	if tag == "" {
		key = repo + ":latest"
	}
	if byRule {
		key = "rule\x00" + repo
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if j, ok := r.jobs[key]; ok {
		return j
	}
	j := &job{key: key, done: make(chan struct{}), tag: tag, byRule: byRule}
	if j.tag == "" {
		j.tag = "latest"
	}
	r.jobs[key] = j
	go func() {
		defer close(j.done)
		if byRule {
			var choice promote.Choice
			if j.err = r.limit(ctx, func() error {
				var err error
				choice, err = promote.ChooseTag(ctx, r.client, name, rule)
				return err
			}); j.err != nil {
				return
			}
			j.choice, j.tag = &choice, choice.Tag
		}
		j.err = r.limit(ctx, func() error {
			img, err := r.client.Resolve(ctx, name+":"+j.tag)
			j.digest = img.Digest
			return err
		})
	}()
	return j
}

// limit runs f holding one of the request slots.
func (r *resolver) limit(ctx context.Context, f func() error) error {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.sem }()
	return f()
}

// wait waits for jobs, reporting progress.
func (r *resolver) wait(ctx context.Context, jobs []*job) error {
	if len(jobs) == 0 {
		return nil
	}
	finished := make(chan struct{}, len(jobs))
	for _, j := range jobs {
		go func() {
			select {
			case <-j.done:
				finished <- struct{}{}
			case <-ctx.Done():
			}
		}()
	}
	ticker := time.NewTicker(r.every)
	defer ticker.Stop()
	done, shown := 0, 0
	for done < len(jobs) {
		select {
		case <-finished:
			done++
		case <-ticker.C:
			if done != shown {
				fmt.Fprintf(r.out, "resolved %d/%d\n", done, len(jobs))
				shown = done
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Fprintf(r.out, "resolved %d/%d\n", done, len(jobs))
	return nil
}
