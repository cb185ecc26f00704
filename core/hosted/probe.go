package hosted

import (
	"context"
	"net/http"
	"time"
)

// ProbeTimeout is the one total deadline of Probe (CONTRACTS §4 check 4).
const ProbeTimeout = 2 * time.Second

// Probe sends one HEAD / with one total deadline of ProbeTimeout covering
// DNS, connect, TLS and the response. Any HTTP response, whatever its status
// (redirects are not followed), means reachable; only a transport failure or
// the deadline returns an error. No retry, no token.
func (c *Client) Probe(ctx context.Context) error {
	limit := ProbeTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < limit {
		limit = max(time.Until(dl), 0).Round(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	r := &request{method: http.MethodHead, path: "/"}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, c.Host.Endpoint("/"), nil)
	if err != nil {
		return &Error{Kind: KindConfig, Host: c.Host.URL, Op: r.op(), Message: err.Error()}
	}
	req.Header.Set("User-Agent", c.UserAgent)
	hc := http.Client{Transport: c.httpc.Transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := hc.Do(req)
	if err != nil {
		return &Error{Kind: KindRetryable, Host: c.Host.URL, Op: r.op(), Message: describeTransport(err, limit), Err: err}
	}
	resp.Body.Close()
	return nil
}
