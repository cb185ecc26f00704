package hosted

import (
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/spec-kitty/spec-kitty-sync/core/hosturl"
)

// ErrNoHost means neither SPEC_KITTY_SAAS_URL nor [sync].server_url is set:
// the readiness state missing_host_config, not a configuration error.
var ErrNoHost = hosturl.ErrNoHost

// InvalidHostPrefix starts the message of a host URL ParseHost refuses.
const InvalidHostPrefix = hosturl.InvalidHostPrefix

// Host is one resolved, validated hosted SaaS base URL (see core/hosturl,
// which resolves it without linking this client).
type Host = hosturl.Host

// ResolveHost is hosturl.Resolve with the client's error type: a URL that is
// not https (or http on a loopback host) is a KindConfig *Error naming the
// URL and where it came from.
func ResolveHost(getenv func(string) string, configServerURL string) (Host, error) {
	h, err := hosturl.Resolve(getenv, configServerURL)
	return h, configError(err)
}

// ParseHost is hosturl.Parse with the client's error type.
func ParseHost(raw string) (Host, error) {
	h, err := hosturl.Parse(raw)
	return h, configError(err)
}

// IsLoopback reports whether hostname (no port) is loopback: localhost,
// 127.0.0.0/8 or ::1.
func IsLoopback(hostname string) bool { return hosturl.IsLoopback(hostname) }

// configError turns a *hosturl.Error into a KindConfig *Error with the same
// text; other errors pass unchanged.
func configError(err error) error {
	var he *hosturl.Error
	if !errors.As(err, &he) {
		return err
	}
	return &Error{Kind: KindConfig, Host: he.Host, Message: he.Message, Err: he}
}

// sameOriginKey returns scheme://host[:port] of u, the unit the redirect
// rule compares.
func sameOriginKey(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		return scheme + "://" + net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		return scheme + "://[" + host + "]"
	}
	return scheme + "://" + host
}
