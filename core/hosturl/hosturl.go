// Package hosturl resolves and validates the hosted SaaS base URL
// (CONTRACTS §8.1): SPEC_KITTY_SAAS_URL, else [sync].server_url, https
// unless loopback, normalised. It parses strings only — no network, no HTTP
// client — so the tray can run the local readiness checks with it. core/hosted
// re-exports it with its own error type.
package hosturl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// ErrNoHost means neither SPEC_KITTY_SAAS_URL nor [sync].server_url is set:
// the readiness state missing_host_config, not a configuration error.
var ErrNoHost = errors.New("no SaaS host URL is configured")

// InvalidHostPrefix starts the message of a host URL Parse refuses.
const InvalidHostPrefix = "invalid SaaS host URL: "

// Error is a host URL that cannot be used. Its text names the URL (any
// password redacted) and what is wrong with it.
type Error struct {
	Host    string // the URL as given, credentials redacted
	Message string // starts with InvalidHostPrefix
}

func (e *Error) Error() string { return e.Host + ": " + e.Message }

// Host is one resolved, validated hosted SaaS base URL. URL is normalised:
// lower-case scheme and host, no default port, no trailing '/', no query.
// Two Hosts are the same host iff their URLs are equal.
type Host struct {
	URL string
}

// IsZero reports whether h is the zero Host (no host resolved).
func (h Host) IsZero() bool { return h.URL == "" }

// String returns the URL.
func (h Host) String() string { return h.URL }

// Endpoint returns the absolute URL of path (which starts with '/').
func (h Host) Endpoint(path string) string { return h.URL + path }

// Resolve implements CONTRACTS §8.1: SPEC_KITTY_SAAS_URL when non-empty,
// else configServerURL when non-empty, else ErrNoHost. A URL that is not
// https (or http on a loopback host) is an *Error naming the URL and where it
// came from.
func Resolve(getenv func(string) string, configServerURL string) (Host, error) {
	raw, source := "", ""
	if getenv != nil {
		raw, source = strings.TrimSpace(getenv(paths.SaaSURLEnv)), paths.SaaSURLEnv
	}
	if raw == "" {
		raw, source = strings.TrimSpace(configServerURL), "[sync].server_url"
	}
	if raw == "" {
		return Host{}, ErrNoHost
	}
	h, err := Parse(raw)
	if err != nil {
		var he *Error
		if errors.As(err, &he) {
			he.Message = fmt.Sprintf("%s (from %s)", he.Message, source)
		}
		return Host{}, err
	}
	return h, nil
}

// Parse validates and normalises one host URL (see Resolve).
func Parse(raw string) (Host, error) {
	raw = strings.TrimSpace(raw)
	bad := func(why string) (Host, error) {
		return Host{}, &Error{Host: redactURL(raw), Message: InvalidHostPrefix + why}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return bad("it must start with https://")
	}
	if u.Host == "" || u.Hostname() == "" {
		return bad("no host name")
	}
	if u.User != nil {
		return bad("credentials in the URL are not allowed")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return bad("a query or fragment is not allowed")
	}
	hostname := strings.ToLower(u.Hostname())
	port := u.Port()
	if scheme == "http" && !IsLoopback(hostname) {
		return bad("https is required unless the host is loopback (127.0.0.0/8, ::1, localhost)")
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	hostport := hostname
	if strings.Contains(hostname, ":") {
		hostport = "[" + hostname + "]"
	}
	if port != "" {
		hostport = net.JoinHostPort(hostname, port)
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	return Host{URL: scheme + "://" + hostport + path}, nil
}

// IsLoopback reports whether hostname (no port) is loopback: localhost,
// 127.0.0.0/8 or ::1.
func IsLoopback(hostname string) bool {
	hostname = strings.TrimSuffix(strings.TrimPrefix(hostname, "["), "]")
	if strings.EqualFold(hostname, "localhost") {
		return true
	}
	ip := net.ParseIP(hostname)
	return ip != nil && ip.IsLoopback()
}

// redactURL hides any password embedded in raw before it goes into a message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = url.User("redacted")
	return u.String()
}
