// Package localapi owns the wire types of the daemon's local API and state
// file (CONTRACTS.md §7) and a client for them. It holds no server: the daemon
// in service/daemon serves these routes. It never returns or carries a secret.
package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/atomicfile"

	"github.com/spec-kitty/spec-kitty-sync/core/readiness"
)

// Host is the only Host header the local API accepts.
const Host = "spec-kitty-sync.local"

// Routes of the local API.
const (
	RouteStatus   = "/v1/status"
	RouteSync     = "/v1/sync"
	RouteReload   = "/v1/reload"
	RouteShutdown = "/v1/shutdown"
)

// State is the daemon's state file `<home>/sync-daemon`, rewritten after each
// cycle. Fields are only ever added.
type State struct {
	PID         int       `json:"pid"`
	StartedAt   time.Time `json:"started_at"`
	Version     string    `json:"version"`
	Socket      string    `json:"socket"`
	Host        string    `json:"host"`
	Policy      string    `json:"policy"`
	LastSyncAt  time.Time `json:"last_sync_at,omitzero"`
	LastError   string    `json:"last_error"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// LastErrorState is the readiness state (wire code) the last error
	// amounts to, or ErrorDiskFull; "" when the host answered with an error
	// of its own; then LastErrorStatus is its HTTP status. Displays word the
	// error from these instead of showing the raw LastError.
	LastErrorState      string `json:"last_error_state,omitempty"`
	LastErrorStatus     int    `json:"last_error_status,omitempty"`
	QueueDepth          int    `json:"queue_depth"`
	DeadLetters         int    `json:"dead_letters"`
	ConsecutiveFailures int    `json:"consecutive_failures"`
	Delivered           int64  `json:"delivered"`
	// AuthMissing is set when the host refused the session and a refresh did
	// not help: the daemon waits for `spec-kitty auth login`.
	AuthMissing bool `json:"auth_missing,omitempty"`
}

// ErrorDiskFull is State.LastErrorState when the last cycle failed on a
// full disk (ENOSPC, SQLITE_FULL): nothing new is queued or recorded until
// space is freed; the lines wait in their files.
const ErrorDiskFull = "disk_full"

// Wording of ErrorDiskFull for displays (State.ErrorWording).
const (
	DiskFullMessage = "The disk is full: new events stay in their files and are not queued for upload."
	DiskFullNext    = "Free some disk space; sync resumes at its next cycle."
)

// Status is the answer of GET /v1/status: the state plus local readiness.
type Status struct {
	State
	Running   bool             `json:"running"`
	Readiness readiness.Result `json:"readiness"`
}

// Accepted is the answer of the POST routes.
type Accepted struct {
	Status string `json:"status"`
	// Registered is set by POST /v1/sync when its Repo was new to the
	// daemon.
	Registered bool `json:"registered,omitempty"`
}

// SyncRequest is the optional body of POST /v1/sync; an empty body is a
// plain wake. Fields are only ever added.
type SyncRequest struct {
	// Repo, when set, is a repository for the daemon to import from now on
	// (as `sync run` registers the repository it runs in): the absolute
	// path of a directory holding kitty-specs/ or .kittify/. The daemon
	// refuses anything else with 400. Front-ends send it instead of writing
	// the queue themselves.
	Repo string `json:"repo,omitempty"`
	// Files, when set (with Repo), are the events files of Repo that just
	// got new lines — `kitty-specs/<mission>/status.events.jsonl` under
	// Repo, as `status emit` names the file it appended. The daemon's woken
	// cycle then imports only these instead of scanning every mission of
	// every repository (its periodic cycle still scans them all). An older
	// daemon ignores the field and runs a full cycle.
	Files []string `json:"files,omitempty"`
}

// MaxRequestBody bounds a request body of the local API.
const MaxRequestBody = 64 << 10

// ReadState reads the state file. running is false when the file is missing
// or its PID is not alive (a crashed daemon's leftover).
func ReadState(path string) (st State, running bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("read daemon state %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, false, fmt.Errorf("read daemon state %s: %w", path, err)
	}
	return st, st.PID > 0 && Alive(st.PID), nil
}

// Client talks to the local API over its Unix socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true,
	}
	return &Client{socket: path, hc: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
}

// Status fetches GET /v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, RouteStatus, nil, &st)
	return st, err
}

// Sync asks the daemon to run a cycle now.
func (c *Client) Sync(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, RouteSync, nil, nil)
}

// SyncRepo asks the daemon to import repo from now on (see SyncRequest) and
// to run a cycle now. registered reports whether repo was new to it.
func (c *Client) SyncRepo(ctx context.Context, repo string) (registered bool, err error) {
	var a Accepted
	err = c.do(ctx, http.MethodPost, RouteSync, SyncRequest{Repo: repo}, &a)
	return a.Registered, err
}

// SyncFiles asks the daemon to run a cycle now that imports the named
// events files of repo (see SyncRequest.Files).
func (c *Client) SyncFiles(ctx context.Context, repo string, files []string) error {
	return c.do(ctx, http.MethodPost, RouteSync, SyncRequest{Repo: repo, Files: files}, nil)
}

// Reload asks the daemon to re-read config and session.
func (c *Client) Reload(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, RouteReload, nil, nil)
}

// Shutdown asks the daemon to stop.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, RouteShutdown, nil, nil)
}

// do sends a request with in (when not nil) as its JSON body and decodes
// the answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, route string, in, out any) error {
	var reqBody io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+Host+route, reqBody)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("daemon local API %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("daemon local API %s %s: %w", method, route, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("daemon local API %s %s: %s: %s", method, route, resp.Status, strings.TrimSpace(string(body)))
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("daemon local API %s %s: bad JSON: %w", method, route, err)
		}
	}
	return nil
}

// CheckRequest applies the local API's request rules: no Origin or Referer
// (browsers send them; the daemon has no browser clients) and the expected
// Host. It returns "" when the request is acceptable, else the reason.
func CheckRequest(r *http.Request) string {
	if r.Header.Get("Origin") != "" {
		return "cross-origin request refused"
	}
	if r.Header.Get("Referer") != "" {
		return "request with Referer refused"
	}
	if r.Host != Host {
		return "unexpected Host " + r.Host
	}
	return ""
}

// LastSync is the record of the last one-shot sync (`spec-kitty sync run`,
// which the tray's Sync now runs in manual mode): under the manual policy no
// daemon keeps a state file, and displays still say when sync last ran.
type LastSync struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"` // "sync run"
	Synced int       `json:"synced"`
}

// ReadLastSync reads the record at path; the zero LastSync when there is none.
func ReadLastSync(path string) (LastSync, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return LastSync{}, nil
	}
	if err != nil {
		return LastSync{}, fmt.Errorf("read last sync %s: %w", path, err)
	}
	var ls LastSync
	if err := json.Unmarshal(b, &ls); err != nil {
		return LastSync{}, fmt.Errorf("read last sync %s: %w", path, err)
	}
	return ls, nil
}

// WriteLastSync replaces the record at path (atomically, 0600).
func WriteLastSync(path string, ls LastSync) error {
	b, err := json.MarshalIndent(ls, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// ErrorWording words the daemon's last error as the CLI words a readiness
// failure — its message and next step — instead of the raw LastError: from
// LastErrorState when the error amounts to a readiness state, else from the
// host's HTTP status, else the raw text. Empty when there is no error.
func (s State) ErrorWording() (message, next string) {
	if s.LastError == "" {
		return "", ""
	}
	if s.LastErrorState == ErrorDiskFull {
		return DiskFullMessage, DiskFullNext
	}
	if st := readiness.State(s.LastErrorState); st != "" {
		if msg, nxt := readiness.Wording(st); msg != "" {
			host := s.Host
			if host == "" {
				host = "the SaaS host"
			}
			r := strings.NewReplacer("{host}", host, "{mission}", "this repository")
			return r.Replace(msg), r.Replace(nxt)
		}
	}
	if s.LastErrorStatus > 0 {
		return fmt.Sprintf("The SaaS host answered HTTP %d; sync retries automatically.", s.LastErrorStatus),
			"Run `spec-kitty sync status` for details."
	}
	return "Last sync failed: " + s.LastError, "Run `spec-kitty sync status` for details."
}
