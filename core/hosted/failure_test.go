package hosted

import (
	"errors"
	"fmt"
	"testing"
)

func TestFailure(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		state  string
		status int
	}{
		{"no answer", &Error{Kind: KindRetryable, Host: "h", Message: "connection refused"}, "host_unreachable", 0},
		{"server error", fmt.Errorf("upload: %w", &Error{Kind: KindRetryable, Status: 503}), "", 503},
		{"session refused", &Error{Kind: KindAuthExpired, Status: 401}, "missing_auth", 401},
		{"bad URL", &Error{Kind: KindConfig}, "missing_host_config", 0},
		{"not ours", errors.New("disk full"), "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, status := Failure(tt.err)
			if state != tt.state || status != tt.status {
				t.Errorf("Failure = %q, %d; want %q, %d", state, status, tt.state, tt.status)
			}
		})
	}
}
