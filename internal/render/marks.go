package render

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Origin marks say where each object came from without a second render.
//
// kustomize's own origin tracking is an annotation on every object, which
// transformers can see (so the output of a traced render is not the
// output), and which costs it a good deal (it records every transformer
// on every object). A YAML comment costs nothing and no transformer reads
// it, and kustomize prints objects through JSON, which drops comments. So
// as kustomize's resource loader reads a resource file, each document that
// starts with a mapping key gets a comment line before it, "# <nonce>
// <n>", that the YAML parser attaches to the object's first key; after the
// render, the object whose first key still carries it came from file n.
// The nonce is random for every render, so no file can forge a mark.
//
// A mark is lost, and the object's origin unknown, when kustomize rebuilds
// the object (a JSON patch goes through JSON) or the document does not
// start with a key; Origins then renders again with kustomize's tracing.
// Marks are not used at all when any path went through a symlink (they
// would name the file's real path, where kustomize names the path as
// written), and only files that no other entry names (as a patch, a
// generator's file, a configuration, ...) are marked.

// originMarks are a render's marks: the nonce, and the files by number.
type originMarks struct {
	nonce  string
	files  []string
	byReal map[string]int
}

// markResources makes the resource files of t carry origin marks.
func (f *readFS) markResources(t *tree) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return
	}
	m := &originMarks{nonce: hex.EncodeToString(nonce[:]), byReal: map[string]int{}}
	for real := range t.resourceFiles {
		if t.otherFiles[real] {
			continue
		}
		m.byReal[real] = len(m.files)
		m.files = append(m.files, f.Rel(real))
	}
	f.marks = m
}

// mark returns data with origin marks, when path is a marked file.
func (f *readFS) mark(path string, data []byte) []byte {
	if f.marks == nil {
		return data
	}
	real, err := f.Resolve(path)
	if err != nil {
		return data
	}
	n, ok := f.marks.byReal[real]
	if !ok {
		return data
	}
	return markDocuments(data, "# "+f.marks.nonce+" "+strconv.Itoa(n)+"\n")
}

// markDocuments puts line before every document of data that starts, on
// its first line, with a mapping key: at the start of data and after
// every "---" line.
func markDocuments(data []byte, line string) []byte {
	var out bytes.Buffer
	out.Grow(len(data) + 4*len(line))
	startsKey := func(rest []byte) bool {
		if len(rest) == 0 {
			return false
		}
		c := rest[0]
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '"' || c == '\''
	}
	if startsKey(data) {
		out.WriteString(line)
	}
	for len(data) > 0 {
		end := bytes.IndexByte(data, '\n')
		var l []byte
		if end < 0 {
			l, data = data, nil
		} else {
			l, data = data[:end+1], data[end+1:]
		}
		out.Write(l)
		if string(bytes.TrimRight(l, " \t\r\n")) == "---" && startsKey(data) {
			if l[len(l)-1] != '\n' {
				out.WriteByte('\n')
			}
			out.WriteString(line)
		}
	}
	return out.Bytes()
}

// markedOrigins returns the origin each object's mark names, "" where it
// has none, or nil when marks cannot be used.
func (f *readFS) markedOrigins(m resmap.ResMap) []string {
	if f.marks == nil || f.Symlinked() {
		return nil
	}
	prefix := "# " + f.marks.nonce + " "
	origins := make([]string, m.Size())
	for i, res := range m.Resources() {
		n := res.YNode()
		if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
			continue
		}
		for _, l := range strings.Split(n.Content[0].HeadComment, "\n") {
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				if k, err := strconv.Atoi(rest); err == nil && k >= 0 && k < len(f.marks.files) {
					origins[i] = f.marks.files[k]
				}
			}
		}
	}
	return origins
}
