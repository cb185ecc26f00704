package hosted

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestMalformedResponses: answers hostedtest never gives. Each ends in a
// permanent error naming the host, the call and what was wrong.
func TestMalformedResponses(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		ctype    string
		body     string
		call     func(context.Context, *Client) error
		contains string
	}{
		{"missing field", 200, "application/json", `{"email":"a@b"}`, me, `response is missing field "user_id"`},
		{"null field", 200, "application/json", `{"user_id":null,"email":"a@b"}`, me, `response is missing field "user_id"`},
		{"wrong type", 200, "application/json", `{"user_id":7,"email":"a@b"}`, me, `response field "user_id" has the wrong type`},
		{"empty body", 200, "application/json", ``, me, "answered an empty body instead of JSON"},
		{"array", 200, "application/json", `[1,2]`, me, "answered JSON that is not an object"},
		{"garbage", 200, "application/json", `{"user_id":"u" "x"}`, me, "answered invalid JSON"},
		{"html without content type", 200, "", `<html><body>hi</body></html>`, me, "answered HTML instead of JSON"},
		{"truncated", 200, "application/json", `{"user_id":"u","em`, me, "answered truncated JSON"},
		{"team without id", 200, "application/json", `{"user_id":"u","email":"e","teams":[{"name":"x"}]}`, me, `missing field "teams[0].id"`},
		{"result count", 200, "application/json", `{"results":[]}`, postOne, "answered 0 results for 1 events"},
		{"result id", 200, "application/json", `{"results":[{"event_id":"zz","status":"success"}]}`, postOne, `result 0 is for event "zz", expected "f1"`},
		{"result status", 200, "application/json", `{"results":[{"event_id":"f1","status":"maybe"}]}`, postOne, `unknown status "maybe"`},
		{"token without access", 200, "application/json", `{"expires_in":3600}`, refresh, `missing field "access_token"`},
		{"token bad type", 200, "application/json", `{"access_token":"a","expires_in":3600,"token_type":"mac"}`, refresh, `unsupported token_type "mac"`},
		{"token bad expiry", 200, "application/json", `{"access_token":"a","expires_in":0}`, refresh, `"expires_in" is not positive`},
		{"sync 200 without status", 200, "application/json", `{"operation":"pull"}`, pull, `missing field "status"`},
		{"sync 202 without id", 202, "application/json", `{}`, pull, `missing field "operation_id"`},
		{"exact without ref", 200, "application/json", `{"match_type":"exact"}`, resolve, `missing field "binding_ref"`},
		{"html error page", 502, "text/html", `<html>bad gateway</html>`, postOne, "HTTP 502 an HTML page instead of JSON"},
		{"text error", 400, "text/plain", `nope`, postOne, "HTTP 400 a non-JSON body"},
		{"bare redirect", 302, "", ``, postOne, "HTTP 302 redirect not followed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			h, err := ParseHost(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			c := New(h, StaticToken(h, NewSecret("tok_malformed_secret"), "team-dev"))
			c.Sleep = func(context.Context, time.Duration) error { return nil }
			err = tt.call(context.Background(), c)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, h.URL+": ") || !strings.Contains(msg, tt.contains) {
				t.Errorf("error %q: want host prefix and %q", msg, tt.contains)
			}
			assertNoSecret(t, msg, "tok_malformed_secret", "rt_x")
		})
	}
}

func refresh(ctx context.Context, c *Client) error {
	_, err := c.RefreshToken(ctx, NewSecret("rt_x"))
	return err
}

func resolve(ctx context.Context, c *Client) error {
	_, err := c.BindResolve(ctx, BindResolveRequest{Provider: "linear", ProjectSlug: "x"})
	return err
}

// TestSameHostRedirectFollowed: a redirect on the same host is followed.
func TestSameHostRedirectFollowed(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/me" {
			http.Redirect(w, r, srv.URL+"/api/v1/me/", http.StatusTemporaryRedirect)
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"user_id": "u", "email": "e"})
	}))
	defer srv.Close()
	h, _ := ParseHost(srv.URL)
	m, err := New(h, StaticToken(h, NewSecret("tok"), "")).Me(context.Background())
	if err != nil || m.UserID != "u" {
		t.Fatalf("me = %+v, %v", m, err)
	}
}

func TestSecretUnmarshal(t *testing.T) {
	var v struct {
		A Secret `json:"a"`
		B Secret `json:"b"`
	}
	if err := json.Unmarshal([]byte(`{"a":"x1","b":null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.Reveal() != "x1" || !v.B.IsZero() {
		t.Fatalf("got %q %q", v.A.Reveal(), v.B.Reveal())
	}
	err := json.Unmarshal([]byte(`{"a":12345}`), &v)
	if err == nil || strings.Contains(err.Error(), "12345") {
		t.Fatalf("err = %v", err)
	}
}
