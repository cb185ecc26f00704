package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
)

// maxTokenInput bounds what `auth login --with-token` reads.
const maxTokenInput = 64 << 10

// TokenInput is a parsed `--with-token` document.
type TokenInput struct {
	Token                hosted.Token
	AccessTokenExpiresAt time.Time
}

type tokenInputWire struct {
	AccessToken           *string          `json:"access_token"`
	RefreshToken          *string          `json:"refresh_token"`
	ExpiresIn             *json.Number     `json:"expires_in"`
	AccessTokenExpiresAt  *string          `json:"access_token_expires_at"`
	RefreshTokenExpiresAt *string          `json:"refresh_token_expires_at"`
	SessionID             *string          `json:"session_id"`
	TokenType             *json.RawMessage `json:"token_type"`
}

// ParseTokenInput reads {access_token, refresh_token, expires_in or
// access_token_expires_at, session_id?, refresh_token_expires_at?}. Errors
// name the field and never quote a value.
func ParseTokenInput(data []byte, now time.Time) (TokenInput, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return TokenInput{}, errors.New("no input; expected a JSON object with access_token and refresh_token")
	}
	if len(data) > maxTokenInput {
		return TokenInput{}, fmt.Errorf("input larger than %d KiB", maxTokenInput>>10)
	}
	var w tokenInputWire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return TokenInput{}, errors.New("expected a JSON object")
			}
			return TokenInput{}, fmt.Errorf("field %q has the wrong type", te.Field)
		}
		return TokenInput{}, errors.New("not valid JSON")
	}
	if dec.More() {
		return TokenInput{}, errors.New("more than one JSON value")
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	var in TokenInput
	if str(w.AccessToken) == "" {
		return TokenInput{}, errors.New("missing field \"access_token\"")
	}
	if str(w.RefreshToken) == "" {
		return TokenInput{}, errors.New("missing field \"refresh_token\"")
	}
	in.Token.AccessToken = hosted.NewSecret(*w.AccessToken)
	in.Token.RefreshToken = hosted.NewSecret(*w.RefreshToken)
	in.Token.SessionID = str(w.SessionID)
	switch {
	case w.AccessTokenExpiresAt != nil:
		t, err := time.Parse(time.RFC3339, *w.AccessTokenExpiresAt)
		if err != nil {
			return TokenInput{}, errors.New("field \"access_token_expires_at\" is not an RFC 3339 time")
		}
		in.AccessTokenExpiresAt = t
		in.Token.ExpiresIn = t.Sub(now)
	case w.ExpiresIn != nil:
		secs, err := w.ExpiresIn.Int64()
		if err != nil || secs <= 0 || secs > 10*365*24*3600 {
			return TokenInput{}, errors.New("field \"expires_in\" must be a positive whole number of seconds")
		}
		in.Token.ExpiresIn = time.Duration(secs) * time.Second
		in.AccessTokenExpiresAt = now.Add(in.Token.ExpiresIn)
	default:
		return TokenInput{}, errors.New("missing field \"expires_in\" (or \"access_token_expires_at\")")
	}
	if w.RefreshTokenExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *w.RefreshTokenExpiresAt)
		if err != nil {
			return TokenInput{}, errors.New("field \"refresh_token_expires_at\" is not an RFC 3339 time")
		}
		in.Token.RefreshTokenExpiresAt = t
	}
	return in, nil
}
