package jsonvalid

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"object", `{"a":[1,-0.5e+3,true,false,null,"x\u00e9\n"],"b":{}}`},
		{"nesting at the limit", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)},
		{"nesting past the limit", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)},
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
			if got, want := Valid([]byte(tt.in)), json.Valid([]byte(tt.in)); got != want {
				t.Errorf("Valid = %v, json.Valid = %v", got, want)
			}
		})
	}
}

// FuzzValidJSON holds Valid to json.Valid.
func FuzzValidJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}
