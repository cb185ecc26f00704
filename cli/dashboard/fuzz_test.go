package dashboard

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzServePath: no path, however encoded, makes the dashboard fail, show a
// file outside kitty-specs/ or answer 200 for a mission route that does not
// name a real mission.
func FuzzServePath(f *testing.F) {
	for _, p := range []string{"/", "/missions/002-lightweight-pypi-release", "/missions/../../etc/passwd",
		"/api/missions/..%2f..", "/static/app.js", "/static/../dashboard.go", "/missions/.%2e/x"} {
		f.Add(p)
	}
	repo := smallRepo(f, "002-lightweight-pypi-release")
	r := &rig{env: map[string]string{}}
	srv, err := New(Config{Repo: repo, Addr: testAddr, Getenv: r.getenv, Launcher: &fakeLauncher{gate: func() bool { return false }}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil || !strings.HasPrefix(u.Path, "/") {
			return
		}
		req := &http.Request{Method: http.MethodGet, URL: u, Host: testAddr, Header: http.Header{}, RemoteAddr: "127.0.0.1:1"}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		switch w.Code {
		case 200, 404:
		default:
			t.Fatalf("GET %q (path %q): status %d", raw, u.Path, w.Code)
		}
		if w.Code != 200 {
			return
		}
		for _, prefix := range []string{"/missions/", "/api/missions/"} {
			if name, ok := strings.CutPrefix(u.Path, prefix); ok && name != "002-lightweight-pypi-release" {
				t.Fatalf("GET %q: 200 for mission %q", raw, name)
			}
		}
		if name, ok := strings.CutPrefix(u.Path, "/static/"); ok && name != "app.js" && name != "style.css" && name != "favicon.svg" {
			t.Fatalf("GET %q: 200 for static %q", raw, name)
		}
	})
}
