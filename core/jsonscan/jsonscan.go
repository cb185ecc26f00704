// Package jsonscan is the module's one hand-written JSON scanner. It checks a
// document completely, with exactly encoding/json's acceptance (json.Valid)
// or that plus valid UTF-8 in every string (what Python's json.loads of bytes
// and the hosted API demand), and hands back the raw bytes of an object's
// top-level members or an array's elements without allocating.
//
// It exists for speed: decoding 25,000 event lines through encoding/json into
// maps costs more than the whole `spec-kitty status` budget, and the importer
// and the dev host's batch endpoint read every byte they are given. The
// readers of status.events.jsonl (core/event, and core/mission through it),
// meta.json (core/mission) and the dev host's batches (core/hosted/hostedtest)
// all scan with it. FuzzScan holds it to encoding/json.
package jsonscan

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// Rules choose what a scan accepts.
type Rules struct{ utf8 bool }

var (
	// Std accepts what json.Valid accepts: strings may hold invalid UTF-8
	// (encoding/json decodes it as U+FFFD).
	Std = Rules{}
	// UTF8 also demands valid UTF-8 in every string, as Python's json.loads
	// of bytes does. Outside strings JSON is ASCII, so a document it accepts
	// is valid UTF-8 as a whole.
	UTF8 = Rules{utf8: true}
)

// MaxDepth is encoding/json's nesting limit, so both agree on validity.
const MaxDepth = 10000

// SyntaxError is input that is not valid JSON (under the Rules used).
type SyntaxError struct {
	Offset int // byte offset in the input
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

var (
	// ErrNotObject is valid JSON that is not the object asked for.
	ErrNotObject = errors.New("not a JSON object")
	// ErrNotArray is valid JSON that is not the array asked for.
	ErrNotArray = errors.New("not a JSON array")
)

// Valid reports whether b holds exactly one JSON value, with optional
// surrounding whitespace.
func (r Rules) Valid(b []byte) bool {
	i := skipWS(b, 0)
	end, err := r.value(b, i, 0)
	return err == nil && skipWS(b, end) == len(b)
}

// Object checks that b holds exactly one JSON object (surrounding whitespace
// allowed) and calls member, when not nil, with the key and the raw value of
// each of its top-level members, in order. The key has its escapes decoded
// (then it is a fresh copy; otherwise it points into b); the value points
// into b. A repeated key is passed each time: the caller keeps the last, as
// encoding/json and Python do. Object returns a *SyntaxError, or ErrNotObject
// for valid JSON of another kind; member may have been called by then.
func (r Rules) Object(b []byte, member func(key, val []byte)) error {
	return r.whole(b, '{', member, nil)
}

// Array is Object for a JSON array: elem is called with the raw bytes of each
// element, in order. It returns a *SyntaxError, or ErrNotArray for valid JSON
// of another kind.
func (r Rules) Array(b []byte, elem func(val []byte)) error {
	return r.whole(b, '[', nil, elem)
}

// whole scans b as one object (open '{') or array (open '[').
func (r Rules) whole(b []byte, open byte, member func(key, val []byte), elem func(val []byte)) error {
	i := skipWS(b, 0)
	if i >= len(b) {
		return synErr(i, "empty input")
	}
	var end int
	var err error
	switch {
	case b[i] != open:
		end, err = r.value(b, i, 0)
		if err == nil && skipWS(b, end) == len(b) {
			if open == '{' {
				return ErrNotObject
			}
			return ErrNotArray
		}
	case open == '{':
		end, err = r.object(b, i, 1, member)
	default:
		end, err = r.array(b, i, 1, elem)
	}
	if err != nil {
		return err
	}
	if end = skipWS(b, end); end != len(b) {
		return synErr(end, "data after the JSON value")
	}
	return nil
}

// String returns the content of a raw JSON string value (one a scan handed
// back: valid JSON) with its escapes decoded, and true; nil and false when
// val is not a string. Invalid UTF-8
// (possible under Std) becomes U+FFFD as encoding/json decodes it. The
// result points into val unless something had to be decoded.
func String(val []byte) ([]byte, bool) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return nil, false
	}
	content := val[1 : len(val)-1]
	ascii := true
	for _, c := range content {
		if c == '\\' {
			return decode(val)
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if ascii || utf8.Valid(content) {
		return content, true
	}
	return decode(val)
}

// decode unquotes the JSON string val through encoding/json.
func decode(val []byte) ([]byte, bool) {
	var s string
	if json.Unmarshal(val, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

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

// str checks the string starting at b[i] == '"' and returns the index after
// its closing quote and whether it holds escapes. Invalid UTF-8 is an error
// when checkUTF8 is set.
func str(b []byte, i int, checkUTF8 bool) (int, bool, error) {
	start := i
	i++
	escaped := false
	for {
		// Eight bytes at a time, straight to the first that needs attention.
		for {
			if i+8 > len(b) {
				for i < len(b) && plain[b[i]] {
					i++
				}
				if i >= len(b) {
					return 0, false, synErr(start, "unterminated string")
				}
				break
			}
			if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
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
			if checkUTF8 && r == utf8.RuneError && size == 1 {
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

// special marks (with its top bit) every byte of w (little endian) that is a
// control character, '"', '\\' or non-ASCII, and maybe some above the first
// such byte. Each term is the classic "has a zero/smaller byte" test: a
// borrow can only make it misfire above a byte that truly matches, so the
// lowest mark is exact: the first byte that needs attention.
func special(w uint64) uint64 {
	ctl := (w - lsb*0x20) &^ w
	q := w ^ (lsb * '"')
	bs := w ^ (lsb * '\\')
	quote := (q - lsb) &^ q
	back := (bs - lsb) &^ bs
	return (ctl | quote | back | w) & msb
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// value checks the value starting at b[i] (no leading whitespace), nested
// depth levels deep, and returns the index after it.
func (r Rules) value(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, synErr(i, "unexpected end of input")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := str(b, i, r.utf8)
		return end, err
	case c == '{':
		return r.object(b, i, depth+1, nil)
	case c == '[':
		return r.array(b, i, depth+1, nil)
	case c == '-' || isDigit(c):
		return number(b, i)
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

func number(b []byte, i int) (int, error) {
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

// array checks the array starting at b[i] == '[' (at nesting depth) and
// calls elem, when not nil, with each element.
func (r Rules) array(b []byte, i, depth int, elem func(val []byte)) (int, error) {
	i, done, err := open(b, i, depth, ']')
	for !done && err == nil {
		start := i
		if i, err = r.value(b, i, depth); err != nil {
			return 0, err
		}
		if elem != nil {
			elem(b[start:i])
		}
		i, done, err = next(b, i, ']', "unterminated array", "expected , or ] in array")
	}
	return i, err
}

// object checks the object starting at b[i] == '{' (at nesting depth) and
// calls member, when not nil, with each member (see Object).
func (r Rules) object(b []byte, i, depth int, member func(key, val []byte)) (int, error) {
	i, done, err := open(b, i, depth, '}')
	for !done && err == nil {
		if i >= len(b) || b[i] != '"' {
			return 0, synErr(i, "expected string key")
		}
		kstart := i
		var kend int
		var kesc bool
		if kend, kesc, err = str(b, i, r.utf8); err != nil {
			return 0, err
		}
		i = skipWS(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, synErr(i, "expected : after key")
		}
		i = skipWS(b, i+1)
		vstart := i
		if i, err = r.value(b, i, depth); err != nil {
			return 0, err
		}
		if member != nil {
			key := b[kstart+1 : kend-1]
			if kesc || !r.utf8 && !utf8.Valid(key) {
				key, _ = decode(b[kstart:kend])
			}
			member(key, b[vstart:i])
		}
		i, done, err = next(b, i, '}', "unterminated object", "expected , or } in object")
	}
	return i, err
}

// open enters the array or object opening at b[i], at nesting depth, and
// returns the index of its first value, or the index after it and done
// when it is empty (closer follows).
func open(b []byte, i, depth int, closer byte) (int, bool, error) {
	if depth > MaxDepth {
		return 0, false, synErr(i, "nesting too deep")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, true, nil
	}
	return i, false, nil
}

// next reads what follows a value at b[i] inside an array or object: a comma
// (it returns the index of the next value) or closer (the index after it,
// and done).
func next(b []byte, i int, closer byte, unterminated, expected string) (int, bool, error) {
	i = skipWS(b, i)
	switch {
	case i >= len(b):
		return 0, false, synErr(i, unterminated)
	case b[i] == closer:
		return i + 1, true, nil
	case b[i] != ',':
		return 0, false, synErr(i, expected)
	}
	return skipWS(b, i+1), false, nil
}
