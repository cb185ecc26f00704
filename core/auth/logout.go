package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// LogoutResult says what Logout did.
type LogoutResult struct {
	HadSession bool   // a session was stored
	Host       string // the host that issued it, when readable
	Revoked    bool   // the host confirmed (or had already forgotten) it
	Warning    string // why it was not revoked on the host, if it was not
}

// Logout revokes the stored session on the host and always removes it
// locally. m is the Manager for the resolved host, nil when none resolves.
// The token is sent only to the host that issued it; an unreachable host
// leaves a warning, not an error. The error is only for a failed local
// removal.
func Logout(ctx context.Context, store *session.Store, m *Manager) (LogoutResult, error) {
	var res LogoutResult
	s, err := store.Load(ctx)
	switch {
	case errors.Is(err, session.ErrNoSession):
		return res, nil
	case err != nil:
		res.HadSession = true
		res.Warning = "the stored session was unreadable, so it was not revoked on the host: " + err.Error()
	default:
		res.HadSession, res.Host = true, s.Host
		res.Warning, res.Revoked = revoke(ctx, s, m)
	}
	if err := store.Delete(ctx); err != nil {
		return res, err
	}
	return res, nil
}

func revoke(ctx context.Context, s *session.Session, m *Manager) (warning string, revoked bool) {
	if m == nil {
		return fmt.Sprintf("no SaaS host is configured, so the session of %s was not revoked there", s.Host), false
	}
	if s.Host != m.Host.URL {
		return fmt.Sprintf("the session was issued by %s, not %s, so it was not revoked there", s.Host, m.Host.URL), false
	}
	// Through the Manager, an expiring access token is refreshed first so
	// the revocation is authenticated.
	if err := m.Client.WithTokens(m).Logout(ctx); err != nil {
		return "could not revoke the session on the host (" + err.Error() + "); removed it locally", false
	}
	return "", true
}
