// Package auth owns getting and keeping a session with the hosted SaaS
// (CONTRACTS.md §8.2): the sign-in flows (device code, browser callback on
// loopback, a pasted token), sign-out with revocation, and the Manager that
// hands the hosted client a fresh access token — refreshing under a
// cross-process lock so two processes never spend one refresh token twice.
// The session as stored (model, keychain and 0600 file) is core/session's,
// which links no HTTP client so the tray can read it.
package auth

import (
	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// credentials are what the hosted client sends for s.
func credentials(s *session.Session) hosted.Credentials {
	return hosted.Credentials{Host: s.Host, AccessToken: s.AccessToken, Team: s.DefaultTeamID}
}
