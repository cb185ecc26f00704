package binding

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// FileError is a problem found in config.yaml, with the 1-based line it is on
// (0 when the parser could not say).
type FileError struct {
	Path string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return e.Path + ": " + e.Msg
}

// doc is one parsed config.yaml: its bytes, where each line starts, and the
// entries of its top-level mapping.
type doc struct {
	path   string
	src    []byte
	starts []int      // starts[i] is the byte offset of line i+1, counted the way the YAML scanner counts
	root   *yaml.Node // the top-level mapping; nil when the document is empty
	keys   []entry
	nl     string // the line break new text is written with

	tree     *yaml.Node      // the whole document node, for its comments
	comments map[string]bool // every comment line the parser saw, trimmed; built on first use
}

// entry is one top-level key and its value.
type entry struct {
	name  string // the key's text; "" when the key is not a scalar
	key   *yaml.Node
	value *yaml.Node
}

var lineMsg = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^line (\d+): (.*)$`) })

// parse reads src (named path in errors). A syntax error becomes a FileError
// naming the line; so does a top level that is not a mapping or a second
// document, both of which leave no single place to put a section.
func parse(path string, src []byte) (*doc, error) {
	d := &doc{path: path, src: src, starts: lineStarts(src), nl: newline(src)}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return d, nil
		}
		return nil, d.syntaxError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		line := extra.Line
		if len(extra.Content) > 0 && extra.Content[0].Line > 0 {
			line = extra.Content[0].Line
		}
		return nil, &FileError{Path: path, Line: line, Msg: "more than one YAML document; expected one mapping"}
	case !errors.Is(err, io.EOF):
		return nil, d.syntaxError(err)
	}
	if n.Kind != yaml.DocumentNode || len(n.Content) == 0 {
		return d, nil
	}
	d.tree = &n
	root := n.Content[0]
	switch {
	case root.Kind == yaml.MappingNode:
	case root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" && root.Value == "":
		return d, nil // "---" alone: an empty document
	default:
		return nil, &FileError{Path: path, Line: root.Line, Msg: "top level is " + kindName(root) + ", expected a mapping"}
	}
	d.root = root
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		e := entry{key: k, value: root.Content[i+1]}
		if k.Kind == yaml.ScalarNode {
			e.name = k.Value
		}
		d.keys = append(d.keys, e)
	}
	return d, nil
}

// syntaxError turns a yaml.v3 parse error into a FileError with a line.
// yaml.v3 leaves the line out when the problem is on the first line, when the
// byte reader rejects the input, and for unknown anchors; those are located
// here.
func (d *doc) syntaxError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := lineMsg().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if strings.HasPrefix(m[2], "found a tab character") {
			// yaml.v3 names the line where the enclosing block began; the
			// user needs the line holding the tab.
			line = d.tabLine(line)
		}
		return &FileError{Path: d.path, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	line := 1
	if off := badByte(d.src); off >= 0 {
		line = d.lineOf(off)
	} else if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		name, _, _ = strings.Cut(name, "'")
		if i := bytes.Index(d.src, []byte("*"+name)); i >= 0 {
			line = d.lineOf(i)
		}
	}
	return &FileError{Path: d.path, Line: line, Msg: "invalid YAML: " + msg}
}

// tabLine is the first line from line on whose indentation holds a tab, or
// line itself.
func (d *doc) tabLine(line int) int {
	for n := line; n <= len(d.starts); n++ {
		l := d.line(n)
		ws := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
		if bytes.IndexByte(ws, '\t') >= 0 {
			return n
		}
	}
	return line
}

// badByte returns the offset of the first character the YAML reader refuses
// (invalid UTF-8 or a control character), or -1.
func badByte(src []byte) int {
	for i := 0; i < len(src); {
		r, w := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && w <= 1 {
			return i
		}
		ok := r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0x7e) || r == 0x85 ||
			(r >= 0xa0 && r <= 0xd7ff) || (r >= 0xe000 && r <= 0xfffd) || r >= 0x10000
		if !ok {
			return i
		}
		i += w
	}
	return -1
}

// lineStarts returns the offset of every line start. Like the YAML scanner it
// counts CRLF, CR, LF, NEL, LS and PS as line breaks, so node line numbers
// index this slice.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i := 0; i < len(src); {
		if w := breakWidth(src[i:]); w > 0 {
			i += w
			starts = append(starts, i)
			continue
		}
		i++
	}
	return starts
}

// breakWidth is the length of the line break at the start of b, or 0.
func breakWidth(b []byte) int {
	switch {
	case len(b) >= 2 && b[0] == '\r' && b[1] == '\n':
		return 2
	case len(b) >= 1 && (b[0] == '\r' || b[0] == '\n'):
		return 1
	case len(b) >= 2 && b[0] == 0xc2 && b[1] == 0x85:
		return 2
	case len(b) >= 3 && b[0] == 0xe2 && b[1] == 0x80 && (b[2] == 0xa8 || b[2] == 0xa9):
		return 3
	}
	return 0
}

// newline is the file's own line break (of its first line): CRLF, CR or LF.
// New text is written with it so a file keeps one style.
func newline(src []byte) string {
	for i := range src {
		switch w := breakWidth(src[i:]); {
		case w == 0:
		case src[i] == '\r':
			return string(src[i : i+w])
		default:
			return "\n"
		}
	}
	return "\n"
}

// lineOf is the 1-based line holding byte offset off.
func (d *doc) lineOf(off int) int {
	return sort.Search(len(d.starts), func(i int) bool { return d.starts[i] > off })
}

// line returns the bytes of 1-based line n, without its break.
func (d *doc) line(n int) []byte {
	if n < 1 || n > len(d.starts) {
		return nil
	}
	end := len(d.src)
	if n < len(d.starts) {
		end = d.starts[n]
	}
	b := d.src[d.starts[n-1]:end]
	for i := range b {
		if breakWidth(b[i:]) > 0 {
			return b[:i]
		}
	}
	return b
}

// lineStart is the offset where 1-based line n starts (len(src) past the end).
func (d *doc) lineStart(n int) int {
	if n < 1 {
		return 0
	}
	if n > len(d.starts) {
		return len(d.src)
	}
	return d.starts[n-1]
}

// find returns the index of the top-level entry name, or -1. Two entries of
// the same name are an error: there is no telling which one a reader uses.
func (d *doc) find(name string) (int, error) {
	found := -1
	for i, e := range d.keys {
		if e.name != name {
			continue
		}
		if found >= 0 {
			return -1, &FileError{Path: d.path, Line: e.key.Line,
				Msg: fmt.Sprintf("duplicate top-level key %q (first at line %d)", name, d.keys[found].key.Line)}
		}
		found = i
	}
	return found, nil
}

// isComment reports whether line is a comment line the parser attached to
// some node — rather than, say, the last line of a quoted scalar that merely
// starts with "#".
func (d *doc) isComment(line []byte) bool {
	if d.comments == nil {
		d.comments = map[string]bool{}
		var walk func(n *yaml.Node, depth int)
		walk = func(n *yaml.Node, depth int) {
			if n == nil || depth > 1000 {
				return
			}
			for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
				for _, l := range strings.Split(c, "\n") {
					if l = strings.TrimSpace(l); l != "" {
						d.comments[l] = true
					}
				}
			}
			for _, c := range n.Content {
				walk(c, depth+1)
			}
		}
		walk(d.tree, 0)
	}
	return d.comments[strings.TrimSpace(string(line))]
}

// blankOrComment reports whether a line holds nothing but white space, a
// comment or a document end marker.
func blankOrComment(line []byte) bool {
	t := bytes.TrimLeft(line, " \t")
	if len(t) == 0 || t[0] == '#' {
		return true
	}
	return bytes.HasPrefix(line, []byte("...")) && (len(line) == 3 || line[3] == ' ' || line[3] == '\t')
}

// span is the byte range of entry i: from the start of its key's line to
// trimmed (the end of its last line that is not blank, a document end marker
// or a comment — trailing comments usually introduce what follows) or full
// (the start of the next entry's line, or the end of the file).
func (d *doc) span(i int) (start, trimmed, full int, err error) {
	e := d.keys[i]
	ln := e.key.Line
	if !ownsLine(d.line(ln), e.key.Column) {
		return 0, 0, 0, &FileError{Path: d.path, Line: ln,
			Msg: fmt.Sprintf("cannot edit %q: its key does not start its line", e.name)}
	}
	start = d.lineStart(ln)
	last := len(d.starts) // last line of the entry
	full = len(d.src)
	if i+1 < len(d.keys) {
		next := d.keys[i+1].key.Line
		if next <= ln {
			return 0, 0, 0, &FileError{Path: d.path, Line: ln,
				Msg: fmt.Sprintf("cannot edit %q: it shares its line with another key", e.name)}
		}
		full = d.lineStart(next)
		last = next - 1
	}
	trimmed = full
	for n := last; n > ln; n-- {
		line := d.line(n)
		t := bytes.TrimLeft(line, " \t")
		if !blankOrComment(line) || len(t) > 0 && t[0] == '#' && !d.isComment(line) {
			break
		}
		trimmed = d.lineStart(n)
	}
	return start, trimmed, full, nil
}

// ownsLine reports whether only indentation (or the explicit-key indicator
// "? ") precedes a key at 1-based rune column col of line.
func ownsLine(line []byte, col int) bool {
	prefix := line
	for n := 0; n < col-1; n++ {
		if len(prefix) == 0 {
			return false
		}
		_, w := utf8.DecodeRune(prefix)
		prefix = prefix[w:]
	}
	prefix = line[:len(line)-len(prefix)]
	t := bytes.TrimLeft(prefix, " ")
	if len(t) == 0 {
		return true
	}
	return t[0] == '?' && len(bytes.Trim(t[1:], " ")) == 0
}

// indent is the indentation of the top-level mapping's keys.
func (d *doc) indent() int {
	if len(d.keys) == 0 {
		return 0
	}
	line := d.line(d.keys[0].key.Line)
	return len(line) - len(bytes.TrimLeft(line, " "))
}

// appendAt is where a new entry goes: at the end of the file, but before a
// trailing document end marker.
func (d *doc) appendAt() int {
	for n := len(d.starts); n >= 1; n-- {
		line := d.line(n)
		if !blankOrComment(line) {
			return len(d.src)
		}
		if bytes.HasPrefix(line, []byte("...")) {
			return d.lineStart(n)
		}
	}
	return len(d.src)
}

// edit returns the file with top-level entry name set to value (nil removes
// it); an absent entry is added at the end (or, failing that, before the
// first entry). Only the lines of that entry
// change. The result is re-parsed and checked — every other entry must read
// back the same, and the entry must read back as value — before it is
// returned; a result that fails the check is never returned.
func (d *doc) edit(name string, value *yaml.Node) ([]byte, error) {
	if d.root != nil && d.root.Style&yaml.FlowStyle != 0 {
		return nil, &FileError{Path: d.path, Line: d.root.Line, Msg: "cannot edit a top-level mapping written in flow style ({...})"}
	}
	if bytes.HasPrefix(d.src, []byte{0xfe, 0xff}) || bytes.HasPrefix(d.src, []byte{0xff, 0xfe}) {
		return nil, &FileError{Path: d.path, Line: 1, Msg: "cannot edit a UTF-16 file; save it as UTF-8"}
	}
	i, err := d.find(name)
	if err != nil {
		return nil, err
	}
	var text []byte
	if value != nil {
		if text, err = render(name, value, d.indent(), d.nl); err != nil {
			return nil, err
		}
	}
	if i < 0 {
		if value == nil {
			return bytes.Clone(d.src), nil
		}
		// At the end normally; at the first key when that fails, as it does
		// when the file ends in a block scalar without a final line break
		// (adding one would change that scalar).
		at := []int{d.appendAt()}
		if len(d.keys) > 0 {
			if first := d.keys[0].key; ownsLine(d.line(first.Line), first.Column) {
				at = append(at, d.lineStart(first.Line))
			}
		}
		var verr error
		for _, p := range at {
			out := make([]byte, 0, len(d.src)+len(text)+2)
			out = append(out, d.src[:p]...)
			if p > 0 && !endsWithBreak(d.src[:p]) {
				out = append(out, d.nl...)
			}
			out = append(out, text...)
			out = append(out, d.src[p:]...)
			if verr = d.verify(out, name, value); verr == nil {
				return out, nil
			}
		}
		return nil, verr
	}
	start, trimmed, full, err := d.span(i)
	if err != nil {
		return nil, err
	}
	ends := []int{trimmed}
	if full != trimmed {
		ends = append(ends, full)
	}
	var verr error
	for _, end := range ends {
		out := make([]byte, 0, len(d.src)+len(text))
		out = append(out, d.src[:start]...)
		out = append(out, text...)
		out = append(out, d.src[end:]...)
		if verr = d.verify(out, name, value); verr == nil {
			return out, nil
		}
	}
	return nil, verr
}

func endsWithBreak(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	for w := 1; w <= 3 && w <= len(b); w++ {
		if breakWidth(b[len(b)-w:]) == w {
			return true
		}
	}
	return false
}

// verify checks an edit: out parses, holds the same entries in the same order
// apart from name, every other entry reads back identically, and name reads
// back as want (or is gone when want is nil).
func (d *doc) verify(out []byte, name string, want *yaml.Node) error {
	fail := func(why string) error {
		return &FileError{Path: d.path, Msg: fmt.Sprintf("cannot rewrite %q without changing the rest of the file: %s", name, why)}
	}
	nd, err := parse(d.path, out)
	if err != nil {
		return fail(err.Error())
	}
	var before, after []string
	for _, e := range d.keys {
		if e.name != name {
			before = append(before, canon(e.key)+"="+canon(e.value))
		}
	}
	seen := 0
	for _, e := range nd.keys {
		if e.name != name {
			after = append(after, canon(e.key)+"="+canon(e.value))
			continue
		}
		seen++
		if want != nil && canon(e.value) != canon(want) {
			return fail("the new value does not read back")
		}
	}
	if want == nil && seen != 0 || want != nil && seen != 1 {
		return fail("the entry does not read back")
	}
	if strings.Join(before, "\x00") != strings.Join(after, "\x00") {
		return fail("another entry would read differently")
	}
	return nil
}

// canon is a comparable digest of a node's meaning: kinds, resolved tags,
// values, anchors, and what aliases point to; not its style, position or
// comments. Digests are memoised per node, so alias-heavy input costs linear
// time rather than expanding every alias.
func canon(n *yaml.Node) string {
	memo := map[*yaml.Node][]byte{}
	var walk func(n *yaml.Node, depth int) []byte
	walk = func(n *yaml.Node, depth int) []byte {
		if n == nil || depth > 1000 {
			return []byte("nil")
		}
		if sum, ok := memo[n]; ok {
			return sum // nil while n is being walked: an alias inside its own anchor
		}
		memo[n] = nil
		h := sha256.New()
		fmt.Fprintf(h, "%d\x00%q\x00%q\x00", n.Kind, n.Anchor, n.ShortTag())
		switch n.Kind {
		case yaml.AliasNode:
			fmt.Fprintf(h, "%q\x00", n.Value)
			h.Write(walk(n.Alias, depth+1))
		case yaml.ScalarNode:
			fmt.Fprintf(h, "%q", n.Value)
		default:
			for _, c := range n.Content {
				h.Write(walk(c, depth+1))
			}
		}
		sum := h.Sum(nil)
		memo[n] = sum
		return sum
	}
	return string(walk(n, 0))
}

// render is the text of the entry `name: value`, indented like the file's
// top level and with its line breaks.
func render(name string, value *yaml.Node, indent int, nl string) ([]byte, error) {
	m := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str(name), value}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	text := buf.String()
	if indent > 0 {
		pad := strings.Repeat(" ", indent)
		lines := strings.SplitAfter(text, "\n")
		for i, l := range lines {
			if l != "" {
				lines[i] = pad + l
			}
		}
		text = strings.Join(lines, "")
	}
	if nl != "\n" {
		text = strings.ReplaceAll(text, "\n", nl)
	}
	return []byte(text), nil
}

// yaml11 matches plain scalars that YAML 1.1 readers (PyYAML, which the
// Python spec-kitty CLI uses) take for something other than a string even
// though yaml.v3 writes them unquoted.
var yaml11 = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?i:y|n|yes|no|on|off|true|false|null|~|[-+]?[0-9][0-9_:.]*(e[-+]?[0-9]+)?|[-+]?\.[0-9_.]*(e[-+]?[0-9]+)?|[-+]?\.(inf|nan)|0[xob][0-9a-f_]+|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([t ].*)?|=|<<)$`)
})

// str is a string scalar written so that both YAML 1.1 and 1.2 readers get
// the string back: ambiguous or unprintable values are double-quoted (which
// escapes what needs it).
func str(v string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	if yaml11().MatchString(v) {
		n.Style = yaml.DoubleQuotedStyle
		return n
	}
	for _, r := range v {
		if r == '\t' || r == 0x85 || r == 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff || !unicode.IsPrint(r) {
			n.Style = yaml.DoubleQuotedStyle
			break
		}
	}
	return n
}

// plain copies a node tree without comments or positions, so a rewritten
// section carries no comment that also stays behind in the file.
func plain(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	c.Line, c.Column = 0, 0
	if len(n.Content) > 0 {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, k := range n.Content {
			c.Content[i] = plain(k)
		}
	}
	return &c
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a scalar"
	}
}
