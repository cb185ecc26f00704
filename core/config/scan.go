package config

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// The line editor works on statements: a table header, a key/value pair (whose
// value may span lines: multi-line strings, arrays, inline tables) or a line
// that is blank or only a comment. The scanner below finds where each one
// starts and ends and where a value sits on its line. It is not a validator:
// callers run BurntSushi first and only scan text that parsed, so every error
// here means "syntax the editor does not understand" and the edit is refused.

type stmtKind uint8

const (
	stmtOther      stmtKind = iota // blank line or comment
	stmtTable                      // [a.b]
	stmtArrayTable                 // [[a.b]]
	stmtKeyValue                   // a.b = value
)

type stmt struct {
	kind stmtKind
	// start is the offset of the statement's first line, end the offset just
	// past its final newline (or len(text) when the file ends without one).
	start, end int
	// path is the header's table path or the key/value's key path, with
	// quoted keys decoded.
	path []string
	// valStart and valEnd delimit the value of a key/value.
	valStart, valEnd int
}

type scanner struct {
	s   string
	pos int
}

type scanError struct {
	offset int
	msg    string
}

func (e *scanError) Error() string { return e.msg }

// scan splits text (without a byte order mark) into statements.
func scan(text string) ([]stmt, error) {
	sc := &scanner{s: text}
	var out []stmt
	for sc.pos < len(sc.s) {
		st, err := sc.statement()
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (sc *scanner) errorf(format string, a ...any) error {
	return &scanError{offset: sc.pos, msg: fmt.Sprintf(format, a...)}
}

func (sc *scanner) eof() bool { return sc.pos >= len(sc.s) }

func (sc *scanner) peek() byte {
	if sc.eof() {
		return 0
	}
	return sc.s[sc.pos]
}

func (sc *scanner) atLineEnd() bool {
	return sc.eof() || sc.s[sc.pos] == '\n' || sc.s[sc.pos] == '\r'
}

func (sc *scanner) skipSpace() {
	for !sc.eof() && (sc.s[sc.pos] == ' ' || sc.s[sc.pos] == '\t') {
		sc.pos++
	}
}

// skipComment moves to the end of the line (before its newline).
func (sc *scanner) skipComment() {
	for !sc.atLineEnd() {
		sc.pos++
	}
}

// newline consumes "\n" or "\r\n".
func (sc *scanner) newline() bool {
	switch {
	case strings.HasPrefix(sc.s[sc.pos:], "\r\n"):
		sc.pos += 2
	case strings.HasPrefix(sc.s[sc.pos:], "\n"):
		sc.pos++
	default:
		return false
	}
	return true
}

func (sc *scanner) statement() (stmt, error) {
	st := stmt{start: sc.pos}
	sc.skipSpace()
	switch c := sc.peek(); {
	case sc.atLineEnd() || c == '#':
		st.kind = stmtOther
	case c == '[':
		sc.pos++
		st.kind = stmtTable
		if sc.peek() == '[' {
			sc.pos++
			st.kind = stmtArrayTable
		}
		path, err := sc.key()
		if err != nil {
			return st, err
		}
		st.path = path
		sc.skipSpace()
		closing := "]"
		if st.kind == stmtArrayTable {
			closing = "]]"
		}
		if !strings.HasPrefix(sc.s[sc.pos:], closing) {
			return st, sc.errorf("expected %q after table name", closing)
		}
		sc.pos += len(closing)
	default:
		st.kind = stmtKeyValue
		path, err := sc.key()
		if err != nil {
			return st, err
		}
		st.path = path
		sc.skipSpace()
		if sc.peek() != '=' {
			return st, sc.errorf("expected '=' after key")
		}
		sc.pos++
		sc.skipSpace()
		st.valStart = sc.pos
		if err := sc.value(); err != nil {
			return st, err
		}
		st.valEnd = sc.pos
	}
	sc.skipSpace()
	if sc.peek() == '#' {
		sc.skipComment()
	}
	if !sc.eof() && !sc.newline() {
		return st, sc.errorf("expected end of line")
	}
	st.end = sc.pos
	return st, nil
}

// key reads a possibly dotted key and returns its decoded parts.
func (sc *scanner) key() ([]string, error) {
	var path []string
	for {
		sc.skipSpace()
		part, err := sc.simpleKey()
		if err != nil {
			return nil, err
		}
		path = append(path, part)
		sc.skipSpace()
		if sc.peek() != '.' {
			return path, nil
		}
		sc.pos++
	}
}

func (sc *scanner) simpleKey() (string, error) {
	start := sc.pos
	switch sc.peek() {
	case '"':
		if err := sc.basicString(); err != nil {
			return "", err
		}
		return decodeBasicString(sc.s[start:sc.pos])
	case '\'':
		if err := sc.literalString(); err != nil {
			return "", err
		}
		return sc.s[start+1 : sc.pos-1], nil
	}
	for !sc.eof() && isBareKeyByte(sc.s[sc.pos]) {
		sc.pos++
	}
	if sc.pos == start {
		return "", sc.errorf("expected a key")
	}
	return sc.s[start:sc.pos], nil
}

func isBareKeyByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// decodeBasicString decodes a quoted key with the real TOML decoder, so escape
// handling cannot drift from BurntSushi's.
func decodeBasicString(quoted string) (string, error) {
	var m map[string]string
	if _, err := toml.Decode("k = "+quoted, &m); err != nil {
		return "", fmt.Errorf("quoted key %s: %w", quoted, err)
	}
	return m["k"], nil
}

func (sc *scanner) value() error {
	switch sc.peek() {
	case '"':
		if strings.HasPrefix(sc.s[sc.pos:], `"""`) {
			return sc.multiLineString(`"""`, true)
		}
		return sc.basicString()
	case '\'':
		if strings.HasPrefix(sc.s[sc.pos:], `'''`) {
			return sc.multiLineString(`'''`, false)
		}
		return sc.literalString()
	case '[', '{':
		return sc.compound()
	}
	// A scalar (number, boolean, date-time; a date-time may hold one space)
	// runs to a comment or the end of the line.
	start := sc.pos
	for !sc.atLineEnd() && sc.s[sc.pos] != '#' {
		sc.pos++
	}
	for sc.pos > start && (sc.s[sc.pos-1] == ' ' || sc.s[sc.pos-1] == '\t') {
		sc.pos--
	}
	if sc.pos == start {
		return sc.errorf("expected a value")
	}
	return nil
}

func (sc *scanner) basicString() error {
	sc.pos++ // opening quote
	for !sc.atLineEnd() {
		switch sc.s[sc.pos] {
		case '\\':
			sc.pos += 2
			continue
		case '"':
			sc.pos++
			return nil
		}
		sc.pos++
	}
	return sc.errorf("unterminated string")
}

func (sc *scanner) literalString() error {
	sc.pos++ // opening quote
	for !sc.atLineEnd() {
		if sc.s[sc.pos] == '\'' {
			sc.pos++
			return nil
		}
		sc.pos++
	}
	return sc.errorf("unterminated literal string")
}

// multiLineString reads a string delimited by three quotes (delim). Up to two
// quotes may directly precede the closing delimiter as part of the content.
func (sc *scanner) multiLineString(delim string, escapes bool) error {
	sc.pos += len(delim)
	for !sc.eof() {
		if escapes && sc.s[sc.pos] == '\\' {
			sc.pos += 2
			continue
		}
		if strings.HasPrefix(sc.s[sc.pos:], delim) {
			sc.pos += len(delim)
			for extra := 0; extra < 2 && sc.peek() == delim[0]; extra++ {
				sc.pos++
			}
			return nil
		}
		sc.pos++
	}
	return sc.errorf("unterminated multi-line string")
}

// compound reads an array or inline table, which may span lines and hold
// comments (TOML 1.1 allows both in inline tables too).
func (sc *scanner) compound() error {
	depth := 0
	for !sc.eof() {
		switch c := sc.s[sc.pos]; c {
		case '[', '{':
			depth++
			sc.pos++
		case ']', '}':
			depth--
			sc.pos++
			if depth == 0 {
				return nil
			}
		case '"', '\'':
			if err := sc.value(); err != nil {
				return err
			}
		case '#':
			sc.skipComment()
		default:
			sc.pos++
		}
	}
	return sc.errorf("unterminated array or inline table")
}

// lineCol converts an offset of text to a 1-based line and byte column.
func lineCol(text string, offset int) (line, col int) {
	offset = min(max(offset, 0), len(text))
	before := text[:offset]
	line = strings.Count(before, "\n") + 1
	col = offset - (strings.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// splitBOM separates the byte order marks BurntSushi skips from the text.
func splitBOM(text string) (bom, body string) {
	for _, m := range []string{"\xef\xbb\xbf", "\xff\xfe", "\xfe\xff"} {
		if strings.HasPrefix(text, m) {
			return m, text[len(m):]
		}
	}
	return "", text
}
