package corpus

import (
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// obj and arr are JSON values; obj keys are written sorted, as Python's
// json.dumps(sort_keys=True) writes them.
type (
	obj map[string]any
	arr []any
)

// encoder writes JSON with Python's separators (", " and ": "), either with
// non-ASCII text as \u escapes (ensure_ascii, Python's default) or as UTF-8.
type encoder struct {
	buf    []byte
	ascii  bool
	indent bool // two-space indentation, one key a line (meta.json)
	depth  int
	keys   []string
}

func (e *encoder) reset(ascii bool) {
	e.buf = e.buf[:0]
	e.ascii = ascii
	e.depth = 0
}

func (e *encoder) newline() {
	e.buf = append(e.buf, '\n')
	for range e.depth {
		e.buf = append(e.buf, "  "...)
	}
}

func (e *encoder) value(v any) {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case string:
		e.str(v)
	case obj:
		if len(v) == 0 {
			e.buf = append(e.buf, "{}"...)
			return
		}
		start := len(e.keys)
		for k := range v {
			e.keys = append(e.keys, k)
		}
		keys := e.keys[start:]
		slices.Sort(keys)
		e.buf = append(e.buf, '{')
		e.depth++
		for i, k := range keys {
			if i > 0 {
				e.buf = append(e.buf, ',')
				if !e.indent {
					e.buf = append(e.buf, ' ')
				}
			}
			if e.indent {
				e.newline()
			}
			e.str(k)
			e.buf = append(e.buf, ": "...)
			e.value(v[k])
		}
		e.depth--
		if e.indent {
			e.newline()
		}
		e.buf = append(e.buf, '}')
		e.keys = e.keys[:start]
	case arr:
		e.buf = append(e.buf, '[')
		for i, x := range v {
			if i > 0 {
				e.buf = append(e.buf, ", "...)
			}
			e.value(x)
		}
		e.buf = append(e.buf, ']')
	default:
		panic(fmt.Sprintf("corpus: cannot encode %T", v))
	}
}

const hexDigits = "0123456789abcdef"

func (e *encoder) str(s string) {
	e.buf = append(e.buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				e.buf = append(e.buf, '\\', c)
			case c == '\n':
				e.buf = append(e.buf, '\\', 'n')
			case c == '\t':
				e.buf = append(e.buf, '\\', 't')
			case c < 0x20 || c == 0x7f && e.ascii:
				e.buf = append(e.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			default:
				e.buf = append(e.buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !e.ascii {
			e.buf = append(e.buf, s[i:i+size]...)
			i += size
			continue
		}
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			e.u4(hi)
			e.u4(lo)
		} else {
			e.u4(r)
		}
		i += size
	}
	e.buf = append(e.buf, '"')
}

func (e *encoder) u4(r rune) {
	e.buf = append(e.buf, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
}

// crockford is the ULID alphabet.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ulidString renders 128 bits (hi: 48-bit time and 16 random bits, lo: 64
// random bits) as a 26-character ULID.
func ulidString(hi, lo uint64) string {
	var out [26]byte
	// 130 bits in 26 five-bit groups; the top two bits are zero.
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
