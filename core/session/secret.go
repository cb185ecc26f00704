package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
)

// redacted is what every printing path shows instead of a token.
const redacted = "[redacted]"

// Secret holds a token. Every way of printing it — fmt verbs, slog, JSON,
// even as a map key — shows "[redacted]"; only Reveal returns the value, and
// only code that puts it on the wire or into storage may call it. It is a
// struct, not a string type, so no conversion can read it by accident.
// Secrets compare with ==.
type Secret struct{ v string }

// NewSecret wraps a token.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the token itself.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether no token is held.
func (s Secret) IsZero() bool { return s.v == "" }

// String redacts.
func (s Secret) String() string { return redacted }

// GoString redacts (%#v).
func (s Secret) GoString() string { return redacted }

// Format redacts for every verb, so %x or %d cannot leak the bytes either.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue redacts in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON redacts, so a struct holding a Secret can be logged or returned
// by an API without leaking it. Storage encodes tokens explicitly via Reveal.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText redacts (map keys, encoders that prefer text).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// UnmarshalJSON reads a JSON string (null leaves the zero Secret). The error
// never quotes the input.
func (s *Secret) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = Secret{}
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return errors.New("a token must be a JSON string")
	}
	*s = Secret{v}
	return nil
}
