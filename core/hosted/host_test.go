package hosted

import (
	"errors"
	"strings"
	"testing"
)

func TestResolveHost(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		config  string
		want    string
		noHost  bool
		wantErr []string // substrings of the error
	}{
		{name: "env wins", env: "https://env.example.com", config: "https://cfg.example.com", want: "https://env.example.com"},
		{name: "config when env empty", config: "https://cfg.example.com/", want: "https://cfg.example.com"},
		{name: "blank env falls back", env: "   ", config: "https://cfg.example.com", want: "https://cfg.example.com"},
		{name: "none", noHost: true},
		{name: "trailing slashes stripped", env: "https://x.example.com/saas//", want: "https://x.example.com/saas"},
		{name: "case and default port", env: "HTTPS://X.Example.COM:443/", want: "https://x.example.com"},
		{name: "https other port kept", env: "https://x.example.com:8443", want: "https://x.example.com:8443"},
		{name: "loopback http", env: "http://127.0.0.1:8787/", want: "http://127.0.0.1:8787"},
		{name: "loopback 127/8", env: "http://127.9.8.7:1", want: "http://127.9.8.7:1"},
		{name: "localhost", env: "http://LocalHost:9000", want: "http://localhost:9000"},
		{name: "ipv6 loopback", env: "http://[::1]:9000", want: "http://[::1]:9000"},
		{name: "http default port dropped", env: "http://localhost:80", want: "http://localhost"},
		{name: "http remote refused", env: "http://sync.example.com", wantErr: []string{`http://sync.example.com`, "https is required", "SPEC_KITTY_SAAS_URL"}},
		{name: "http remote from config", config: "http://10.0.0.1", wantErr: []string{"http://10.0.0.1", "https is required", "[sync].server_url"}},
		{name: "no scheme", env: "sync.example.com", wantErr: []string{"sync.example.com", "must start with https://"}},
		{name: "ftp", env: "ftp://sync.example.com", wantErr: []string{"ftp://sync.example.com", "must start with https://"}},
		{name: "no host", env: "https://", wantErr: []string{"no host name"}},
		{name: "query", env: "https://x.example.com/?a=1", wantErr: []string{"query"}},
		{name: "credentials redacted", env: "https://user:hunter2@x.example.com", wantErr: []string{"credentials in the URL"}},
		{name: "garbage", env: "https://%zz", wantErr: []string{"not a URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "SPEC_KITTY_SAAS_URL" {
					return tt.env
				}
				return ""
			}
			h, err := ResolveHost(getenv, tt.config)
			switch {
			case tt.noHost:
				if !errors.Is(err, ErrNoHost) {
					t.Fatalf("err = %v, want ErrNoHost", err)
				}
			case tt.wantErr != nil:
				if err == nil {
					t.Fatalf("got %q, want an error", h.URL)
				}
				if KindOf(err) != KindConfig {
					t.Errorf("kind = %q, want config", KindOf(err))
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "user:") {
					t.Errorf("error %q leaks credentials", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if h.URL != tt.want {
					t.Errorf("URL = %q, want %q", h.URL, tt.want)
				}
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.255.0.1": true, "::1": true, "[::1]": true,
		"128.0.0.1": false, "example.com": false, "localhost.example.com": false, "0.0.0.0": false, "::": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzParseHost(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		h, err := ParseHost(raw)
		if err != nil {
			if KindOf(err) != KindConfig {
				t.Fatalf("error %v is not a config error", err)
			}
			return
		}
		again, err := ParseHost(h.URL)
		if err != nil || again != h {
			t.Fatalf("ParseHost(%q) = %q is not stable: %q, %v", raw, h.URL, again.URL, err)
		}
		if strings.HasSuffix(h.URL, "/") {
			t.Fatalf("%q keeps a trailing slash", h.URL)
		}
		if !strings.HasPrefix(h.URL, "https://") && !strings.HasPrefix(h.URL, "http://") {
			t.Fatalf("%q has another scheme", h.URL)
		}
	})
}
