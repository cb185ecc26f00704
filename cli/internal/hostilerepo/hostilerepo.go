// Package hostilerepo builds a malicious spec-kitty repository for the
// hostile-repository tests (CONTRACTS §10): symlinks out of kitty-specs/
// (a directory, files, a dangling link), a FIFO, a device file and a symlink
// to /dev/zero, terminal escapes in every repo-supplied string, huge lines
// and a planted dashboard record. It writes only under the two directories
// it is given and is used by tests only.
package hostilerepo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Escape sequences planted in repo strings: clear the screen, set the
// window title, a C1 CSI, and a carriage return that would forge a line.
const (
	Clear = "\x1b[2J\x1b[H"
	Title = "\x1b]0;pwned\x07"
	CSI   = "\u009b31m"
	Forge = "\rspec-kitty: all good"
)

// SecretEventID is the event id of the lines kept outside the repository:
// it must never be shown, queued or uploaded.
const SecretEventID = "01KSECRET0000000000000000X"

// SecretTitle is the title kept outside the repository.
const SecretTitle = "SECRET-OUTSIDE-TITLE"

// GoodEvents are the event ids of the legitimate lines of mission "good".
var GoodEvents = []string{"01KGOOD00000000000000000A1", "01KGOOD00000000000000000A2"}

// HugeLine is the length of the oversized line in mission "good".
const HugeLine = 3 << 20

// js is s as a JSON string (Go's %q would write \x1b, which JSON lacks).
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func line(id, wp, to, actor, at string) string {
	return fmt.Sprintf(`{"actor": %s, "at": %s, "event_id": %s, "from_lane": "planned", "to_lane": %s, "wp_id": %s, "reason": %s}`,
		js(actor), js(at), js(id), js(to), js(wp), js("because"+Clear+Forge)) + "\n"
}

// Build creates the malicious repository at repo and the files it points
// to at outside (both created). It returns what it could not create on this
// platform (e.g. a device file without root), for the test log.
func Build(repo, outside string) (skipped []string, err error) {
	write := func(p, content string) {
		if err != nil {
			return
		}
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
	}
	link := func(target, p string) {
		if err != nil {
			return
		}
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			err = os.Symlink(target, p)
		}
	}
	specs := filepath.Join(repo, "kitty-specs")
	secretLine := fmt.Sprintf(`{"event_id": %q, "wp_id": "WP66", "to_lane": "done", "actor": "thief", "at": "2026-01-01T00:00:00+00:00"}`, SecretEventID) + "\n"

	// What lies outside: a mission directory and loose files.
	write(filepath.Join(outside, "secretdir", "meta.json"), fmt.Sprintf(`{"friendly_name": %q}`, SecretTitle))
	write(filepath.Join(outside, "secretdir", "status.events.jsonl"), secretLine)
	write(filepath.Join(outside, "secret.json"), fmt.Sprintf(`{"friendly_name": %q}`, SecretTitle))
	write(filepath.Join(outside, "secret.jsonl"), secretLine)

	write(filepath.Join(repo, ".kittify", "config.yaml"), "project:\n  slug: hostile\n")
	// A dashboard record a clone could carry, pointing at a listener and a PID.
	write(filepath.Join(repo, ".kittify", ".dashboard"), `{"pid": 1, "url": "http://127.0.0.1:9/", "port": 9, "started_at": "2026-01-01T00:00:00Z"}`+"\n")

	// A legitimate mission whose strings carry escapes, with a huge line.
	write(filepath.Join(specs, "good", "meta.json"), fmt.Sprintf(`{"friendly_name": %s, "mission_type": %s}`, js("Good"+Title+Clear), js("dev"+CSI)))
	write(filepath.Join(specs, "good", "status.events.jsonl"),
		line(GoodEvents[0], "WP01", "in_progress", "alice"+Title+CSI, "2026-02-01T00:00:00+00:00")+
			strings.Repeat("x", HugeLine)+"\n"+
			line(GoodEvents[1], "WP02", "lane"+Clear, "bob"+Forge, "2026-02-02T00:00:00+00:00"))
	// A mission whose very name carries an escape.
	write(filepath.Join(specs, "esc"+Clear+"name", "meta.json"), `{}`)

	// Symlinks out: a mission directory, mission files, a dangling link.
	link(filepath.Join(outside, "secretdir"), filepath.Join(specs, "linkdir"))
	link(filepath.Join(outside, "secret.json"), filepath.Join(specs, "linkfile", "meta.json"))
	link(filepath.Join(outside, "secret.jsonl"), filepath.Join(specs, "linkfile", "status.events.jsonl"))
	write(filepath.Join(specs, "dangling", "meta.json"), `{}`)
	link(filepath.Join(outside, "created-through-link.jsonl"), filepath.Join(specs, "dangling", "status.events.jsonl"))

	// Non-regular files: /dev/zero by symlink, a FIFO, a device.
	write(filepath.Join(specs, "zero", "meta.json"), `{}`)
	link("/dev/zero", filepath.Join(specs, "zero", "status.events.jsonl"))
	write(filepath.Join(specs, "fifo", "meta.json"), `{}`)
	write(filepath.Join(specs, "device", "meta.json"), `{}`)
	if err != nil {
		return nil, err
	}
	if e := mkfifo(filepath.Join(specs, "fifo", "status.events.jsonl")); e != nil {
		skipped = append(skipped, "fifo: "+e.Error())
	}
	if e := mkzero(filepath.Join(specs, "device", "status.events.jsonl")); e != nil {
		skipped = append(skipped, "device: "+e.Error())
	}
	return skipped, nil
}

// Snapshot is a digest of every entry under dir (files by content, links by
// target), to prove nothing there was read into a change or written.
func Snapshot(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			out[rel] = "link:" + t
			return err
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			sum := sha256.Sum256(b)
			out[rel] = hex.EncodeToString(sum[:])
			return err
		default:
			out[rel] = d.Type().String()
		}
		return nil
	})
	return out, err
}
