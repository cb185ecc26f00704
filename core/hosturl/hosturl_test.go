package hosturl

import (
	"errors"
	"testing"
)

// The resolution rules themselves are tested through core/hosted, which
// re-exports them (core/hosted/host_test.go); this pins the error of this
// package: typed, naming the URL (redacted) and where it came from.
func TestResolveErrors(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "SPEC_KITTY_SAAS_URL" {
				return v
			}
			return ""
		}
	}
	if _, err := Resolve(env(""), ""); !errors.Is(err, ErrNoHost) {
		t.Errorf("nothing set: %v, want ErrNoHost", err)
	}
	h, err := Resolve(env(""), "https://Sync.Example.com/")
	if err != nil || h.URL != "https://sync.example.com" {
		t.Errorf("config URL: %q, %v", h.URL, err)
	}
	_, err = Resolve(env("http://user:hunter2@sync.example.com"), "")
	var he *Error
	if !errors.As(err, &he) {
		t.Fatalf("bad URL: %T %v, want *Error", err, err)
	}
	const want = "http://redacted@sync.example.com: invalid SaaS host URL: credentials in the URL are not allowed (from SPEC_KITTY_SAAS_URL)"
	if err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
}
