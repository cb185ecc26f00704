package term

import "testing"

func TestSanitize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Mission 7: done", "Mission 7: done"},
		{"unicode stays", "José → done 🎉", "José → done 🎉"},
		{"clear screen", "\x1b[2J\x1b[Htitle", "?[2J?[Htitle"},
		{"window title", "\x1b]0;pwned\x07x", "?]0;pwned?x"},
		{"forged line", "a\nspec-kitty: ok\r", "a?spec-kitty: ok?"},
		{"tab and DEL", "a\tb\x7f", "a?b?"},
		{"C1 CSI", "a\u009b2Jb\u0085", "a?2Jb?"},
		{"invalid utf-8", "a\xff\xc2b", "a??b"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLinesKeepsLineBreaks(t *testing.T) {
	if got := Lines("one\x1b[1m\n\ntwo\r"); got != "one?[1m\n\ntwo?" {
		t.Errorf("Lines = %q", got)
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add("a\x1b[2Jb\u009b\xff")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range Sanitize(s) {
			if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f {
				t.Fatalf("Sanitize(%q) kept %U", s, r)
			}
		}
	})
}
