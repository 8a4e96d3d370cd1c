package render

import (
	"runtime"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// warmUp starts, once per process, a tiny kustomize build in memory on
// another goroutine, so that kustomize's one-time setup overlaps with the
// render's first steps instead of following them: parsing its default
// field specs (about 3 ms, behind a sync.Once), and filling the JSON and
// YAML type caches its configuration decoding uses. A render of a small
// app takes 10 to 20 ms, so this is a good part of it. The build's result
// is dropped; it reads and writes nothing but its in-memory files.
//
// The returned function waits for the build to finish. A render must call
// it before kustomize runs when any kustomization in the tree sets
// openapi: (kustomize keeps the OpenAPI schema in process-wide state,
// which every build sets).
func warmUp() (wait func()) {
	warmUpOnce.Do(func() {
		if runtime.GOMAXPROCS(0) < 2 {
			close(warmedUp)
			return
		}
		go func() {
			defer close(warmedUp)
			fs := filesys.MakeFsInMemory()
			for name, content := range warmUpFiles {
				if err := fs.WriteFile("/app/"+name, []byte(content)); err != nil {
					return
				}
			}
			_, _ = krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/app")
		}()
	})
	return func() { <-warmedUp }
}

var (
	warmUpOnce sync.Once
	warmedUp   = make(chan struct{})
)

var warmUpFiles = map[string]string{
	"kustomization.yaml": "namePrefix: w-\n",
}
