package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/corpus"
)

func TestValidMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"object", `{"a":[1,-0.5e+3,true,false,null,"x\u00e9\n"],"b":{}}`},
		{"nesting at the limit", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)},
		{"nesting past the limit", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)},
		{"objects past the limit", strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth) + "x"},
		{"leading zero", "01"},
		{"bad escape", `"\x"`},
		{"short unicode escape", `"\u12"`},
		{"raw control character", "\"a\tb\""},
		{"invalid UTF-8", "\"\xff\""},
		{"trailing garbage", "{} x"},
		{"trailing comma", "[1,]"},
		{"missing colon", `{"a" 1}`},
		{"bare minus", "-"},
		{"exponent without digits", "1e+"},
		{"fraction without digits", "1."},
		{"truncated literal", "tru"},
		{"only space", " \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.in)
			if got, want := Std.Valid(b), json.Valid(b); got != want {
				t.Errorf("Std.Valid = %v, json.Valid = %v", got, want)
			}
			if got, want := UTF8.Valid(b), json.Valid(b) && utf8.Valid(b); got != want {
				t.Errorf("UTF8.Valid = %v, want %v", got, want)
			}
		})
	}
}

// TestObjectErrors pins the messages: `spec-kitty status` shows them for
// malformed event lines and meta.json files.
func TestObjectErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"event_id": "E1", "at": "2026`, "invalid JSON at byte 25: unterminated string"},
		{"oops", "invalid JSON at byte 0: unexpected character 'o'"},
		{"{\"a\": \"x\ty\"}", "invalid JSON at byte 8: control character in string"},
		{"{\"a\": \"\xff\"}", "invalid JSON at byte 7: invalid UTF-8"},
		{`{"a": 1} {}`, "invalid JSON at byte 9: data after the JSON value"},
		{`{"a" 1}`, "invalid JSON at byte 5: expected : after key"},
		{`{1: 2}`, "invalid JSON at byte 1: expected string key"},
		{`{"a": 1 "b": 2}`, "invalid JSON at byte 8: expected , or } in object"},
		{`{"a": [1 2]}`, "invalid JSON at byte 9: expected , or ] in array"},
		{`{"a": [1,`, "invalid JSON at byte 9: unexpected end of input"},
		{`{"a": -}`, "invalid JSON at byte 6: invalid number"},
		{`{"a": nul}`, "invalid JSON at byte 6: invalid literal"},
		{`{"a": "\q"}`, "invalid JSON at byte 7: invalid escape"},
		{`{"a": "\u12"}`, "invalid JSON at byte 7: invalid \\u escape"},
		{"  ", "invalid JSON at byte 2: empty input"},
		{`{"a": ` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, "invalid JSON at byte 10005: nesting too deep"},
		{" [1] ", "not a JSON object"},
	}
	for _, tt := range tests {
		err := UTF8.Object([]byte(tt.in), nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Object(%.40q) = %v, want %q", tt.in, err, tt.want)
		}
	}
	var se *SyntaxError
	if err := UTF8.Object([]byte(`{"a":`), nil); !errors.As(err, &se) || se.Offset != 5 {
		t.Errorf("err = %v, want a *SyntaxError at byte 5", err)
	}
	if err := Std.Array([]byte(`{}`), nil); err != ErrNotArray {
		t.Errorf("Array of an object = %v, want ErrNotArray", err)
	}
}

func TestObjectMembers(t *testing.T) {
	in := []byte(` {"a": 1, "b\u0061": {"c": [2]}, "é": "x\"y", "a": null} `)
	var got [][2]string
	if err := UTF8.Object(in, func(k, v []byte) { got = append(got, [2]string{string(k), string(v)}) }); err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{"a", "1"}, {"ba", `{"c": [2]}`}, {"é", `"x\"y"`}, {"a", "null"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	s, ok := String([]byte(`"x\"y"`))
	if !ok || string(s) != `x"y` {
		t.Errorf("String = %q, %v", s, ok)
	}
	if _, ok := String([]byte(`12`)); ok {
		t.Error("String of a number is ok")
	}
}

// TestSpecialMatchesBytewise: special's lowest mark is the first byte that
// needs attention in a string, and it marks none when no byte does.
func TestSpecialMatchesBytewise(t *testing.T) {
	first := func(w uint64) int { // index of the first special byte, or 8
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], w)
		for i, c := range b {
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return i
			}
		}
		return 8
	}
	rng := rand.New(rand.NewPCG(1, 2))
	interesting := []byte{0, 0x1f, 0x20, 0x21, '"', '#', '[', '\\', ']', 0x7e, 0x7f, 0x80, 0xff, 'a'}
	for i := range 200000 {
		var b [8]byte
		for j := range b {
			if i%2 == 0 {
				b[j] = interesting[rng.IntN(len(interesting))]
			} else {
				b[j] = byte(rng.IntN(256))
			}
		}
		w := binary.LittleEndian.Uint64(b[:])
		got := 8
		if m := special(w); m != 0 {
			got = bits.TrailingZeros64(m) >> 3
		}
		if want := first(w); got != want {
			t.Fatalf("special(% x) marks byte %d first, want %d", b, got, want)
		}
	}
}

// FuzzScan holds the scanner to encoding/json on any input: the same
// verdict as json.Valid (and utf8.Valid under UTF8), the same top-level
// members as decoding into map[string]json.RawMessage (the last of repeated
// keys), the same elements as decoding into []json.RawMessage, and the same
// string values. The seeds are every line shape of a generated corpus
// (core/corpus) and of its malformed lines.
func FuzzScan(f *testing.F) {
	for _, line := range corpusShapes(f) {
		f.Add(line)
	}
	f.Add([]byte(`{"event_id": "a", "x": {"to_lane": "no"}, "to_lane": "yes", "event_id": "b"}`))
	f.Add([]byte("[1, \"\xff\", {\"\\u00e9\": [true]}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		valid := json.Valid(b)
		if got := Std.Valid(b); got != valid {
			t.Fatalf("Std.Valid(%q) = %v, json.Valid %v", b, got, valid)
		}
		if got, want := UTF8.Valid(b), valid && utf8.Valid(b); got != want {
			t.Fatalf("UTF8.Valid(%q) = %v, want %v", b, got, want)
		}
		for _, r := range []Rules{Std, UTF8} {
			ok := valid && (r == Std || utf8.Valid(b))
			members := map[string]json.RawMessage{}
			err := r.Object(b, func(k, v []byte) {
				members[string(k)] = v
				checkString(t, v)
			})
			check(t, "Object", b, ok, members, err, ErrNotObject)
			elems := []json.RawMessage{}
			err = r.Array(b, func(v []byte) { elems = append(elems, v) })
			check(t, "Array", b, ok, elems, err, ErrNotArray)
		}
	})
}

// check compares the outcome of a scan of b (got, err) with encoding/json
// decoding b into a T; ok tells whether b is valid under the rules used.
func check[T map[string]json.RawMessage | []json.RawMessage](t *testing.T, what string, b []byte, ok bool, got T, err, notKind error) {
	t.Helper()
	var want T
	isKind := ok && json.Unmarshal(b, &want) == nil && want != nil
	var se *SyntaxError
	switch {
	case isKind && err != nil:
		t.Fatalf("%s(%q) = %v, encoding/json decodes it", what, b, err)
	case isKind:
		if !rawEqual(want, got) {
			t.Fatalf("%s(%q) (-encoding/json +scanner):\n%s", what, b, cmp.Diff(want, got))
		}
	case ok && err != notKind:
		t.Fatalf("%s(%q) = %v, want %v", what, b, err, notKind)
	case !ok && !errors.As(err, &se):
		t.Fatalf("%s(%q) = %v, want a *SyntaxError", what, b, err)
	}
}

// rawEqual compares two decodings without reflection (the fuzzer runs it
// on every input).
func rawEqual[T map[string]json.RawMessage | []json.RawMessage](a, b T) bool {
	eq := func(x, y json.RawMessage) bool { return bytes.Equal(x, y) }
	switch a := any(a).(type) {
	case map[string]json.RawMessage:
		return maps.EqualFunc(a, any(b).(map[string]json.RawMessage), eq)
	case []json.RawMessage:
		return slices.EqualFunc(a, any(b).([]json.RawMessage), eq)
	}
	return false
}

// checkString compares String with encoding/json on a valid JSON value.
func checkString(t *testing.T, v []byte) {
	t.Helper()
	var want string
	isString := json.Unmarshal(v, &want) == nil && v[0] == '"'
	got, ok := String(v)
	if ok != isString || ok && string(got) != want {
		t.Fatalf("String(%q) = %q, %v; encoding/json %q, %v", v, got, ok, want, isString)
	}
}

// corpusShapes returns one line of each shape the small generated corpus
// holds: the first line of each set of top-level keys, and the first
// malformed lines.
func corpusShapes(f *testing.F) [][]byte {
	dir := f.TempDir()
	if _, err := corpus.Write(dir, corpus.Small); err != nil {
		f.Fatal(err)
	}
	seen := map[string]bool{}
	var out [][]byte
	malformed := 0
	err := filepath.WalkDir(filepath.Join(dir, "kitty-specs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "status.events.jsonl" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for line := range bytes.Lines(data) {
			var m map[string]json.RawMessage
			if json.Unmarshal(line, &m) != nil {
				if malformed < 20 {
					malformed++
					out = append(out, line)
				}
				continue
			}
			keys := slices.Sorted(maps.Keys(m))
			if shape := strings.Join(keys, ","); !seen[shape] {
				seen[shape] = true
				out = append(out, line)
			}
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	return out
}
