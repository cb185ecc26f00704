package config

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/spec-kitty/spec-kitty-sync/core/policy"
)

// FuzzLoad: loading any bytes never panics, and a successful load always
// yields a usable configuration.
func FuzzLoad(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse("config.toml", data, nil)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "config.toml") {
				t.Fatalf("error %T %q does not name the file", err, err)
			}
			return
		}
		if p := c.Policy(); p != policy.Auto && p != policy.Manual {
			t.Fatalf("policy %q", p)
		}
		if c.MaxQueueSize < 1 {
			t.Fatalf("max_queue_size %d", c.MaxQueueSize)
		}
	})
}

// FuzzEdit: the scanner understands every file BurntSushi accepts; an edit
// either is one of the documented refusals or yields a file that parses, holds
// the new value, and differs from the old one only inside the statement that
// held the key (or by a pure insertion when it was absent).
func FuzzEdit(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, keyIndex uint8, value string, unset bool) {
		text := string(data)
		var doc map[string]any
		if _, err := toml.Decode(text, &doc); err != nil {
			return
		}
		bom, body := splitBOM(text)
		stmts, err := scan(body)
		if err != nil {
			t.Fatalf("scanner rejects valid TOML: %v", err)
		}
		checkKeyPaths(t, body, stmts)

		key := Keys()[int(keyIndex)%len(Keys())]
		name := strings.TrimPrefix(key, table+".")
		var a *assignment
		if !unset {
			v, err := encode(key, value)
			if err != nil {
				return
			}
			a = &v
		}
		out, err := edit(text, key, a)
		if err != nil {
			if !refusable(doc, body, stmts, name) {
				t.Fatalf("edit refused a plain file: %v", err)
			}
			return
		}
		var got map[string]any
		if _, err := toml.Decode(out, &got); err != nil {
			t.Fatalf("edited file does not parse: %v\n%q", err, out)
		}
		sync, _ := got[table].(map[string]any)
		v, present := sync[name]
		switch {
		case a == nil && present:
			t.Fatalf("%s still set after unset: %q", key, out)
		case a != nil && !sameValue(v, a.decoded):
			t.Fatalf("%s = %#v after set, want %#v", key, v, a.decoded)
		}

		if out == text {
			return
		}
		// The changed byte range of the old file lies in the key's statement,
		// or is empty (an insertion).
		p := 0
		for p < len(text) && p < len(out) && text[p] == out[p] {
			p++
		}
		s := 0
		for s < len(text)-p && s < len(out)-p && text[len(text)-1-s] == out[len(out)-1-s] {
			s++
		}
		lo, hi := p, len(text)-s
		pl, _ := locateKey(body, stmts, name)
		if pl.found < 0 {
			if lo != hi {
				t.Fatalf("insertion changed old bytes [%d,%d): %q -> %q", lo, hi, text, out)
			}
			return
		}
		st := stmts[pl.found]
		head, tail := text[:len(bom)+st.start], text[len(bom)+st.end:]
		if len(out) < len(head)+len(tail) || !strings.HasPrefix(out, head) || !strings.HasSuffix(out, tail) {
			t.Fatalf("bytes outside the statement [%d,%d) changed: %q -> %q",
				len(bom)+st.start, len(bom)+st.end, text, out)
		}
	})
}

// checkKeyPaths: every key/value the scanner finds is a key BurntSushi
// defined, so the scanner's idea of paths matches the parser's.
func checkKeyPaths(t *testing.T, body string, stmts []stmt) {
	t.Helper()
	md, err := toml.Decode(body, new(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, k := range md.Keys() {
		defined[strings.Join(k, "\x00")] = true
	}
	isDefined := func(path []string) bool { return defined[strings.Join(path, "\x00")] }
	var cur []string
	for _, st := range stmts {
		switch st.kind {
		case stmtTable, stmtArrayTable:
			cur = st.path
			if !isDefined(cur) {
				t.Fatalf("scanner found table %q that the parser does not define", cur)
			}
		case stmtKeyValue:
			if full := slices.Concat(cur, st.path); !isDefined(full) {
				t.Fatalf("scanner found key %q that the parser does not define", full)
			}
		}
	}
}

// refusable reports the file shapes edit documents as refusals.
func refusable(doc map[string]any, body string, stmts []stmt, name string) bool {
	sync, isTable := doc[table].(map[string]any)
	if _, ok := doc[table]; ok && !isTable {
		return true // `sync = 1`, [[sync]]
	}
	switch sync[name].(type) {
	case map[string]any, []map[string]any:
		return true // the key is itself a table
	}
	_, err := locateKey(body, stmts, name)
	return err != nil // `sync = { ... }`
}
