package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/session"
)

// ErrSessionExpired means the stored session can no longer be refreshed
// (its refresh token expired or was rejected): sign in again.
var ErrSessionExpired = errors.New("the session has expired; run `spec-kitty auth login`")

// HostMismatchError means the stored session was issued by another host than
// the resolved one; it is not valid here.
type HostMismatchError struct {
	SessionHost, Host string
}

func (e *HostMismatchError) Error() string {
	return fmt.Sprintf("the stored session was issued by %s, not %s; run `spec-kitty auth login`", e.SessionHost, e.Host)
}

// lockWait bounds how long a refresh waits for another process's refresh.
const lockWait = 60 * time.Second

// Manager is the hosted.TokenSource over the stored session for one host. It
// re-reads storage on every call, so a session written by another process
// (a new login, or a refresh) is picked up at once, and refreshes under a
// cross-process file lock so two processes never spend one refresh token.
type Manager struct {
	Store  *session.Store
	Host   hosted.Host
	Client *hosted.Client // used for the token endpoint only
	Now    func() time.Time

	mu sync.Mutex // serialises refreshes inside this process
}

// NewClient returns a client for host whose tokens come from the session in
// store, and the Manager behind it.
func NewClient(host hosted.Host, store *session.Store) (*hosted.Client, *Manager) {
	c := hosted.New(host, nil)
	m := &Manager{Store: store, Host: host, Client: c}
	c.Tokens = m
	return c, m
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// session.Session returns the stored session if it was issued by m.Host: else
// session.ErrNoSession or a *HostMismatchError.
func (m *Manager) Session(ctx context.Context) (*session.Session, error) {
	s, err := m.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	if s.Host != m.Host.URL {
		return nil, &HostMismatchError{SessionHost: s.Host, Host: m.Host.URL}
	}
	return s, nil
}

// Token implements hosted.TokenSource: the stored credentials, refreshed
// first when the access token expires within session.RefreshMargin.
func (m *Manager) Token(ctx context.Context) (hosted.Credentials, error) {
	s, err := m.Session(ctx)
	if err != nil {
		return hosted.Credentials{}, err
	}
	if !s.NeedsRefresh(m.now()) {
		return credentials(s), nil
	}
	s, err = m.refresh(ctx, func(cur *session.Session) bool { return cur.NeedsRefresh(m.now()) })
	if err != nil {
		return hosted.Credentials{}, err
	}
	return credentials(s), nil
}

// Refresh implements hosted.TokenSource: called after the host rejected
// rejected. If storage already holds a different access token (another
// process refreshed), that one is returned without spending anything.
func (m *Manager) Refresh(ctx context.Context, rejected hosted.Secret) (hosted.Credentials, error) {
	s, err := m.refresh(ctx, func(cur *session.Session) bool { return cur.AccessToken == rejected })
	if err != nil {
		return hosted.Credentials{}, err
	}
	return credentials(s), nil
}

// refresh takes the lock, re-reads storage, and spends the refresh token only
// if need(current session) still holds.
func (m *Manager) refresh(ctx context.Context, need func(*session.Session) bool) (*session.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	home := m.Store.Home()
	if err := home.EnsureHome(); err != nil {
		return nil, fmt.Errorf("refresh session: %w", err)
	}
	lk := flock.New(home.AuthLock(), flock.SetPermissions(0o600))
	lctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	ok, err := lk.TryLockContext(lctx, 20*time.Millisecond)
	if err != nil || !ok {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("refresh session: lock %s: %v", home.AuthLock(), errOr(err, "another process holds it"))
	}
	defer lk.Unlock()

	s, err := m.Session(ctx)
	if err != nil {
		return nil, err
	}
	if !need(s) {
		return s, nil // another process refreshed while we waited
	}
	now := m.now()
	if s.RefreshToken.IsZero() || s.RefreshExpired(now) {
		return nil, ErrSessionExpired
	}
	tok, err := m.Client.RefreshToken(ctx, s.RefreshToken)
	if err != nil {
		if hosted.CodeOf(err) == hosted.CodeInvalidGrant {
			return nil, fmt.Errorf("%w (%s rejected the refresh token)", ErrSessionExpired, m.Host.URL)
		}
		return nil, err
	}
	ns := *s
	ns.AccessToken = tok.AccessToken
	ns.AccessTokenExpiresAt = now.Add(tok.ExpiresIn)
	if !tok.RefreshToken.IsZero() {
		ns.RefreshToken = tok.RefreshToken
	}
	if !tok.RefreshTokenExpiresAt.IsZero() {
		ns.RefreshTokenExpiresAt = tok.RefreshTokenExpiresAt
	}
	if tok.SessionID != "" {
		ns.SessionID = tok.SessionID
	}
	// The old refresh token is dead now: the new pair must be stored before
	// the lock is released, or the next process would spend a dead token.
	if err := m.Store.Save(context.WithoutCancel(ctx), &ns); err != nil {
		return nil, fmt.Errorf("refresh session: the host issued new tokens but saving them failed: %w", err)
	}
	return &ns, nil
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}
