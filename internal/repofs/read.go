package repofs

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular is wrapped by the error of a read of anything but a
// regular file: a named pipe would block the read forever, a device like
// /dev/zero never ends, and a directory is not content.
var ErrNotRegular = errors.New("not a regular file")

// kind names what a file that is not regular is, for messages.
func kind(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a directory"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a character device"
	case mode&fs.ModeDevice != 0:
		return "a device"
	case mode&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "not a regular file"
}

// readRegular reads the regular file at the real path real, named name in
// messages, and at most max bytes of it. It opens the file without
// blocking, checks what it opened (not what the path named a moment
// before), and counts what it reads rather than trusting the size the file
// reports: files in /proc report 0. A file larger than max is refused,
// with its size when the file reports it.
func readRegular(real, name string, max int64) ([]byte, error) {
	f, err := os.OpenFile(real, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", name, unwrapPathError(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", name, unwrapPathError(err))
	}
	if !info.Mode().IsRegular() {
		what := kind(info.Mode())
		if what == "not a regular file" {
			return nil, fmt.Errorf("%q is %w", name, ErrNotRegular)
		}
		return nil, fmt.Errorf("%q is %s, %w", name, what, ErrNotRegular)
	}
	if info.Size() > max {
		return nil, fmt.Errorf("%q is %d bytes, more than the %d allowed: %w", name, info.Size(), max, ErrInputTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %q: %w", name, unwrapPathError(err))
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%q is more than the %d bytes allowed: %w", name, max, ErrInputTooLarge)
	}
	return data, nil
}

// Measure is what one file holds, as the limits count it.
type Measure struct {
	// Bytes is its size.
	Bytes int64
	// Documents counts its YAML documents, empty ones included; a file
	// that holds none counts as one, as reading it costs as much.
	Documents int
	// Objects counts the objects kustomize makes of it as a resource:
	// documents holding a mapping, the items of a List instead of the
	// List.
	Objects int
	// Nodes counts its YAML nodes, aliases expanded.
	Nodes int
}

// measured is a file's measure with a hash of the bytes measured, so that
// a later read of the same bytes is not measured again.
type measured struct {
	hash uint64
	Measure
}

var hashSeed = maphash.MakeSeed()

// measure returns the measure of data, the bytes of the file at the real
// path real, named name in messages, checking it against the per-file
// limits. A file measured before with the same bytes is not parsed again:
// the walk that vets a tree reads every file before kustomize does.
func (f *FS) measure(real, name string, data []byte) (Measure, error) {
	h := maphash.Bytes(hashSeed, data)
	f.mu.Lock()
	m, ok := f.measures[real]
	f.mu.Unlock()
	if ok && m.hash == h {
		return m.Measure, nil
	}
	got, err := f.limits.limits.measureYAML(name, data)
	if err != nil {
		return Measure{}, err
	}
	f.mu.Lock()
	f.measures[real] = measured{hash: h, Measure: got}
	f.mu.Unlock()
	return got, nil
}

// Measure reads the file at path, confined and checked as ReadFile's
// reads are, and returns what it holds, without counting it against the
// render's totals: for the walk that counts, before kustomize runs, what
// the render will read.
func (f *FS) Measure(path string) (Measure, error) {
	real, err := f.Resolve(path)
	if err != nil {
		return Measure{}, f.refuse(err)
	}
	name := f.Rel(real)
	data, ok := f.overlay[real]
	if !ok {
		if data, err = readRegular(real, name, f.limits.limits.MaxFileBytes); err != nil {
			return Measure{}, f.refuseLimit(err)
		}
	}
	m, err := f.measure(real, name, data)
	if err != nil {
		return Measure{}, f.refuse(err)
	}
	return m, nil
}

// refuseLimit records err as the refusal when it is one of the limits'.
func (f *FS) refuseLimit(err error) error {
	if errors.Is(err, ErrInputTooLarge) || errors.Is(err, ErrNotRegular) {
		return f.refuse(err)
	}
	return err
}
