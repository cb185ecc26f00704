package hosted

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spec-kitty/spec-kitty-sync/core/hosted/hostedtest"
)

// TestFaults drives every hostedtest fault switch through the client and
// checks the classification, the retries and the wording.
func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults hostedtest.Faults
		call   func(ctx context.Context, c *Client) error
		path   string // the endpoint whose request count is checked
		// want
		ok        bool
		kind      Kind
		status    int
		contains  []string
		requests  int
		sleeps    []time.Duration
		anySleeps bool
	}{
		{
			name: "500 on GET retried then fails", faults: hostedtest.Faults{ErrorFraction: 1},
			call: me, path: "/api/v1/me", kind: KindRetryable, status: 500,
			contains: []string{"GET /api/v1/me", "HTTP 500 internal_error"}, requests: 3,
			sleeps: []time.Duration{125 * time.Millisecond, 250 * time.Millisecond},
		},
		{
			name: "500 on POST without key not retried", faults: hostedtest.Faults{ErrorFraction: 1},
			call: postOne, path: "/api/v1/events/batch/", kind: KindRetryable, status: 500, requests: 1,
		},
		{
			name: "500 on idempotency-keyed POST retried", faults: hostedtest.Faults{ErrorFraction: 1},
			call: pull, path: "/api/v1/tracker/pull/", kind: KindRetryable, status: 500, requests: 3,
			sleeps: []time.Duration{125 * time.Millisecond, 250 * time.Millisecond},
		},
		{
			name: "429 waits Retry-After and succeeds", faults: hostedtest.Faults{TooManyRequests: 1, RetryAfter: 7},
			call: postOne, path: "/api/v1/events/batch/", ok: true, requests: 2, sleeps: []time.Duration{7 * time.Second},
		},
		{
			name: "429 beyond the budget", faults: hostedtest.Faults{TooManyRequests: 5, RetryAfter: 90},
			call: me, path: "/api/v1/me", kind: KindRetryAfter, status: 429, requests: 3,
			contains: []string{"HTTP 429 rate_limited", "retry after 1m0s"},
			sleeps:   []time.Duration{MaxRetryAfter, MaxRetryAfter},
		},
		{
			name: "reset on GET retried and succeeds", faults: hostedtest.Faults{ResetNext: 1},
			// net/http itself may retry an idempotent request on a reused
			// connection, so whether the client slept is not fixed.
			call: me, path: "/api/v1/me", ok: true, requests: 2, anySleeps: true,
		},
		{
			name: "reset on POST fails at once", faults: hostedtest.Faults{ResetNext: 1},
			call: postOne, path: "/api/v1/events/batch/", kind: KindRetryable, requests: 1,
			contains: []string{"POST /api/v1/events/batch/", "connection"},
		},
		{
			name: "hang times out", faults: hostedtest.Faults{HangNext: 1},
			call: postOne, path: "/api/v1/events/batch/", kind: KindRetryable, requests: 1,
			contains: []string{"no response within 300ms (timeout)"},
		},
		{
			name: "401 refreshes once and retries", faults: hostedtest.Faults{UnauthorizedNext: 1},
			call: me, path: "/api/v1/me", ok: true, requests: 2,
		},
		{
			name: "401 twice is auth expired", faults: hostedtest.Faults{UnauthorizedNext: 2},
			call: me, path: "/api/v1/me", kind: KindAuthExpired, status: 401, requests: 2,
			contains: []string{"HTTP 401 token_expired"},
		},
		{
			name: "HTML instead of JSON", faults: hostedtest.Faults{HTMLNext: 1},
			call: me, path: "/api/v1/me", kind: KindPermanent, status: 200, requests: 1,
			contains: []string{"GET /api/v1/me", "answered HTML instead of JSON"},
		},
		{
			name: "truncated JSON", faults: hostedtest.Faults{TruncatedJSONNext: 1},
			call: postOne, path: "/api/v1/events/batch/", kind: KindPermanent, status: 200, requests: 1,
			contains: []string{"answered truncated JSON"},
		},
		{
			name: "redirect to another host refused", faults: hostedtest.Faults{RedirectNext: 1},
			call: me, path: "/api/v1/me", kind: KindPermanent, requests: 1,
			contains: []string{"redirect to another host refused", "127.0.0.2"},
		},
		{
			name: "latency within the timeout", faults: hostedtest.Faults{Latency: 20 * time.Millisecond},
			call: me, path: "/api/v1/me", ok: true, requests: 1,
		},
		{
			name: "token endpoint hangs", faults: hostedtest.Faults{HangNext: 1},
			call: func(ctx context.Context, c *Client) error { _, err := c.RequestDeviceCode(ctx); return err },
			path: "/oauth/device", kind: KindRetryable, requests: 1, contains: []string{"POST /oauth/device", "timeout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, hostedtest.Options{})
			var logs bytes.Buffer
			e.c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			e.c.Timeout = 300 * time.Millisecond
			before := len(e.clk.Sleeps())
			reqBefore := e.srv.RequestCount(tt.path)
			e.faults(t, tt.faults)
			err := tt.call(context.Background(), e.c)
			if got := e.srv.RequestCount(tt.path) - reqBefore; got != tt.requests {
				t.Errorf("requests to %s = %d, want %d", tt.path, got, tt.requests)
			}
			if diff := cmp.Diff(tt.sleeps, e.clk.Sleeps()[before:], cmpopts.EquateEmpty()); diff != "" && !tt.anySleeps {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
			assertNoSecret(t, logs.String(), e.secrets()...)
			if tt.ok {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			he := asError(t, err)
			if he.Kind != tt.kind || he.Status != tt.status {
				t.Errorf("kind %q status %d, want %q %d (%v)", he.Kind, he.Status, tt.kind, tt.status, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, e.host.URL+": ") {
				t.Errorf("error %q does not start with the host", msg)
			}
			for _, w := range tt.contains {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q spans lines", msg)
			}
			assertNoSecret(t, msg, e.secrets()...)
		})
	}
}

func me(ctx context.Context, c *Client) error { _, err := c.Me(ctx); return err }

func postOne(ctx context.Context, c *Client) error {
	_, err := c.PostEvents(ctx, []json.RawMessage{envelope("f1")})
	return err
}

func pull(ctx context.Context, c *Client) error {
	_, err := c.StartSync(ctx, SyncPull, "k1", SyncRequest{Provider: "linear", BindingRef: hostedtest.SeededBindingRef, ProjectSlug: "spec-kitty"})
	return err
}

// TestRedirectNeverCarriesToken: the other host sees no request at all.
func TestRedirectNeverCarriesToken(t *testing.T) {
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(200)
	}))
	defer other.Close()
	e := newEnv(t, hostedtest.Options{})
	e.faults(t, hostedtest.Faults{RedirectNext: 1, RedirectTo: other.URL})
	if _, err := e.c.Me(context.Background()); err == nil || !strings.Contains(err.Error(), "redirect to another host refused") {
		t.Fatalf("err = %v", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("the other host got %d requests", hits.Load())
	}
}

// TestRetryAfterRespectsDeadline: a wait longer than the context allows is
// not started; the retry-after error comes back at once.
func TestRetryAfterRespectsDeadline(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	e.faults(t, hostedtest.Faults{TooManyRequests: 1, RetryAfter: 30})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := e.c.Me(ctx)
	he := asError(t, err)
	if he.Kind != KindRetryAfter || he.RetryAfter != 30*time.Second {
		t.Fatalf("err = %+v", he)
	}
	if n := len(e.clk.Sleeps()); n != 1 { // the sign-in's poll interval only
		t.Errorf("slept %d times", n)
	}
}

func TestCanceledContext(t *testing.T) {
	e := newEnv(t, hostedtest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.c.Me(ctx)
	if !errorsIsCanceled(err) {
		t.Fatalf("err = %v", err)
	}
}

func errorsIsCanceled(err error) bool {
	he, ok := err.(*Error)
	return ok && he.Err == context.Canceled
}
