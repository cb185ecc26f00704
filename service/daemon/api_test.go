package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/queue"
)

// registeringWorker is a countingWorker that registers repositories in a
// real queue, as the Engine does.
type registeringWorker struct {
	*countingWorker
	q *queue.Queue
}

func (w registeringWorker) RegisterRepo(ctx context.Context, repo string) (bool, error) {
	return w.q.RegisterRepo(ctx, repo)
}

// POST /v1/sync with a repo registers it on the daemon's side, so no
// front-end writes the queue; anything but the absolute path of a
// spec-kitty project is refused with 400 and registers nothing.
func TestAPISyncRepo(t *testing.T) {
	h := newHarness(t)
	q, err := queue.Open(context.Background(), h.home.Queue(), queue.Options{CreateDir: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	o := h.opts()
	o.Worker = registeringWorker{countingWorker: h.worker, q: q}
	h.start(o)

	dir := t.TempDir()
	project := func(name, mark string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, mark), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	specs := project("specs", "kitty-specs")
	kittify := project("kittify", ".kittify")
	plain := project("plain", "src")
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fileMark := filepath.Join(dir, "filemark")
	if err := os.MkdirAll(fileMark, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fileMark, "kitty-specs"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", h.home.DaemonSocket())
	}}
	hc := &http.Client{Transport: tr}
	tests := []struct {
		name string
		body string
		code int
		want string // in the answer
	}{
		{"no body: a plain wake", "", 202, `"status":"scheduled"`},
		{"empty object", `{}`, 202, `"status":"scheduled"`},
		{"kitty-specs", `{"repo":"` + specs + `"}`, 202, `"registered":true`},
		{"again", `{"repo":"` + specs + `/."}`, 202, `{"status":"scheduled"}`},
		{".kittify", `{"repo":"` + kittify + `"}`, 202, `"registered":true`},
		{"relative", `{"repo":"specs"}`, 400, "not an absolute path"},
		{"dot relative", `{"repo":"./` + filepath.Base(specs) + `"}`, 400, "not an absolute path"},
		{"not a project", `{"repo":"` + plain + `"}`, 400, "not a spec-kitty project"},
		{"kitty-specs is a file", `{"repo":"` + fileMark + `"}`, 400, "not a spec-kitty project"},
		{"missing", `{"repo":"` + filepath.Join(dir, "missing") + `"}`, 400, "not a directory"},
		{"a file", `{"repo":"` + file + `"}`, 400, "not a directory"},
		{"repo and its events file", `{"repo":"` + specs + `","files":["` + filepath.Join(specs, "kitty-specs", "m1", "status.events.jsonl") + `"]}`, 202, `{"status":"scheduled"}`},
		{"files without a repo", `{"files":["` + filepath.Join(specs, "kitty-specs", "m1", "status.events.jsonl") + `"]}`, 400, "files need a repo"},
		{"a file outside the repo", `{"repo":"` + specs + `","files":["` + filepath.Join(kittify, "kitty-specs", "m1", "status.events.jsonl") + `"]}`, 400, "not an events file of repo"},
		{"not an events file", `{"repo":"` + specs + `","files":["` + filepath.Join(specs, "kitty-specs", "m1", "meta.json") + `"]}`, 400, "not an events file of repo"},
		{"a relative file", `{"repo":"` + specs + `","files":["kitty-specs/m1/status.events.jsonl"]}`, 400, "not an events file of repo"},
		{"an escaping file", `{"repo":"` + specs + `","files":["` + specs + `/kitty-specs/../../x/kitty-specs/m/status.events.jsonl"]}`, 400, "not an events file of repo"},
		{"bad JSON", `{"repo":`, 400, "bad request body"},
		{"too large", `{"repo":"` + strings.Repeat("x", localapi.MaxRequestBody) + `"}`, 400, "bad request body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", "http://"+localapi.Host+localapi.RouteSync, strings.NewReader(tt.body))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.want) {
				t.Errorf("answer %d %s, want %d with %s", resp.StatusCode, b, tt.code, tt.want)
			}
		})
	}
	repos, err := q.Repos(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range repos {
		got = append(got, r.Path)
	}
	slices.Sort(got)
	if want := []string{kittify, specs}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("registered %q, want %q", got, want)
	}

	// The client's SyncRepo says whether the repository was new.
	c := localapi.NewClient(h.home.DaemonSocket())
	if added, err := c.SyncRepo(context.Background(), specs); err != nil || added {
		t.Errorf("SyncRepo(known) = %v, %v; want false, nil", added, err)
	}
	if _, err := c.SyncRepo(context.Background(), "relative"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("SyncRepo(relative) = %v, want a 400 error", err)
	}
}

// A worker that cannot register repositories refuses a repo instead of
// pretending; a plain wake still works.
func TestAPISyncRepoUnsupported(t *testing.T) {
	h := newHarness(t)
	h.start(h.opts())
	repo := filepath.Join(t.TempDir(), "r")
	if err := os.MkdirAll(filepath.Join(repo, "kitty-specs"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := localapi.NewClient(h.home.DaemonSocket())
	if _, err := c.SyncRepo(context.Background(), repo); err == nil || !strings.Contains(err.Error(), "501") {
		t.Errorf("SyncRepo = %v, want a 501 error", err)
	}
	if err := c.Sync(context.Background()); err != nil {
		t.Errorf("Sync = %v", err)
	}
}

// FuzzSyncRequest: any body the local API's sync route may receive is
// decoded and checked without a panic, and a repo it accepts is absolute
// and clean.
func FuzzSyncRequest(f *testing.F) {
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "kitty-specs"), 0o755); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", "{}", `{"repo":"` + dir + `"}`, `{"repo":"rel"}`, `{"repo":`, `[1]`, `{"repo":"/../` + dir + `/."}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r, _ := http.NewRequest("POST", "http://"+localapi.Host+localapi.RouteSync, strings.NewReader(body))
		var req localapi.SyncRequest
		if err := decodeBody(httptest.NewRecorder(), r, &req); err != nil || req.Repo == "" {
			return
		}
		repo, err := checkRepo(req.Repo)
		if err == nil && (!filepath.IsAbs(repo) || filepath.Clean(repo) != repo) {
			t.Errorf("checkRepo(%q) accepted %q", req.Repo, repo)
		}
	})
}

// overwrite, the state file's fallback on a full disk, replaces the content
// in place: longer and shorter than before, and not a file that is missing.
func TestOverwriteInPlace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sync-daemon")
	if err := os.WriteFile(p, []byte(`{"pid": 1, "last_error": ""}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"pid": 1, "last_error": "disk full", "last_error_state": "disk_full"}` + "\n", "{}\n"} {
		if err := overwrite(p, []byte(want)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); string(got) != want {
			t.Errorf("after overwrite: %q, want %q", got, want)
		}
	}
	if err := overwrite(filepath.Join(t.TempDir(), "missing"), []byte("{}")); err == nil {
		t.Error("overwrite created a missing file")
	}
}
