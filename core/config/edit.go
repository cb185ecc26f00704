package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/spec-kitty/spec-kitty-sync/core/atomicfile"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// Set validates value for the known key (Keys) and writes it to the config
// file at path, creating the file and its directory (0700) when missing.
// Unknown keys are a *KeyError, refused values a *ValueError (an unknown
// background_daemon value is refused here, unlike Load). A file that is not
// valid TOML is a *FileError and is left alone.
//
// Only the one statement holding the key changes: an existing value is
// replaced in place, keeping the spacing and a trailing comment; a new key goes
// after the last key of the [sync] table (or after the last top-level
// `sync.x = ...` line), and a missing [sync] table is appended to the file
// after a blank line. The result must parse and differ from the old file in
// that key alone, or nothing is written. The write is atomic, mode 0600.
func Set(path, key, value string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	a, err := encode(key, value)
	if err != nil {
		return err
	}
	return update(path, key, &a)
}

// Unset removes key's line from the config file at path, so the default
// applies. A missing file or key is not an error and writes nothing.
func Unset(path, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	return update(path, key, nil)
}

func update(path, key string, a *assignment) error {
	// Write through a symlink (a dotfiles checkout) rather than replacing it.
	target := path
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		target = resolved
	}
	data, err := os.ReadFile(target)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read config %s: %w", path, err)
	}
	if !exists && a == nil {
		return nil
	}
	text := string(data)
	if _, err := toml.Decode(text, new(map[string]any)); err != nil {
		return syntaxError(path, text, err)
	}
	out, err := edit(text, key, a)
	if err != nil {
		return fmt.Errorf("edit config %s: %w", path, err)
	}
	if exists && out == text {
		return nil
	}
	if err := (paths.Home{Dir: filepath.Dir(target)}).EnsureHome(); err != nil {
		return err
	}
	return atomicfile.Write(target, []byte(out), 0o600)
}

// places are where the line editor may touch a file for one key: indexes
// into the statements, -1 when absent.
type places struct {
	found      int // the key's own statement
	header     int // the [sync] header
	lastInSync int // last key/value under [sync]
	lastDotted int // last top-level `sync.x = ...`
}

// locateKey finds the places for sync.<name>, or refuses a file whose sync
// table is written in a form the editor does not handle.
func locateKey(body string, stmts []stmt, name string) (places, error) {
	p := places{found: -1, header: -1, lastInSync: -1, lastDotted: -1}
	want := []string{table, name}
	var cur []string // table of the current statement
	for i, st := range stmts {
		switch st.kind {
		case stmtTable, stmtArrayTable:
			cur = st.path
			if slices.Equal(st.path, []string{table}) {
				if st.kind == stmtArrayTable {
					line, _ := lineCol(body, st.start)
					return p, fmt.Errorf("line %d: [[%s]] is an array of tables; it must be a single [%s] table", line, table, table)
				}
				p.header = i
			}
		case stmtKeyValue:
			full := slices.Concat(cur, st.path)
			switch {
			case slices.Equal(full, want):
				p.found = i
			case len(full) == 1 && full[0] == table:
				line, _ := lineCol(body, st.start)
				return p, fmt.Errorf("line %d: %s is written as `%s = ...`; only a [%s] table or `%s.KEY = ...` lines can be edited; edit it by hand", line, table, table, table, table)
			}
			if slices.Equal(cur, []string{table}) {
				p.lastInSync = i
			}
			if len(cur) == 0 && len(st.path) > 1 && st.path[0] == table {
				p.lastDotted = i
			}
		}
	}
	return p, nil
}

// edit returns text (valid TOML) with key set to a, or removed when a is nil,
// after checking that the result parses and that nothing else changed.
func edit(text, key string, a *assignment) (string, error) {
	name := strings.TrimPrefix(key, table+".")
	var doc map[string]any
	if _, err := toml.Decode(text, &doc); err != nil {
		return "", err
	}
	if sync, ok := doc[table].(map[string]any); ok {
		switch sync[name].(type) {
		case map[string]any, []map[string]any:
			return "", fmt.Errorf("%s is a table, not a value; edit it by hand", key)
		}
	}
	bom, body := splitBOM(text)
	stmts, err := scan(body)
	if err != nil {
		var se *scanError
		if errors.As(err, &se) {
			line, col := lineCol(body, se.offset)
			return "", fmt.Errorf("%d:%d: cannot edit this file automatically (%s); edit it by hand", line, col, se.msg)
		}
		return "", err
	}
	p, err := locateKey(body, stmts, name)
	if err != nil {
		return "", err
	}
	var out string
	switch {
	case a == nil && p.found < 0:
		return text, nil
	case a == nil:
		st := stmts[p.found]
		out = body[:st.start] + body[st.end:]
	case p.found >= 0:
		st := stmts[p.found]
		out = body[:st.valStart] + a.literal + body[st.valEnd:]
	default:
		out = insert(body, stmts, p, name, a.literal)
	}
	out = bom + out
	if err := verify(text, out, name, a); err != nil {
		return "", err
	}
	return out, nil
}

// insert adds `name = literal` at the end of the sync table: after its last
// key or its header, else after the last top-level `sync.x = ...` line, else
// in a new [sync] table appended after a blank line. The new line copies the
// indentation of the key it follows and the file's line ending.
func insert(body string, stmts []stmt, p places, name, literal string) string {
	nl := newlineOf(body)
	anchor, line := -1, name+" = "+literal
	switch {
	case p.lastInSync >= 0:
		anchor = p.lastInSync
	case p.header >= 0:
		anchor = p.header
	case p.lastDotted >= 0:
		anchor, line = p.lastDotted, table+"."+line
	default:
		sep := ""
		if body != "" {
			if !strings.HasSuffix(body, "\n") {
				sep = nl
			}
			if !strings.HasSuffix(body+sep, nl+nl) {
				sep += nl
			}
		}
		return body + sep + "[" + table + "]" + nl + line + nl
	}
	st := stmts[anchor]
	if st.kind == stmtKeyValue {
		line = body[st.start:st.start+indent(body[st.start:])] + line
	}
	sep := ""
	if st.end == len(body) && !strings.HasSuffix(body, "\n") {
		sep = nl // the anchor is the last line and has no newline yet
	}
	return body[:st.end] + sep + line + nl + body[st.end:]
}

// newlineOf returns the line ending the file uses ("\n" for a file without one).
func newlineOf(body string) string {
	if i := strings.IndexByte(body, '\n'); i > 0 && body[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

// verify checks that after decodes to before with exactly the one change.
func verify(before, after, name string, a *assignment) error {
	var want, got map[string]any
	if _, err := toml.Decode(before, &want); err != nil {
		return fmt.Errorf("re-read: %w", err)
	}
	if _, err := toml.Decode(after, &got); err != nil {
		return fmt.Errorf("the edited file would not parse (%v); nothing written", err)
	}
	if want == nil {
		want = map[string]any{}
	}
	sync, _ := want[table].(map[string]any)
	if sync == nil {
		sync = map[string]any{}
		want[table] = sync
	}
	if a == nil {
		delete(sync, name)
		if _, ok := got[table]; !ok && len(sync) == 0 {
			delete(want, table) // its last dotted key is gone, and the table with it
		}
	} else {
		sync[name] = a.decoded
	}
	if !sameValue(want, got) {
		return errors.New("the edit would change other values of the file; nothing written")
	}
	return nil
}

// sameValue compares decoded TOML values; NaN equals NaN.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		return ok && slices.EqualFunc(a, b, sameValue)
	case []map[string]any:
		b, ok := b.([]map[string]any)
		return ok && slices.EqualFunc(a, b, func(x, y map[string]any) bool { return sameValue(x, y) })
	case float64:
		b, ok := b.(float64)
		return ok && (a == b || math.IsNaN(a) && math.IsNaN(b))
	case time.Time:
		b, ok := b.(time.Time)
		return ok && a.Equal(b) && a.Location().String() == b.Location().String()
	}
	return reflect.DeepEqual(a, b)
}
