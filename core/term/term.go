// Package term owns making untrusted text safe to print on a terminal: text
// from a repository (titles, actors, lanes, mission names), from the user's
// environment or config (host URLs) and from a host (labels, reasons) can
// carry escape sequences that clear the screen, set the window title or
// forge output lines. Human output passes such text through Sanitize; JSON
// output stays exact and never goes through here. It imports only the
// standard library and never writes anything itself.
package term

import (
	"strings"
	"unicode/utf8"
)

// Replacement stands in for every character Sanitize removes; plain ASCII,
// as CONTRACTS §3 asks of output.
const Replacement = '?'

// Sanitize returns s with every C0 control character (newline and tab
// included), DEL, C1 control character (U+0080–U+009F) and invalid UTF-8
// byte replaced by Replacement. Text without any of them is returned as is.
func Sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1, r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
			b.WriteRune(Replacement)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Lines is Sanitize for a message of several lines: the line breaks stay,
// everything else is sanitized.
func Lines(s string) string {
	if !strings.Contains(s, "\n") {
		return Sanitize(s)
	}
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = Sanitize(p)
	}
	return strings.Join(parts, "\n")
}
