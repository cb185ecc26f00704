package hosted

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzResponse feeds arbitrary bodies to the response parsers: success
// decoding with required fields and error classification. Neither may panic,
// and every error is one line that starts with the host.
func FuzzResponse(f *testing.F) {
	c := New(Host{URL: "https://sync.example.com"}, nil)
	c.Now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	r := &request{method: http.MethodGet, path: "/api/v1/me"}
	f.Fuzz(func(t *testing.T, status int, ctype string, retryAfter string, body []byte) {
		resp := &response{status: status, header: http.Header{"Content-Type": {ctype}, "Retry-After": {retryAfter}}, body: body}
		check := func(err error) {
			if err == nil {
				return
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "https://sync.example.com: GET /api/v1/me: ") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("bad error text %q", msg)
			}
		}
		var m Me
		check(c.decode(r, resp, &m, "user_id", "email"))
		e := c.statusError(r, resp)
		check(e)
		if e.RetryAfter < 0 || e.RetryAfter > MaxRetryAfter {
			t.Fatalf("retry after %v", e.RetryAfter)
		}
	})
}
