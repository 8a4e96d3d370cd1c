package yamledit

import (
	"fmt"
	"regexp"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// ImagePin is what promote records for one image.
type ImagePin struct {
	// Name is the image name as it appears in the rendered manifests and in
	// the kustomization entry's name, e.g. "ghcr.io/acme/app".
	Name string
	// Tag is the tag the user gave, "" if none. It is recorded as newTag so
	// that the render shows name:tag@sha256:...
	Tag string
	// Digest is "sha256:<64 lowercase hex>".
	Digest string
}

var (
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

func (p ImagePin) check() error {
	if err := checkText("image name", p.Name); err != nil {
		return err
	}
	if p.Tag != "" && !tagPattern.MatchString(p.Tag) {
		return fmt.Errorf("image %s: tag %q is not a valid image tag", p.Name, p.Tag)
	}
	if !digestPattern.MatchString(p.Digest) {
		return fmt.Errorf("image %s: digest %q is not sha256:<64 lowercase hex>", p.Name, p.Digest)
	}
	return nil
}

// SetKustomizationImages records pins in the images list of a
// kustomization file, changing only the lines that must change.
//
// A pin updates the entry whose name is pin.Name or, failing that, the one
// whose newName is; its newTag becomes pin.Tag (removed when pin.Tag is "")
// and its digest pin.Digest, and its name and newName are kept. Without such
// an entry one is appended to the list, and the list is added at the end of
// the file when there is none. Block and flow style are both edited in
// place. When every pin is already recorded, src itself is returned with
// changed false.
func SetKustomizationImages(src []byte, pins ...ImagePin) (out []byte, changed bool, err error) {
	seen := map[string]bool{}
	for _, p := range pins {
		if err := p.check(); err != nil {
			return nil, false, fmt.Errorf("kustomization: %w", err)
		}
		if seen[p.Name] {
			return nil, false, fmt.Errorf("kustomization: image %s is pinned twice", p.Name)
		}
		seen[p.Name] = true
	}
	// Many pins at once (digestpin pin writes hundreds) are one pass over
	// the text; whatever that pass cannot do alone is done one pin at a
	// time below, re-parsing in between.
	if len(pins) > 1 {
		if out, changed, err := setImages(src, pins); err == nil {
			return out, changed, nil
		}
	}
	out = src
	for _, p := range pins {
		next, err := setImage(out, p)
		if err != nil {
			return nil, false, fmt.Errorf("kustomization: image %s: %w", p.Name, err)
		}
		if next != nil {
			out, changed = next, true
		}
	}
	return out, changed, nil
}

// setImage records one pin, returning nil when it is already recorded.
func setImage(src []byte, pin ImagePin) ([]byte, error) {
	e, err := newEditor(src)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	root, err := kustomizationRoot(e.docs)
	if err != nil {
		return nil, err
	}
	entry := pin.pairs()

	i := lookup(root, "images")
	if i < 0 {
		err = e.addImages(root, entry)
	} else {
		images := root.Content[2*i+1]
		switch {
		case images.Kind == yaml.ScalarNode && images.ShortTag() == "!!null":
			err = e.fillImages(root, i, entry)
		case images.Kind == yaml.SequenceNode:
			err = e.pinEntry(root, images, pin, entry)
		default:
			err = fmt.Errorf("line %d: images is not a list", images.Line)
		}
	}
	if err != nil || len(e.edits) == 0 {
		return nil, err
	}
	return e.result()
}

// kustomizationRoot returns the top-level mapping of the only document.
func kustomizationRoot(docs []*yaml.Node) (*yaml.Node, error) {
	var roots []*yaml.Node
	for _, d := range docs {
		if len(d.Content) == 0 {
			continue
		}
		n := d.Content[0]
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" && n.Value == "" {
			continue // an empty document, e.g. after a trailing "---"
		}
		roots = append(roots, n)
	}
	switch {
	case len(roots) == 0:
		return nil, fmt.Errorf("no YAML document")
	case len(roots) > 1:
		return nil, fmt.Errorf("%d YAML documents where a kustomization has one", len(roots))
	case roots[0].Kind != yaml.MappingNode:
		return nil, fmt.Errorf("line %d: top level is not a mapping", roots[0].Line)
	}
	return roots[0], nil
}

// pinEntry updates the matching entry of the images list, or appends one.
func (e *editor) pinEntry(root, images *yaml.Node, pin ImagePin, entry []pair) error {
	match, err := findEntry(images, pin)
	switch {
	case err != nil:
		return err
	case match == nil:
		return e.appendItem(images, entry, e.itemLayout(root, images))
	}
	return e.updateEntry(match, pin)
}

// findEntry returns the entry of the images list pin updates: the one
// named pin.Name or, failing that, the one whose newName it is; nil when
// there is none.
func findEntry(images *yaml.Node, pin ImagePin) (*yaml.Node, error) {
	var byName, byNewName []*yaml.Node
	for _, item := range images.Content {
		if item.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: images entry is not a mapping", item.Line)
		}
		if scalarValue(item, "name") == pin.Name {
			byName = append(byName, item)
		} else if scalarValue(item, "newName") == pin.Name {
			byNewName = append(byNewName, item)
		}
	}
	matches := byName
	if len(matches) == 0 {
		matches = byNewName
	}
	switch len(matches) {
	case 0:
		return nil, nil
	case 1:
		return matches[0], nil
	}
	return nil, fmt.Errorf("images entries on lines %d and %d both match", matches[0].Line, matches[1].Line)
}

// setImages records all pins in one pass: existing entries are updated in
// place, then the other pins are appended, in order. A kustomization
// without an images list gets it from the first pin, alone. It fails,
// leaving the work to setImage, on anything else: two pins for one entry,
// or an edit that does not read back as intended.
func setImages(src []byte, pins []ImagePin) ([]byte, bool, error) {
	changed := false
	e, err := newEditor(src)
	if err != nil {
		return nil, false, err
	}
	root, err := kustomizationRoot(e.docs)
	if err != nil {
		return nil, false, err
	}
	if i := lookup(root, "images"); i < 0 || root.Content[2*i+1].Kind != yaml.SequenceNode {
		next, err := setImage(src, pins[0])
		if err != nil || next == nil {
			return nil, false, fmt.Errorf("no images list")
		}
		src, pins, changed = next, pins[1:], true
		if e, err = newEditor(src); err != nil {
			return nil, false, err
		}
		if root, err = kustomizationRoot(e.docs); err != nil {
			return nil, false, err
		}
	}
	i := lookup(root, "images")
	if i < 0 || root.Content[2*i+1].Kind != yaml.SequenceNode {
		return nil, false, fmt.Errorf("no images list")
	}
	images := root.Content[2*i+1]
	layout := e.itemLayout(root, images)
	updated := map[*yaml.Node]bool{}
	var appended []ImagePin
	for _, pin := range pins {
		match, err := findEntry(images, pin)
		switch {
		case err != nil:
			return nil, false, err
		case match == nil:
			appended = append(appended, pin)
			continue
		case updated[match]:
			return nil, false, fmt.Errorf("line %d: two pins for one entry", match.Line)
		}
		updated[match] = true
		if err := e.updateEntry(match, pin); err != nil {
			return nil, false, err
		}
	}
	// Appended after the updates: an insertion at the end of the last
	// entry then stays in it.
	for _, pin := range appended {
		if err := e.appendItem(images, pin.pairs(), layout); err != nil {
			return nil, false, err
		}
	}
	if len(e.edits) == 0 {
		return src, changed, nil
	}
	out, err := e.result()
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// pairs is the images entry that records pin.
func (pin ImagePin) pairs() []pair {
	entry := []pair{{"name", pin.Name}}
	if pin.Tag != "" {
		entry = append(entry, pair{"newTag", pin.Tag})
	}
	return append(entry, pair{"digest", pin.Digest})
}

// updateEntry sets newTag and digest in an existing images entry.
func (e *editor) updateEntry(entry *yaml.Node, pin ImagePin) error {
	l := layout{keyStyle: quoteStyle(entry.Content[0]), valueStyle: entryValueStyle(entry)}
	tag, digest := lookup(entry, "newTag"), lookup(entry, "digest")
	last := len(entry.Content)/2 - 1
	var err error
	switch {
	case pin.Tag == "" && tag >= 0 && digest < 0:
		// The digest takes the place of newTag: one changed line.
		return e.renamePair(entry, tag, "digest", pin.Digest)
	case pin.Tag == "" && tag >= 0:
		err = e.removePair(entry, tag)
	case pin.Tag == "":
	case tag < 0 && digest > 0:
		// Just before the digest, where kustomize itself writes newTag.
		err = e.addPairs(entry, digest-1, []pair{{"newTag", pin.Tag}}, l)
	case tag < 0:
		err = e.addPairs(entry, last, []pair{{"newTag", pin.Tag}}, l)
	default:
		err = e.setString(entry, tag, pin.Tag)
	}
	switch {
	case err != nil:
		return err
	case digest >= 0:
		return e.setString(entry, digest, pin.Digest)
	case tag >= 0:
		return e.addPairs(entry, tag, []pair{{"digest", pin.Digest}}, l)
	default:
		return e.addPairs(entry, last, []pair{{"digest", pin.Digest}}, l)
	}
}

// renamePair turns pair i of m into key: value in place.
func (e *editor) renamePair(m *yaml.Node, i int, key, value string) error {
	k, v := m.Content[2*i], m.Content[2*i+1]
	if v.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: %s is not a string", v.Line, k.Value)
	}
	if err := e.setScalar(k, key); err != nil {
		return err
	}
	return e.setScalar(v, value)
}

// setString makes the value of pair i of m the string v, leaving it alone
// when it already is.
func (e *editor) setString(m *yaml.Node, i int, v string) error {
	n := m.Content[2*i+1]
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: %s is not a string", n.Line, m.Content[2*i].Value)
	}
	if n.ShortTag() == "!!str" && n.Value == v {
		return nil
	}
	// A value such as newTag: 1.0 reads as a number, so even when its text
	// matches it is rewritten, quoted.
	return e.setScalar(n, v)
}

// addImages adds an images list holding entry at the end of root.
func (e *editor) addImages(root *yaml.Node, entry []pair) error {
	l := e.documentLayout(root)
	rm := e.index[root]
	rm.items = append(rm.items, strModel("images"), &model{kind: yaml.SequenceNode, tag: "!!seq", items: []*model{mappingModel(entry)}})
	key := render("images", l.keyStyle)
	if isFlow(root) {
		return e.addToFlow(root, len(root.Content)/2-1, key+": ["+l.flowMapping(entry)+"]")
	}
	end, err := e.pairEnd(root, len(root.Content)/2-1)
	if err != nil {
		return err
	}
	col := root.Column - 1
	e.insertLines(end, append([]string{spaces(col) + key + ":"}, l.blockItem(col+l.seqIndent, entry)...))
	return nil
}

// fillImages turns "images:" with no value, or a null one, into a list.
func (e *editor) fillImages(root *yaml.Node, i int, entry []pair) error {
	key, value := root.Content[2*i], root.Content[2*i+1]
	if isFlow(root) || value.Anchor != "" || value.Style&yaml.TaggedStyle != 0 {
		return fmt.Errorf("line %d: null images: %w", value.Line, ErrUnsupported)
	}
	vm := e.index[value]
	*vm = model{kind: yaml.SequenceNode, tag: "!!seq", items: []*model{mappingModel(entry)}}
	end, err := e.src.end(value, key.Column-1)
	if err != nil {
		return err
	}
	if value.Value != "" { // "images: ~" or "images: null"
		start, _, err := e.src.scalarSpan(value)
		if err != nil {
			return err
		}
		for start > 0 && isBlank(e.src.b[start-1]) {
			start--
		}
		e.add(start, end, "")
	}
	l := e.documentLayout(root)
	e.insertLines(end, l.blockItem(key.Column-1+l.seqIndent, entry))
	return nil
}

// documentLayout guesses how the file writes lists from its other lists.
func (e *editor) documentLayout(root *yaml.Node) layout {
	l := layout{seqIndent: -1, itemIndent: -1}
	if len(root.Content) > 0 {
		l.keyStyle = quoteStyle(root.Content[0])
	}
	if l.keyStyle&yaml.DoubleQuotedStyle != 0 {
		l.valueStyle = yaml.DoubleQuotedStyle // JSON written as YAML
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode && !isFlow(n) {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if v := n.Content[i+1]; l.seqIndent < 0 && v.Kind == yaml.SequenceNode && !isFlow(v) {
					l.seqIndent = v.Column - n.Content[i].Column
				}
			}
		}
		if n.Kind == yaml.SequenceNode && !isFlow(n) && l.itemIndent < 0 {
			for _, item := range n.Content {
				if item.Kind == yaml.MappingNode && !isFlow(item) && e.src.onDashLine(n, item) {
					l.itemIndent = item.Column - n.Column
					break
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	// kustomize writes lists unindented under their key.
	if l.seqIndent < 0 {
		l.seqIndent = 0
	}
	if l.itemIndent < 2 {
		l.itemIndent = 2
	}
	return l
}

// itemLayout copies the layout of the last mapping in an images list, or
// of the document for a list without one.
func (e *editor) itemLayout(root, images *yaml.Node) layout {
	l := e.documentLayout(root)
	for _, item := range images.Content {
		if item.Kind != yaml.MappingNode || len(item.Content) == 0 {
			continue
		}
		l.keyStyle = quoteStyle(item.Content[0])
		l.valueStyle = entryValueStyle(item)
		if !isFlow(item) && e.src.onDashLine(images, item) {
			l.itemIndent = item.Column - images.Column
		}
	}
	return l
}

// entryValueStyle is the quoting of an entry's name, which new values of
// the entry follow.
func entryValueStyle(entry *yaml.Node) yaml.Style {
	for _, key := range []string{"name", "newName"} {
		if i := lookup(entry, key); i >= 0 {
			return quoteStyle(entry.Content[2*i+1])
		}
	}
	return 0
}

func scalarValue(m *yaml.Node, key string) string {
	if i := lookup(m, key); i >= 0 && m.Content[2*i+1].Kind == yaml.ScalarNode {
		return m.Content[2*i+1].Value
	}
	return ""
}
