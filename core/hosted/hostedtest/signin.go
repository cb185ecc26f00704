package hostedtest

import (
	"encoding/json"
	"fmt"
)

// SignIn issues a session for userID as if that user had just completed a
// sign-in, the way an operator's admin console would, and returns the token
// response JSON (the input of `spec-kitty auth login --with-token`). Tests
// use it to skip the device flow when sign-in is not what they test.
func (s *Server) SignIn(userID string) ([]byte, error) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	if _, ok := s.auth.users[userID]; !ok {
		return nil, fmt.Errorf("hostedtest: no user %q", userID)
	}
	return json.Marshal(s.issueLocked(userID, "device_code", s.now()))
}

// AccessToken is SignIn for tests that hand the client a fixed bearer token
// (hosted.StaticToken) instead of a stored, refreshable session: it returns
// the new session's access token alone.
func (s *Server) AccessToken(userID string) (string, error) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	if _, ok := s.auth.users[userID]; !ok {
		return "", fmt.Errorf("hostedtest: no user %q", userID)
	}
	return s.issueLocked(userID, "device_code", s.now()).AccessToken, nil
}
