package hosted

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Kind classifies a failure by what the caller should do about it.
type Kind string

// Kinds. The values are stable (they appear in --json output and logs).
const (
	// KindPermanent: retrying the same request will fail the same way
	// (4xx other than 401/408/429, a malformed response, a refused redirect).
	KindPermanent Kind = "permanent"
	// KindRetryable: a transport failure, a timeout, 408 or 5xx; retry later.
	KindRetryable Kind = "retryable"
	// KindRetryAfter: the host asked to wait RetryAfter before retrying (429,
	// or 503 with Retry-After).
	KindRetryAfter Kind = "retry_after"
	// KindAuthExpired: the session is missing, belongs to another host, or
	// was rejected even after one refresh; the user must sign in again.
	KindAuthExpired Kind = "auth_expired"
	// KindConfig: the host URL or the request itself is unusable as given.
	KindConfig Kind = "config"
)

// OAuth token-endpoint error codes (Error.Code on a 400 from /oauth/token).
const (
	CodeAuthorizationPending = "authorization_pending"
	CodeSlowDown             = "slow_down"
	CodeAccessDenied         = "access_denied"
	CodeExpiredToken         = "expired_token"
	CodeInvalidGrant         = "invalid_grant"
	CodeInvalidRequest       = "invalid_request"
)

// Hosted API error codes the client reacts to (Error.Code).
const (
	CodeBindingNotFound = "binding_not_found"
	CodeBatchTooLarge   = "batch_too_large"
	CodeInvalidBatch    = "invalid_batch"
	CodeTokenExpired    = "token_expired"
	CodeUnauthorized    = "unauthorized"
	CodeUnknownProvider = "unknown_provider"
)

// Error is every failure the client returns. Its text always names the host
// and what went wrong and never contains a token.
type Error struct {
	Kind       Kind
	Host       string        // the host URL (credentials redacted)
	Op         string        // "POST /oauth/token"; empty for configuration errors
	Status     int           // HTTP status; 0 when no response arrived
	Code       string        // error_code, or the OAuth "error"
	Message    string        // what was wrong, lower-case
	RetryAfter time.Duration // set for KindRetryAfter (and 503 with Retry-After)
	Err        error         // underlying cause (transport, context); never holds a token
}

func (e *Error) Error() string {
	parts := make([]string, 0, 3)
	for _, p := range []string{e.Host, e.Op, e.Message} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ": ")
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err when it is (or wraps) an *Error, else "".
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// CodeOf returns the error code of err when it is (or wraps) an *Error.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ErrRedirectRefused is the cause of an error for a redirect to another host.
var ErrRedirectRefused = errors.New("redirect to another host refused")

// describeTransport turns a transport error into a short, token-free phrase.
func describeTransport(err error, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	var dnsErr *net.DNSError
	var certErr *x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.Is(err, ErrRedirectRefused):
		return err.Error()
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		if timeout > 0 {
			return fmt.Sprintf("no response within %s (timeout)", timeout)
		}
		return "no response before the deadline (timeout)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the host"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before a complete response"
	case errors.As(err, &dnsErr):
		return "cannot resolve the host name"
	case errors.As(err, &certErr), errors.As(err, &hostErr):
		return "TLS certificate not trusted: " + err.Error()
	}
	return err.Error()
}

// Failure is what a person needs to know about a failed call: the
// readiness state it amounts to (a wire code of core/readiness:
// "host_unreachable" when no answer arrived, "missing_auth" when the session
// was refused, "missing_host_config" for an unusable URL; "" when the host
// answered with an error of its own) and the HTTP status when one arrived.
func Failure(err error) (state string, status int) {
	var e *Error
	if !errors.As(err, &e) {
		return "", 0
	}
	switch {
	case e.Kind == KindAuthExpired:
		return "missing_auth", e.Status
	case e.Kind == KindConfig:
		return "missing_host_config", 0
	case e.Status == 0:
		return "host_unreachable", 0
	}
	return "", e.Status
}
