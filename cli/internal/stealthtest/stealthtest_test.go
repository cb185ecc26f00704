package stealthtest

import "testing"

func TestHostedWords(t *testing.T) {
	for _, s := range []string{"Hosted SaaS sync", "the host", "HOSTS", "a session", "tracker bind", "the sync daemon",
		"offline queue", "queued", "Sync now", "/api/sync/status", "uploaded", "spec-kitty auth login", "signed in", "log in"} {
		if Find(s) == nil {
			t.Errorf("%q not caught", s)
		}
	}
	for _, s := range []string{"http://localhost:8123", "127.0.0.1", "sync.max_queue_size 100000", "sync.background_daemon auto",
		"status emit", "kitty-specs/", "hostile", "ghost", "login_hint_x"} {
		if got := Find(s); got != nil {
			t.Errorf("%q caught %q", s, got)
		}
	}
}
