package hosted

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

// InvalidHostPrefix starts the message of a host URL ParseHost refuses.
const InvalidHostPrefix = "invalid SaaS host URL: "

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

// ResolveHost implements CONTRACTS §8.1: SPEC_KITTY_SAAS_URL when non-empty,
// else configServerURL when non-empty, else ErrNoHost. A URL that is not
// https (or http on a loopback host) is a KindConfig *Error naming the URL and
// where it came from.
func ResolveHost(getenv func(string) string, configServerURL string) (Host, error) {
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
	h, err := ParseHost(raw)
	if err != nil {
		var he *Error
		if errors.As(err, &he) {
			he.Message = fmt.Sprintf("%s (from %s)", he.Message, source)
		}
		return Host{}, err
	}
	return h, nil
}

// ParseHost validates and normalises one host URL (see ResolveHost).
func ParseHost(raw string) (Host, error) {
	raw = strings.TrimSpace(raw)
	bad := func(why string) (Host, error) {
		return Host{}, &Error{Kind: KindConfig, Host: redactURL(raw), Message: InvalidHostPrefix + why}
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

// redactURL hides any password embedded in raw before it goes into a message.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = url.User("redacted")
	return u.String()
}
