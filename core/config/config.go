// Package config owns the user configuration file `<home>/config.toml`
// (CONTRACTS.md §5): its model and defaults, loading with the contract's
// validation and warnings, and a comment-preserving editor behind
// `spec-kitty config set|unset`.
//
// Loading never creates, locks or writes anything. Set and Unset are the only
// writers in the package; they create the state home and replace config.toml
// atomically (mode 0600), keeping every byte they do not have to change.
// The package does not resolve the effective host (SPEC_KITTY_SAAS_URL wins
// over sync.server_url; that is core/hosted's job) and does not start or
// signal the daemon.
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
)

// Config is the effective configuration: file values over defaults. The zero
// value is not meaningful; start from Default or Load.
type Config struct {
	// Path is the file the values were loaded from (it may not exist).
	Path string
	// ServerURL is sync.server_url as written, "" when not set. It is not
	// validated here; core/hosted resolves and validates the host.
	ServerURL string
	// MaxQueueSize is sync.max_queue_size, always >= 1.
	MaxQueueSize int
	// BackgroundDaemon is sync.background_daemon, Auto or Manual.
	BackgroundDaemon policy.Policy
	// Sources maps each key set in the file to SourceFile; keys not in the
	// map come from the defaults.
	Sources map[string]Source
	// Warnings are the problems Load tolerated (an unknown policy value),
	// each one line, whether or not they were printed this time.
	Warnings []string
}

// Default returns the configuration used when nothing is configured.
func Default() Config {
	return Config{MaxQueueSize: DefaultMaxQueueSize, BackgroundDaemon: policy.Default}
}

// Policy returns the background-daemon policy (Auto for a zero Config). Its
// method value fits policy.Decide: policy.Decide(gate, intent, cfg.Policy).
func (c Config) Policy() policy.Policy {
	if c.BackgroundDaemon == "" {
		return policy.Default
	}
	return c.BackgroundDaemon
}

// Source returns where the effective value of key came from.
func (c Config) Source(key string) Source {
	if s, ok := c.Sources[key]; ok {
		return s
	}
	return SourceDefault
}

// Setting is one key's effective value. Value is a string, or an int for
// sync.max_queue_size.
type Setting struct {
	Key    string `json:"key"`
	Value  any    `json:"value"`
	Source Source `json:"source"`
}

// Get returns the effective value of key, or a *KeyError.
func (c Config) Get(key string) (Setting, error) {
	var v any
	switch key {
	case KeyServerURL:
		v = c.ServerURL
	case KeyMaxQueueSize:
		v = c.MaxQueueSize
	case KeyBackgroundDaemon:
		v = string(c.Policy())
	default:
		return Setting{}, &KeyError{Key: key}
	}
	return Setting{Key: key, Value: v, Source: c.Source(key)}, nil
}

// List returns every known key's effective value, in Keys order.
func (c Config) List() []Setting {
	out := make([]Setting, 0, len(Keys()))
	for _, k := range Keys() {
		s, _ := c.Get(k)
		out = append(out, s)
	}
	return out
}

// FileError is a problem in the config file: a TOML syntax error, or a known
// key whose value Load cannot use. Line and Col are 1-based (Col counts
// bytes), 0 when the position is unknown.
type FileError struct {
	Path      string
	Line, Col int
	Key       string // the key at fault; "" for a syntax error
	Msg       string
}

func (e *FileError) Error() string {
	loc := e.Path
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.Path, e.Line, e.Col)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
	}
	return loc + ": " + e.Msg
}

// Load reads the configuration at path (paths.Home.Config()). A missing file,
// table or key means the default. Syntax errors, wrong types, an empty
// background_daemon and a max_queue_size below 1 are *FileError values naming
// the file, line and column. An unknown background_daemon value means Auto and
// prints one warning line on warn, once per process (warn may be nil).
// Unknown tables and keys are allowed. Load never creates anything.
func Load(path string, warn io.Writer) (Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		c := Default()
		c.Path = path
		return c, nil
	}
	if err != nil {
		return Config{}, fmt.Errorf("read config %s: %w", path, err)
	}
	return parse(path, data, warn)
}

func parse(path string, data []byte, warn io.Writer) (Config, error) {
	c := Default()
	c.Path = path
	_, body := splitBOM(string(data))
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		return Config{}, syntaxError(path, string(data), err)
	}
	raw, ok := doc[table]
	if !ok {
		return c, nil
	}
	sync, ok := raw.(map[string]any)
	if !ok {
		return Config{}, keyError(path, body, []string{table}, "must be a table, not "+typeName(raw))
	}
	fromFile := func(key string) {
		if c.Sources == nil {
			c.Sources = map[string]Source{}
		}
		c.Sources[key] = SourceFile
	}
	for _, key := range Keys() {
		name := strings.TrimPrefix(key, table+".")
		v, ok := sync[name]
		if !ok {
			continue
		}
		bad := func(msg string) (Config, error) {
			return Config{}, keyError(path, body, []string{table, name}, msg)
		}
		switch key {
		case KeyServerURL:
			s, ok := v.(string)
			if !ok {
				return bad("must be a string, not " + typeName(v))
			}
			c.ServerURL = s
			fromFile(key)
		case KeyMaxQueueSize:
			n, ok := v.(int64)
			if !ok {
				return bad("must be an integer, not " + typeName(v))
			}
			if n < 1 || n > math.MaxInt {
				return bad(fmt.Sprintf("must be >= 1, got %d", n))
			}
			c.MaxQueueSize = int(n)
			fromFile(key)
		case KeyBackgroundDaemon:
			s, ok := v.(string)
			if !ok {
				// The Python CLI (sync/config.py get_background_daemon) warns
				// and uses auto for a non-string value; so do we, so that one
				// config.toml means the same policy to both tools.
				msg := fmt.Sprintf("%s: %s: must be a string, not %s (%s); using %q", path, key, typeName(v), allowedPolicies, policy.Auto)
				c.Warnings = append(c.Warnings, msg)
				warnOnce(warn, msg)
				continue // the default applies
			}
			p, known, err := policy.Parse(s)
			if err != nil {
				return bad("empty value; " + allowedPolicies)
			}
			if !known {
				msg := fmt.Sprintf("%s: %s: unknown value %q (%s); using %q", path, key, s, allowedPolicies, policy.Auto)
				c.Warnings = append(c.Warnings, msg)
				warnOnce(warn, msg)
				continue // the default applies
			}
			c.BackgroundDaemon = p
			fromFile(key)
		}
	}
	return c, nil
}

// warned makes the unknown-policy warning appear once per process
// (CONTRACTS.md §5), however often the configuration is loaded.
var warned atomic.Bool

func warnOnce(w io.Writer, msg string) {
	if w == nil {
		return
	}
	if warned.CompareAndSwap(false, true) {
		fmt.Fprintf(w, "spec-kitty: warning: %s\n", msg)
	}
}

// syntaxError names the file, line and column of a TOML syntax error. The
// position is computed from the error's byte offset: BurntSushi's own line
// number is one too far when the offending byte is a newline.
func syntaxError(path, text string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		_, body := splitBOM(text)
		line, col := lineCol(body, pe.Position.Start)
		if pe.Position.Start == 0 && pe.Position.Line > 1 {
			line, col = pe.Position.Line, pe.Position.Col
		}
		return &FileError{Path: path, Line: line, Col: col, Msg: "invalid TOML: " + pe.Message}
	}
	return &FileError{Path: path, Msg: "invalid TOML: " + err.Error()}
}

// keyError reports a bad value of the key at target, located in body when the
// line editor's scanner can find it.
func keyError(path, body string, target []string, msg string) error {
	e := &FileError{Path: path, Key: strings.Join(target, "."), Msg: msg}
	if off, ok := locate(body, target); ok {
		e.Line, e.Col = lineCol(body, off)
	}
	return e
}

// locate returns the offset of target's value, or of the closest enclosing
// definition (a header, or an inline table holding it).
func locate(body string, target []string) (int, bool) {
	stmts, err := scan(body)
	if err != nil {
		return 0, false
	}
	var tbl []string
	best, bestLen := 0, 0
	for _, st := range stmts {
		switch st.kind {
		case stmtTable, stmtArrayTable:
			tbl = st.path
			if len(tbl) > bestLen && hasPrefix(target, tbl) {
				best, bestLen = st.start+indent(body[st.start:]), len(tbl)
			}
		case stmtKeyValue:
			full := slices.Concat(tbl, st.path)
			if slices.Equal(full, target) {
				return st.valStart, true
			}
			if len(full) > bestLen && hasPrefix(target, full) {
				best, bestLen = st.valStart, len(full)
			}
		}
	}
	return best, bestLen > 0
}

func hasPrefix(s, prefix []string) bool {
	return len(s) >= len(prefix) && slices.Equal(s[:len(prefix)], prefix)
}

// indent is the length of the leading blanks of line.
func indent(line string) int {
	return len(line) - len(strings.TrimLeft(line, " \t"))
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}
