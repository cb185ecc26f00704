package hostedtest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a manual clock for expiry and poll-interval tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// httpClient never follows redirects, so tests see what the server sent, and
// opens a connection per request: net/http silently retries a GET whose
// reused keep-alive connection was reset, which would hide reset faults.
var httpClient = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d body %q: %v", r.status, r.body, err)
	}
}

func (r resp) errorCode(t *testing.T) string {
	t.Helper()
	var e apiError
	r.json(t, &e)
	return e.ErrorCode
}

func (r resp) oauthError(t *testing.T) string {
	t.Helper()
	var e oauthError
	r.json(t, &e)
	return e.Error
}

// send performs one request and fails the test on a transport error.
func send(t *testing.T, req *http.Request) resp {
	t.Helper()
	r, err := trySend(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	return r
}

func trySend(req *http.Request) (resp, error) {
	res, err := httpClient.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return resp{}, err
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}, nil
}

func newReq(t *testing.T, method, u string, body io.Reader, hdr ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

func postForm(t *testing.T, u string, v url.Values) resp {
	t.Helper()
	return send(t, newReq(t, http.MethodPost, u, strings.NewReader(v.Encode()), "Content-Type", "application/x-www-form-urlencoded"))
}

// api sends an authenticated JSON call; v is marshalled unless it is nil.
// hdr are extra header name/value pairs.
func api(t *testing.T, s *Server, method, path, token string, v any, hdr ...string) resp {
	t.Helper()
	req, err := apiReq(s, method, path, token, v, hdr...)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, req)
}

func apiReq(s *Server, method, path, token string, v any, hdr ...string) (*http.Request, error) {
	var body io.Reader
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL()+path, body)
	if err != nil {
		return nil, err
	}
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req, nil
}

// tracker sends a tracker call for the default team.
func tracker(t *testing.T, s *Server, method, path, token string, v any, hdr ...string) resp {
	t.Helper()
	return api(t, s, method, path, token, v, append([]string{"X-Team-Slug", "team-dev"}, hdr...)...)
}

func startDevice(t *testing.T, s *Server) deviceResponse {
	t.Helper()
	r := postForm(t, s.URL()+"/oauth/device", url.Values{"client_id": {ClientID}, "scope": {"offline_access"}})
	if r.status != http.StatusOK {
		t.Fatalf("POST /oauth/device = %d %s", r.status, r.body)
	}
	var d deviceResponse
	r.json(t, &d)
	return d
}

func pollDevice(t *testing.T, s *Server, deviceCode string) resp {
	t.Helper()
	return postForm(t, s.URL()+"/oauth/token", url.Values{
		"grant_type": {GrantDeviceCode}, "device_code": {deviceCode}, "client_id": {ClientID},
	})
}

// login runs the device flow for userID and returns the tokens.
func login(t *testing.T, s *Server, userID string) tokenResponse {
	t.Helper()
	d := startDevice(t, s)
	if err := s.ApproveAs(d.UserCode, userID); err != nil {
		t.Fatal(err)
	}
	r := pollDevice(t, s, d.DeviceCode)
	if r.status != http.StatusOK {
		t.Fatalf("device token = %d %s", r.status, r.body)
	}
	var tok tokenResponse
	r.json(t, &tok)
	return tok
}

func refresh(t *testing.T, s *Server, rt string) resp {
	t.Helper()
	return postForm(t, s.URL()+"/oauth/token", url.Values{
		"grant_type": {GrantRefreshToken}, "refresh_token": {rt}, "client_id": {ClientID},
	})
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func batchReq(t testing.TB, s *Server, token string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/api/v1/events/batch/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// envelope builds a well-formed event envelope.
func envelope(id, project, wp, lane string) map[string]any {
	return map[string]any{
		"event_id": id, "event_type": "WPStatusChanged", "aggregate_id": wp, "aggregate_type": "WorkPackage",
		"schema_version": "3.0.0", "build_id": "b-1",
		"payload": map[string]any{"event_id": id, "wp_id": wp, "from_lane": "planned", "to_lane": lane},
		"node_id": "node-1", "lamport_clock": 1, "timestamp": "2026-03-01T12:00:00Z",
		"project_uuid": "p-uuid", "project_slug": project, "team_slug": "team-dev",
	}
}

func postEvents(t *testing.T, s *Server, token string, events ...any) resp {
	t.Helper()
	b, err := json.Marshal(map[string]any{"events": events})
	if err != nil {
		t.Fatal(err)
	}
	return send(t, batchReq(t, s, token, gz(t, b)))
}

func isTransportError(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
