package render

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"sigs.k8s.io/kustomize/api/konfig"
)

// Measuring a file's YAML before kustomize parses it (limits.go) takes a
// good part of a render that reads hundreds of files, all of it on the
// goroutine that walks the tree and then runs kustomize. A measurement
// depends on the file's name and bytes only, so it can be made ahead of
// time, on another CPU, and reused when the same bytes are read; and a
// kustomization the walk (inspect.go) measured need not be measured again
// when kustomize reads it. Everything else a read does (confinement, the
// size and total limits, in kustomize's order) is unchanged: the
// prefetcher only fills repoFS.measured.

// measurement is what limits.admitYAML said of a file's bytes.
type measurement struct {
	data []byte
	err  error
}

// admitYAML is f.limits.admitYAML(f.rel(real), data), answered from an
// earlier measurement of the same bytes when there is one.
func (f *repoFS) admitYAML(real string, data []byte) error {
	if v, ok := f.measured.Load(real); ok {
		if m := v.(measurement); bytes.Equal(m.data, data) {
			return m.err
		}
	}
	err := f.limits.admitYAML(f.rel(real), data)
	f.measured.Store(real, measurement{data: data, err: err})
	return err
}

// prefetcher measures files ahead of their reads, one at a time, in the
// order it is given them.
type prefetcher struct {
	mu      sync.Mutex
	queue   []string
	running bool
	read    int64 // bytes read, by the running goroutine only
	stopped atomic.Bool
}

// prefetch queues what the resources: and components: entries of the
// kustomization in dir may name: a file, or a directory's kustomization.
// Paths that do not resolve inside the root, or are not regular files,
// are skipped.
func (f *repoFS) prefetch(dir string, entries ...[]string) {
	var paths []string
	for _, list := range entries {
		for _, e := range list {
			paths = append(paths, filepath.Join(dir, e))
			for _, name := range konfig.RecognizedKustomizationFileNames() {
				paths = append(paths, filepath.Join(dir, e, name))
			}
		}
	}
	p := &f.pre
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped.Load() {
		return
	}
	p.queue = append(p.queue, paths...)
	if !p.running {
		p.running = true
		go f.prefetchLoop()
	}
}

// stopPrefetch ends prefetching: the render no longer reads files.
func (f *repoFS) stopPrefetch() { f.pre.stopped.Store(true) }

func (f *repoFS) prefetchLoop() {
	p := &f.pre
	for {
		p.mu.Lock()
		if len(p.queue) == 0 || p.stopped.Load() {
			p.running = false
			p.mu.Unlock()
			return
		}
		path := p.queue[0]
		p.queue = p.queue[1:]
		p.mu.Unlock()
		f.measureAhead(path)
	}
}

// measureAhead measures one file, reading no file larger than one file
// may be, and no more bytes in all than a render may read.
func (f *repoFS) measureAhead(path string) {
	real, err := f.resolve(path)
	if err != nil {
		return
	}
	if _, ok := f.measured.Load(real); ok {
		return
	}
	info, err := os.Stat(real)
	if err != nil || !info.Mode().IsRegular() || info.Size() > f.limits.limits.MaxFileBytes {
		return
	}
	p := &f.pre
	if p.read += info.Size(); p.read > f.limits.limits.MaxTotalBytes {
		p.stopped.Store(true)
		return
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return
	}
	err = f.limits.admitYAML(f.rel(real), data)
	f.measured.LoadOrStore(real, measurement{data: data, err: err})
}
