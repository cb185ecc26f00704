package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spec-kitty/spec-kitty-sync/core/policy"
)

// The known keys, dotted as on the command line.
const (
	KeyServerURL        = "sync.server_url"
	KeyMaxQueueSize     = "sync.max_queue_size"
	KeyBackgroundDaemon = "sync.background_daemon"
)

// DefaultMaxQueueSize is sync.max_queue_size when it is not configured.
const DefaultMaxQueueSize = 100000

// Source says where an effective value came from.
type Source string

const (
	SourceDefault Source = "default" // nothing configured, or an unknown value ignored
	SourceFile    Source = "file"    // config.toml
)

// table is the one TOML table that holds the known keys.
const table = "sync"

// Keys returns the known keys in documentation order.
func Keys() []string {
	return []string{KeyServerURL, KeyMaxQueueSize, KeyBackgroundDaemon}
}

// CheckKey returns a *KeyError unless key is one of Keys.
func CheckKey(key string) error {
	for _, k := range Keys() {
		if k == key {
			return nil
		}
	}
	return &KeyError{Key: key}
}

// KeyError is an unknown key given to Get, Set or Unset.
type KeyError struct {
	Key string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("unknown config key %q; known keys: %s", e.Key, strings.Join(Keys(), ", "))
}

// ValueError is a value Set refuses for a known key.
type ValueError struct {
	Key    string
	Value  string
	Reason string // e.g. `allowed values are "auto" and "manual"`
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("invalid value %q for %s: %s", e.Value, e.Key, e.Reason)
}

// assignment is a validated value ready to be written: its TOML literal and
// the value BurntSushi decodes that literal to.
type assignment struct {
	literal string
	decoded any
}

// encode validates raw for key as Set does and returns what to write.
func encode(key, raw string) (assignment, error) {
	bad := func(reason string) (assignment, error) {
		return assignment{}, &ValueError{Key: key, Value: raw, Reason: reason}
	}
	switch key {
	case KeyBackgroundDaemon:
		p, known, err := policy.Parse(raw)
		if err != nil || !known {
			return bad(allowedPolicies)
		}
		return assignment{literal: quote(string(p)), decoded: string(p)}, nil
	case KeyMaxQueueSize:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || n < 1 || n > math.MaxInt {
			return bad(fmt.Sprintf("must be a whole number from 1 to %d", math.MaxInt))
		}
		return assignment{literal: strconv.FormatInt(n, 10), decoded: n}, nil
	case KeyServerURL:
		u := strings.TrimSpace(raw)
		if why := checkServerURL(u); why != "" {
			return bad(why)
		}
		return assignment{literal: quote(u), decoded: u}, nil
	}
	return assignment{}, &KeyError{Key: key}
}

// allowedPolicies is a constant (no fmt.Sprintf at start-up, issue 18); the
// policy names need no quoting beyond the quotes.
const allowedPolicies = `allowed values are "` + string(policy.Auto) + `" and "` + string(policy.Manual) + `"`

// checkServerURL applies the host rules of CONTRACTS.md §8.1 so `config set`
// cannot store a URL the hosted client would refuse. It returns why u is bad,
// or "".
func checkServerURL(u string) string {
	if u == "" {
		return "empty value; unset the key to remove it"
	}
	if !utf8.ValidString(u) {
		return "not valid UTF-8"
	}
	p, err := url.Parse(u)
	if err != nil {
		return "not a URL"
	}
	scheme := strings.ToLower(p.Scheme)
	switch {
	case scheme != "https" && scheme != "http":
		return "must be an https:// URL such as https://sync.example.com"
	case p.Hostname() == "":
		return "no host name"
	case p.User != nil:
		return "credentials in the URL are not allowed"
	case p.RawQuery != "" || p.ForceQuery || p.Fragment != "" || p.Opaque != "":
		return "a query or fragment is not allowed"
	case scheme == "http" && !isLoopback(p.Hostname()):
		return "must use https:// (http:// is allowed only for localhost, 127.0.0.0/8 and ::1)"
	}
	return ""
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// quote returns s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
