package auth

import (
	"io"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// The session model and its storage live in core/session, which links no
// HTTP client (the tray reads sessions through it). These names keep this
// package the one place the CLI and the daemon take them from.
type (
	Session  = session.Session
	Method   = session.Method
	Store    = session.Store
	Keychain = session.Keychain
	Backend  = session.Backend
)

// Methods, backends, keychain item and errors: see core/session.
const (
	MethodDevice    = session.MethodDevice
	MethodBrowser   = session.MethodBrowser
	MethodToken     = session.MethodToken
	BackendKeychain = session.BackendKeychain
	BackendFile     = session.BackendFile
	RefreshMargin   = session.RefreshMargin
	KeychainService = session.KeychainService
	KeychainAccount = session.KeychainAccount
	KeychainTimeout = session.KeychainTimeout
)

var (
	ErrNoSession        = session.ErrNoSession
	ErrKeychainNotFound = session.ErrKeychainNotFound
)

// NewStore is session.NewStore.
func NewStore(home paths.Home, kc Keychain, warn io.Writer) *Store {
	return session.NewStore(home, kc, warn)
}

// KeychainFor is session.KeychainFor.
func KeychainFor(getenv func(string) string) Keychain { return session.KeychainFor(getenv) }

// OSKeychain is session.OSKeychain.
func OSKeychain() Keychain { return session.OSKeychain() }

// credentials are what the hosted client sends for s.
func credentials(s *Session) hosted.Credentials {
	return hosted.Credentials{Host: s.Host, AccessToken: s.AccessToken, Team: s.DefaultTeamID}
}
