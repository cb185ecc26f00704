package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zalando/go-keyring"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

func sampleSession() *Session {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &Session{
		Host: "https://sync.example.com", UserID: "u_1", Email: "dev@example.test", Name: "Dev",
		Teams: []Team{{ID: "team-dev", Name: "Dev Team", Role: "owner"}}, DefaultTeamID: "team-dev",
		AccessToken: NewSecret("at_secret_value"), RefreshToken: NewSecret("rt_secret_value"),
		SessionID: "sess_1", IssuedAt: t0, AccessTokenExpiresAt: t0.Add(time.Hour),
		RefreshTokenExpiresAt: t0.Add(30 * 24 * time.Hour), AuthMethod: MethodDevice,
	}
}

// TestSessionEncoding: the stored form uses exactly the §8.2 names and
// round-trips; json.Marshal of a Session redacts the tokens.
func TestSessionEncoding(t *testing.T) {
	s := sampleSession()
	b := encodeSession(s)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"access_token", "access_token_expires_at", "auth_method", "default_team_id", "email", "host",
		"issued_at", "name", "refresh_token", "refresh_token_expires_at", "session_id", "teams", "user_id"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("stored keys (-want +got):\n%s", diff)
	}
	if m["access_token"] != "at_secret_value" {
		t.Errorf("stored access_token = %v", m["access_token"])
	}
	got, err := decodeSession(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got, cmp.Comparer(func(a, b Secret) bool { return a == b })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	pub, _ := json.Marshal(s)
	assertNoSecret(t, string(pub), s.AccessToken, s.RefreshToken)
}

func TestDecodeSessionErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":   `at_secret_value`,
		"wrong type": `{"host":1}`,
		"no host":    `{"user_id":"u","access_token":"at_secret_value","access_token_expires_at":"2026-01-01T00:00:00Z"}`,
		"no token":   `{"host":"h","user_id":"u","access_token_expires_at":"2026-01-01T00:00:00Z"}`,
		"no expiry":  `{"host":"h","user_id":"u","access_token":"at_secret_value"}`,
		"truncated":  `{"host":"h","user_id":"u","access_token":"at_secret_value`,
		"array":      `[]`,
		"bad time":   `{"host":"h","user_id":"u","access_token":"at_secret_value","access_token_expires_at":"tomorrow"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decodeSession([]byte(in))
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("err = %v", err)
			}
			if strings.Contains(err.Error(), "at_secret_value") {
				t.Fatalf("error quotes the token: %v", err)
			}
		})
	}
}

func FuzzDecodeSession(f *testing.F) {
	f.Add(encodeSession(sampleSession()))
	f.Add([]byte(`{"host":"h"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSession(b)
		if err != nil {
			return
		}
		again, err := decodeSession(encodeSession(s))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if again.Host != s.Host || again.AccessToken != s.AccessToken || !again.AccessTokenExpiresAt.Equal(s.AccessTokenExpiresAt) {
			t.Fatal("round trip changed the session")
		}
	})
}

// TestFileFallback: without a keychain the session goes to auth.json, 0600,
// with one warning per Store.
func TestFileFallback(t *testing.T) {
	ctx := context.Background()
	home := paths.Home{Dir: t.TempDir() + "/home"}
	var warn bytes.Buffer
	st := NewStore(home, nil, &warn)
	if _, err := os.Stat(home.Dir); !os.IsNotExist(err) {
		t.Fatal("NewStore touched the home")
	}
	mustNoSession(t, st)
	if _, err := os.Stat(home.Dir); !os.IsNotExist(err) {
		t.Fatal("Load created the home")
	}
	s := sampleSession()
	if err := st.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(home.Auth())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("auth.json mode = %v", fi.Mode().Perm())
	}
	if st.Backend(ctx) != BackendFile {
		t.Errorf("backend = %q", st.Backend(ctx))
	}
	w := warn.String()
	if strings.Count(w, "\n") != 1 || !strings.Contains(w, "no OS keychain available") || !strings.Contains(w, home.Auth()) {
		t.Errorf("warning = %q", w)
	}
	got, err := st.Load(ctx)
	if err != nil || got.AccessToken != s.AccessToken {
		t.Fatalf("load = %+v, %v", got, err)
	}
	// A second Store (another process) reads the same file.
	got, err = NewStore(home, nil, nil).Load(ctx)
	if err != nil || got.UserID != s.UserID {
		t.Fatalf("load from another store = %+v, %v", got, err)
	}
	if err := st.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	mustNoSession(t, st)
	if err := st.Delete(ctx); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

func TestCorruptFile(t *testing.T) {
	home := paths.Home{Dir: t.TempDir()}
	if err := os.WriteFile(home.Auth(), []byte(`{"host":`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewStore(home, nil, nil).Load(context.Background())
	if err == nil || errors.Is(err, ErrNoSession) || !strings.Contains(err.Error(), home.Auth()) {
		t.Fatalf("err = %v", err)
	}
}

// memKeychain is the go-keyring package after keyring.MockInit: an honest
// in-memory keychain.
func memKeychain(t *testing.T) Keychain {
	t.Helper()
	keyring.MockInit()
	return goKeyring{}
}

type failingKeychain struct{ err error }

func (f failingKeychain) Get(string, string) (string, error) { return "", f.err }
func (f failingKeychain) Set(string, string, string) error   { return f.err }
func (f failingKeychain) Delete(string, string) error        { return f.err }

func TestKeychainBackend(t *testing.T) {
	ctx := context.Background()
	home := paths.Home{Dir: t.TempDir()}
	// A stale file from a time without keychain is read, then replaced.
	stale := sampleSession()
	stale.UserID = "stale"
	if err := NewStore(home, nil, nil).Save(ctx, stale); err != nil {
		t.Fatal(err)
	}
	var warn bytes.Buffer
	st := NewStore(home, memKeychain(t), &warn)
	if st.Backend(ctx) != BackendKeychain {
		t.Fatalf("backend = %q", st.BackendDetail(ctx))
	}
	got, err := st.Load(ctx)
	if err != nil || got.UserID != "stale" {
		t.Fatalf("load before save = %+v, %v", got, err)
	}
	s := sampleSession()
	if err := st.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(home.Auth()); !os.IsNotExist(err) {
		t.Error("auth.json survived a keychain save")
	}
	raw, err := keyring.Get(KeychainService, KeychainAccount)
	if err != nil || !strings.Contains(raw, `"user_id": "u_1"`) {
		t.Fatalf("keychain item = %q, %v", raw, err)
	}
	got, err = st.Load(ctx)
	if err != nil || got.UserID != "u_1" {
		t.Fatalf("load = %+v, %v", got, err)
	}
	if warn.Len() != 0 {
		t.Errorf("warned with a working keychain: %q", warn.String())
	}
	if err := st.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	mustNoSession(t, st)
	if _, err := keyring.Get(KeychainService, KeychainAccount); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("keychain still holds the item: %v", err)
	}
}

func TestKeychainFailsFallsBack(t *testing.T) {
	tests := []struct {
		name string
		kc   Keychain
		want string
	}{
		{"unavailable", failingKeychain{errors.New("The name org.freedesktop.secrets was not provided\nby any .service files")}, "The name org.freedesktop.secrets was not provided by any .service files"},
	}
	if runtime.GOOS == "linux" {
		tests = append(tests, struct {
			name string
			kc   Keychain
			want string
		}{"no bus", osKeychainWith(func(string) string { return "" }, func(string) bool { return false }), "no D-Bus session bus"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			home := paths.Home{Dir: t.TempDir()}
			var warn bytes.Buffer
			st := NewStore(home, tt.kc, &warn)
			if err := st.Save(ctx, sampleSession()); err != nil {
				t.Fatal(err)
			}
			if st.Backend(ctx) != BackendFile || !strings.Contains(st.BackendDetail(ctx), tt.want) {
				t.Errorf("backend = %q", st.BackendDetail(ctx))
			}
			if !strings.Contains(warn.String(), tt.want) || strings.Count(warn.String(), "\n") != 1 {
				t.Errorf("warning = %q", warn.String())
			}
			if _, err := st.Load(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestKeychainSetTooBig: a keychain that refuses the item (macOS limits its
// size) demotes the store to the file.
func TestKeychainSetTooBig(t *testing.T) {
	ctx := context.Background()
	home := paths.Home{Dir: t.TempDir()}
	kc := &sizeLimited{Keychain: memKeychain(t)}
	var warn bytes.Buffer
	st := NewStore(home, kc, &warn)
	if err := st.Save(ctx, sampleSession()); err != nil {
		t.Fatal(err)
	}
	if st.Backend(ctx) != BackendFile || !strings.Contains(warn.String(), "too big") {
		t.Fatalf("backend %q, warning %q", st.Backend(ctx), warn.String())
	}
	if _, err := os.Stat(home.Auth()); err != nil {
		t.Fatal(err)
	}
}

type sizeLimited struct{ Keychain }

func (s *sizeLimited) Set(string, string, string) error { return keyring.ErrSetDataTooBig }

// TestKeychainTimeout: a keychain call that never returns is abandoned after
// 5 s and the store falls back to the file.
func TestKeychainTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		home := paths.Home{Dir: t.TempDir()}
		kc := &hangingKeychain{release: make(chan struct{})}
		defer close(kc.release)
		var warn bytes.Buffer
		st := NewStore(home, kc, &warn)
		start := time.Now()
		if err := st.Save(ctx, sampleSession()); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != KeychainTimeout {
			t.Errorf("waited %v, want %v", waited, KeychainTimeout)
		}
		if st.Backend(ctx) != BackendFile || !strings.Contains(warn.String(), "did not answer within 5 s") {
			t.Errorf("backend %q, warning %q", st.Backend(ctx), warn.String())
		}
		// The decision sticks: no second 5 s wait.
		start = time.Now()
		if _, err := st.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) != 0 {
			t.Errorf("second call waited %v", time.Since(start))
		}
	})
}

type hangingKeychain struct{ release chan struct{} }

func (h *hangingKeychain) Get(string, string) (string, error) { <-h.release; return "", nil }
func (h *hangingKeychain) Set(string, string, string) error   { <-h.release; return nil }
func (h *hangingKeychain) Delete(string, string) error        { <-h.release; return nil }

func TestKeychainPrecheck(t *testing.T) {
	tests := []struct {
		name    string
		addr    string
		busFile bool
		ok      bool
	}{
		{"address set", "unix:path=/run/user/1000/bus", false, true},
		{"standard socket", "", true, true},
		{"autolaunch only", "autolaunch:", false, false},
		{"nothing", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dbusPrecheck(func(string) string { return tt.addr }, func(string) bool { return tt.busFile })
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// latchedHanging is a hanging keychain shared by the process, like the OS one.
type latchedHanging struct {
	hangingKeychain
	*latch
}

// TestKeychainTimeoutOncePerProcess: with a hung process-wide keychain,
// several Stores (a command opens more than one) cost one 5 s timeout in
// total, not one each.
func TestKeychainTimeoutOncePerProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		kc := &latchedHanging{hangingKeychain{release: make(chan struct{})}, &latch{}}
		defer close(kc.release)
		start := time.Now()
		for range 3 {
			st := NewStore(paths.Home{Dir: t.TempDir()}, kc, nil)
			if _, err := st.Load(ctx); !errors.Is(err, ErrNoSession) {
				t.Fatalf("Load = %v", err)
			}
			if st.Backend(ctx) != BackendFile {
				t.Errorf("backend %s", st.Backend(ctx))
			}
		}
		if waited := time.Since(start); waited != KeychainTimeout {
			t.Errorf("three stores waited %v, want one %v", waited, KeychainTimeout)
		}
	})
}

func assertNoSecret(t *testing.T, text string, secrets ...Secret) {
	t.Helper()
	for _, s := range secrets {
		if !s.IsZero() && strings.Contains(text, s.Reveal()) {
			t.Fatalf("a token leaked into %q", text)
		}
	}
}

func mustNoSession(t *testing.T, st *Store) {
	t.Helper()
	if s, err := st.Load(context.Background()); err != ErrNoSession {
		t.Fatalf("storage holds %+v, %v; want nothing", s, err)
	}
}
