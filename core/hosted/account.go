package hosted

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// Team is one team of the signed-in user (the session stores them).
type Team = session.Team

// Me is the answer of GET /api/v1/me.
type Me struct {
	UserID        string `json:"user_id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	Teams         []Team `json:"teams"`
	DefaultTeamID string `json:"default_team_id"`
}

// Me returns the signed-in user and their teams.
func (c *Client) Me(ctx context.Context) (Me, error) {
	r := &request{method: http.MethodGet, path: "/api/v1/me", auth: true}
	var m Me
	if _, err := c.call(ctx, r, &m, "user_id", "email"); err != nil {
		return Me{}, err
	}
	if m.UserID == "" {
		return Me{}, c.errorf(r, KindPermanent, "response field \"user_id\" is empty")
	}
	for i, t := range m.Teams {
		if t.ID == "" {
			return Me{}, c.errorf(r, KindPermanent, "response is missing field %q", fmt.Sprintf("teams[%d].id", i))
		}
	}
	return m, nil
}

// Logout revokes the session's tokens on the host. A 401 or 403 means the
// session is already gone and counts as success; so does a refused refresh
// after a 401 (an expired access token is refreshed once so that a live
// session is really revoked).
func (c *Client) Logout(ctx context.Context) error {
	r := &request{method: http.MethodPost, path: "/api/v1/logout", auth: true,
		body: []byte("{}"), contentType: "application/json"}
	_, err := c.do(ctx, r)
	var he *Error
	if errors.As(err, &he) && (he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden) {
		return nil
	}
	return err
}
