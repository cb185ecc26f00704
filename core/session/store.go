package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/atomicfile"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// Keychain item of the session (CONTRACTS §8.2).
const (
	KeychainService = "spec-kitty-sync"
	KeychainAccount = "session"
	// KeychainTimeout bounds every keychain call; a call still running then
	// is abandoned and the keychain counts as unavailable for this Store.
	KeychainTimeout = 5 * time.Second
)

// ErrNoSession means nothing is stored: the user is not signed in.
var ErrNoSession = errors.New("not signed in")

// ErrKeychainNotFound is what a Keychain's Get and Delete return for a
// missing item (the same value go-keyring uses).
var ErrKeychainNotFound = keyringErrNotFound

// Keychain is an OS secret store. OSKeychain is the real one; tests use an
// in-memory implementation.
type Keychain interface {
	Get(service, account string) (string, error)
	Set(service, account, secret string) error
	Delete(service, account string) error
}

// Backend names where the session lives.
type Backend string

// Backends (shown by `auth status`).
const (
	BackendKeychain Backend = "keychain"
	BackendFile     Backend = "file"
)

// Store keeps the session in the keychain when one works, else in
// <home>/auth.json (0600, written atomically) with a one-line warning the
// first time this Store writes there. One Store per process.
type Store struct {
	home     paths.Home
	keychain Keychain
	warn     io.Writer
	// Timeout bounds each keychain call (KeychainTimeout when zero).
	Timeout time.Duration

	mu      sync.Mutex
	decided bool
	backend Backend
	kcErr   error // why the keychain is not used
	warned  bool
}

// NewStore returns a store for home. kc may be nil (file only); warn receives
// the fallback warning (nil discards it). Nothing is touched until first use.
func NewStore(home paths.Home, kc Keychain, warn io.Writer) *Store {
	if warn == nil {
		warn = io.Discard
	}
	return &Store{home: home, keychain: kc, warn: warn}
}

// Home is the state home of the store.
func (s *Store) Home() paths.Home { return s.home }

// Backend decides (once) and returns the backend in use.
func (s *Store) Backend(ctx context.Context) Backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decideLocked(ctx)
	return s.backend
}

// BackendDetail describes the backend for people: "keychain" or
// "file <path> (no OS keychain: <reason>)".
func (s *Store) BackendDetail(ctx context.Context) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decideLocked(ctx)
	if s.backend == BackendKeychain {
		return "keychain (" + KeychainService + ")"
	}
	d := "file " + s.home.Auth()
	if s.kcErr != nil {
		d += " (no OS keychain: " + oneLine(s.kcErr.Error()) + ")"
	}
	return d
}

func (s *Store) decideLocked(ctx context.Context) {
	if s.decided {
		return
	}
	s.decided = true
	if s.keychain == nil {
		s.backend, s.kcErr = BackendFile, errors.New("none configured")
		return
	}
	_, err := s.kcCall(ctx, func() (string, error) { return s.keychain.Get(KeychainService, KeychainAccount) })
	if err == nil || errors.Is(err, ErrKeychainNotFound) {
		s.backend = BackendKeychain
		return
	}
	s.backend, s.kcErr = BackendFile, err
}

// demoteLocked stops using the keychain after a failure.
func (s *Store) demoteLocked(err error) {
	s.backend, s.kcErr = BackendFile, err
}

var errKeychainTimeout = errors.New("the keychain did not answer within 5 s")

// hangLatch is implemented by a keychain shared by the whole process (the OS
// one): after one call timed out, every later call of any Store fails at
// once, so a hung keychain costs one timeout per process, not one per Store
// or per call.
type hangLatch interface {
	hung() bool
	markHung()
}

// latch is a hangLatch.
type latch struct{ v atomic.Bool }

func (l *latch) hung() bool { return l.v.Load() }
func (l *latch) markHung()  { l.v.Store(true) }

// kcCall runs one keychain call bounded by the timeout; a call that does not
// return in time is abandoned (its goroutine ends whenever the OS answers).
func (s *Store) kcCall(ctx context.Context, f func() (string, error)) (string, error) {
	hl, _ := s.keychain.(hangLatch)
	if hl != nil && hl.hung() {
		return "", errKeychainTimeout
	}
	type result struct {
		v   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	d := s.Timeout
	if d <= 0 {
		d = KeychainTimeout
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-t.C:
		if hl != nil {
			hl.markHung()
		}
		return "", errKeychainTimeout
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Load returns the stored session, ErrNoSession when none is stored, or an
// error naming the storage when what is stored is unreadable.
func (s *Store) Load(ctx context.Context) (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decideLocked(ctx)
	if s.backend == BackendKeychain {
		v, err := s.kcCall(ctx, func() (string, error) { return s.keychain.Get(KeychainService, KeychainAccount) })
		switch {
		case err == nil:
			sess, derr := decodeSession([]byte(v))
			if derr != nil {
				return nil, fmt.Errorf("read session from the keychain: %w", derr)
			}
			return sess, nil
		case errors.Is(err, ErrKeychainNotFound):
			// A session written while no keychain worked may still be in
			// the file; fall through to it.
		case ctx.Err() != nil:
			return nil, ctx.Err()
		default:
			s.demoteLocked(err)
		}
	}
	return s.loadFile()
}

func (s *Store) loadFile() (*Session, error) {
	b, err := os.ReadFile(s.home.Auth())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	sess, err := decodeSession(b)
	if err != nil {
		return nil, fmt.Errorf("read session from %s: %w", s.home.Auth(), err)
	}
	return sess, nil
}

// Save stores sess, replacing any stored session.
func (s *Store) Save(ctx context.Context, sess *Session) error {
	data := encodeSession(sess)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decideLocked(ctx)
	if s.backend == BackendKeychain {
		_, err := s.kcCall(ctx, func() (string, error) {
			return "", s.keychain.Set(KeychainService, KeychainAccount, string(data))
		})
		if err == nil {
			// A stale file copy must not outlive the keychain copy.
			if rerr := os.Remove(s.home.Auth()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				return fmt.Errorf("remove stale %s: %w", s.home.Auth(), rerr)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.demoteLocked(err)
	}
	if err := s.home.EnsureHome(); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	if err := atomicfile.Write(s.home.Auth(), data, 0o600); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	if !s.warned {
		s.warned = true
		fmt.Fprintf(s.warn, "spec-kitty: warning: no OS keychain available (%s); session stored in %s (mode 0600)\n",
			oneLine(s.kcErr.Error()), s.home.Auth())
	}
	return nil
}

// Delete removes the stored session from every place it may be. A missing
// session is not an error.
func (s *Store) Delete(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decideLocked(ctx)
	var errs []error
	if s.backend == BackendKeychain {
		_, err := s.kcCall(ctx, func() (string, error) { return "", s.keychain.Delete(KeychainService, KeychainAccount) })
		if err != nil && !errors.Is(err, ErrKeychainNotFound) {
			errs = append(errs, fmt.Errorf("remove session from the keychain: %w", err))
		}
	}
	if err := os.Remove(s.home.Auth()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove session: %w", err))
	}
	return errors.Join(errs...)
}

// oneLine flattens text from the OS (D-Bus errors span lines).
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
