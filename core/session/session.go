// Package session owns the signed-in session as stored (CONTRACTS §8.2): its
// model, the token type that redacts itself, and its storage (OS keychain,
// else <home>/auth.json 0600).
//
// It reads and writes storage only: it never talks to a host and links no
// HTTP client, so the tray can check for a session without becoming a
// hosted client (ADR 0009). Refresh, sign-in and sign-out live in
// core/auth. Constructing a Store touches nothing; the keychain and the home
// are used on first Load, Save or Delete. Tokens never reach a log, an error
// or an output of this package.
package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Method is how a session was obtained (auth_method).
type Method string

// Methods (stored values).
const (
	MethodDevice  Method = "device_code"
	MethodBrowser Method = "browser"
	MethodToken   Method = "token"
)

// Team is one team of the signed-in user (GET /api/v1/me).
type Team struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// RefreshMargin: the access token is refreshed when it expires within it.
const RefreshMargin = 60 * time.Second

// Session is one signed-in session, valid only for Host (the issuing host's
// hosted.Host URL). JSON field names are those of CONTRACTS §8.2; note that
// json.Marshal of a Session redacts the tokens (they are Secret) —
// storage uses its own encoding.
type Session struct {
	Host                  string    `json:"host"`
	UserID                string    `json:"user_id"`
	Email                 string    `json:"email"`
	Name                  string    `json:"name"`
	Teams                 []Team    `json:"teams"`
	DefaultTeamID         string    `json:"default_team_id"`
	AccessToken           Secret    `json:"access_token"`
	RefreshToken          Secret    `json:"refresh_token"`
	SessionID             string    `json:"session_id"`
	IssuedAt              time.Time `json:"issued_at"`
	AccessTokenExpiresAt  time.Time `json:"access_token_expires_at"`
	RefreshTokenExpiresAt time.Time `json:"refresh_token_expires_at,omitzero"`
	AuthMethod            Method    `json:"auth_method"`
}

// RefreshExpired reports whether the refresh token is known to be expired
// (a zero expiry means unknown, hence not known-expired).
func (s *Session) RefreshExpired(now time.Time) bool {
	return !s.RefreshTokenExpiresAt.IsZero() && !now.Before(s.RefreshTokenExpiresAt)
}

// NeedsRefresh reports whether the access token expires within RefreshMargin.
func (s *Session) NeedsRefresh(now time.Time) bool {
	return !now.Add(RefreshMargin).Before(s.AccessTokenExpiresAt)
}

// DefaultTeam returns the default team, if the user is a member of it.
func (s *Session) DefaultTeam() (Team, bool) {
	for _, t := range s.Teams {
		if t.ID == s.DefaultTeamID {
			return t, true
		}
	}
	return Team{}, false
}

// storedSession is the storage encoding: the §8.2 field names with the
// tokens revealed.
type storedSession struct {
	Host                  string    `json:"host"`
	UserID                string    `json:"user_id"`
	Email                 string    `json:"email"`
	Name                  string    `json:"name"`
	Teams                 []Team    `json:"teams"`
	DefaultTeamID         string    `json:"default_team_id"`
	AccessToken           string    `json:"access_token"`
	RefreshToken          string    `json:"refresh_token"`
	SessionID             string    `json:"session_id"`
	IssuedAt              time.Time `json:"issued_at"`
	AccessTokenExpiresAt  time.Time `json:"access_token_expires_at"`
	RefreshTokenExpiresAt time.Time `json:"refresh_token_expires_at,omitzero"`
	AuthMethod            Method    `json:"auth_method"`
}

func encodeSession(s *Session) []byte {
	st := storedSession{
		Host: s.Host, UserID: s.UserID, Email: s.Email, Name: s.Name, Teams: s.Teams,
		DefaultTeamID: s.DefaultTeamID, AccessToken: s.AccessToken.Reveal(),
		RefreshToken: s.RefreshToken.Reveal(), SessionID: s.SessionID, IssuedAt: s.IssuedAt.UTC(),
		AccessTokenExpiresAt: s.AccessTokenExpiresAt.UTC(), RefreshTokenExpiresAt: s.RefreshTokenExpiresAt.UTC(),
		AuthMethod: s.AuthMethod,
	}
	if st.Teams == nil {
		st.Teams = []Team{}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("session: encode session: %v", err)) // plain strings and times always encode
	}
	return append(b, '\n')
}

// errCorrupt marks stored data that is not a usable session.
var errCorrupt = errors.New("stored session is unreadable")

// decodeSession parses stored bytes; the error never quotes the data.
func decodeSession(b []byte) (*Session, error) {
	var st storedSession
	if err := json.Unmarshal(b, &st); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: invalid JSON at byte %d", errCorrupt, se.Offset)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%w: field %q has the wrong type", errCorrupt, te.Field)
		}
		return nil, fmt.Errorf("%w: invalid JSON", errCorrupt)
	}
	for _, f := range []struct{ name, v string }{
		{"host", st.Host}, {"user_id", st.UserID}, {"access_token", st.AccessToken},
	} {
		if f.v == "" {
			return nil, fmt.Errorf("%w: missing field %q", errCorrupt, f.name)
		}
	}
	if st.AccessTokenExpiresAt.IsZero() {
		return nil, fmt.Errorf("%w: missing field %q", errCorrupt, "access_token_expires_at")
	}
	return &Session{
		Host: st.Host, UserID: st.UserID, Email: st.Email, Name: st.Name, Teams: st.Teams,
		DefaultTeamID: st.DefaultTeamID, AccessToken: NewSecret(st.AccessToken),
		RefreshToken: NewSecret(st.RefreshToken), SessionID: st.SessionID, IssuedAt: st.IssuedAt,
		AccessTokenExpiresAt: st.AccessTokenExpiresAt, RefreshTokenExpiresAt: st.RefreshTokenExpiresAt,
		AuthMethod: st.AuthMethod,
	}, nil
}
