package mission

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// A small validating JSON scanner. Reading 25,000 event lines through
// encoding/json into maps costs more than the whole `spec-kitty status`
// budget; this walks one object, validates it completely (same acceptance as
// json.Valid, plus UTF-8 validity, which Python's reader also demands) and
// hands back the raw bytes of each top-level member without allocating.

// maxDepth mirrors encoding/json's nesting limit so both agree on validity.
const maxDepth = 10000

// SyntaxError is a line that is not valid JSON.
type SyntaxError struct {
	Offset int // byte offset in the line
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// ErrNotObject is a line holding valid JSON that is not an object.
var ErrNotObject = errors.New("not a JSON object")

func synErr(i int, msg string) error { return &SyntaxError{Offset: i, Msg: msg} }

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// plain marks bytes that need no attention inside a string.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString checks the string starting at b[i] == '"' and returns the index
// after its closing quote and whether it holds escapes.
func scanString(b []byte, i int) (int, bool, error) {
	start := i
	i++
	escaped := false
	for {
		// Eight bytes at a time while none of them needs attention.
		for i+8 <= len(b) && !special(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return 0, false, synErr(start, "unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return 0, false, synErr(i, "unterminated escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, false, synErr(i, "short \\u escape")
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return 0, false, synErr(i, "invalid \\u escape")
					}
				}
				i += 6
			default:
				return 0, false, synErr(i, "invalid escape")
			}
		case c < 0x20:
			return 0, false, synErr(i, "control character in string")
		default: // >= 0x80
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, synErr(i, "invalid UTF-8")
			}
			i += size
		}
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special reports whether any byte of w is a control character, '"', '\\'
// or non-ASCII. Each term is the classic "has a zero/smaller byte" test: it
// can only misfire above a byte that truly matches, so "any" is exact.
func special(w uint64) bool {
	ctl := (w - lsb*0x20) &^ w
	q := w ^ (lsb * '"')
	bs := w ^ (lsb * '\\')
	quote := (q - lsb) &^ q
	back := (bs - lsb) &^ bs
	return (ctl|quote|back|w)&msb != 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipValue checks the value starting at b[i] (no leading whitespace) and
// returns the index after it.
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, synErr(i, "unexpected end of input")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := scanString(b, i)
		return end, err
	case c == '{':
		return skipObject(b, i, depth+1, nil)
	case c == '[':
		if depth+1 > maxDepth {
			return 0, synErr(i, "nesting too deep")
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = skipValue(b, i, depth+1); err != nil {
				return 0, err
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return 0, synErr(i, "unterminated array")
			}
			if b[i] == ']' {
				return i + 1, nil
			}
			if b[i] != ',' {
				return 0, synErr(i, "expected , or ] in array")
			}
			i = skipWS(b, i+1)
		}
	case c == '-' || isDigit(c):
		return skipNumber(b, i)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	default:
		return 0, synErr(i, fmt.Sprintf("unexpected character %q", c))
	}
}

func literal(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, synErr(i, "invalid literal")
	}
	return i + len(lit), nil
}

func skipNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return 0, synErr(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, synErr(start, "invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0, synErr(start, "invalid number")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

// skipObject checks the object starting at b[i] == '{'. When member is not
// nil it is called with the raw key (without quotes; escaped tells whether it
// holds escapes) and the raw value of every member, in order.
func skipObject(b []byte, i, depth int, member func(key []byte, escaped bool, val []byte)) (int, error) {
	if depth > maxDepth {
		return 0, synErr(i, "nesting too deep")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, synErr(i, "expected string key")
		}
		kend, kesc, err := scanString(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i+1 : kend-1]
		i = skipWS(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, synErr(i, "expected : after key")
		}
		i = skipWS(b, i+1)
		vstart := i
		if i, err = skipValue(b, i, depth); err != nil {
			return 0, err
		}
		if member != nil {
			member(key, kesc, b[vstart:i])
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, synErr(i, "unterminated object")
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		if b[i] != ',' {
			return 0, synErr(i, "expected , or } in object")
		}
		i = skipWS(b, i+1)
	}
}

// walkObject validates that b (surrounding whitespace allowed) is exactly one
// JSON object and calls member for each of its top-level members.
func walkObject(b []byte, member func(key []byte, escaped bool, val []byte)) error {
	i := skipWS(b, 0)
	if i >= len(b) {
		return synErr(i, "empty input")
	}
	var end int
	var err error
	if b[i] == '{' {
		end, err = skipObject(b, i, 1, member)
	} else {
		end, err = skipValue(b, i, 0)
		if err == nil && skipWS(b, end) == len(b) {
			return ErrNotObject
		}
	}
	if err != nil {
		return err
	}
	if end = skipWS(b, end); end != len(b) {
		return synErr(end, "data after the JSON value")
	}
	return nil
}

// keyIs reports whether a raw key equals name, decoding escapes if needed.
func keyIs(key []byte, escaped bool, name string) bool {
	if !escaped {
		return string(key) == name
	}
	s, ok := unescape(key)
	return ok && s == name
}

// unescape decodes the content of a JSON string holding escapes.
func unescape(content []byte) (string, bool) {
	quoted := make([]byte, 0, len(content)+2)
	quoted = append(quoted, '"')
	quoted = append(quoted, content...)
	quoted = append(quoted, '"')
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return "", false
	}
	return s, true
}

// stringValue returns the content of a raw JSON string value (escapes
// decoded) and true, or nil and false when val is not a string.
func stringValue(val []byte) ([]byte, bool) {
	if len(val) < 2 || val[0] != '"' {
		return nil, false
	}
	content := val[1 : len(val)-1]
	for _, c := range content {
		if c == '\\' {
			s, ok := unescape(content)
			if !ok {
				return nil, false
			}
			return []byte(s), true
		}
	}
	return content, true
}

func isNull(val []byte) bool { return string(val) == "null" }
