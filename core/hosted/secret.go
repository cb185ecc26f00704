package hosted

import "github.com/spec-kitty/spec-kitty-sync/core/session"

// Secret holds a token and redacts it everywhere (see session.Secret; the
// session stores tokens, the client sends them).
type Secret = session.Secret

// NewSecret wraps a token.
func NewSecret(v string) Secret { return session.NewSecret(v) }
