package queue

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCursorStore(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	q := openTest(t, Options{Now: clk.Now})
	if _, ok, err := q.Cursor(ctx, "/r", "a"); ok || err != nil {
		t.Fatalf("Cursor on an empty db = %v, %v", ok, err)
	}
	c := Cursor{
		Repo: "/r", Path: "kitty-specs/m/status.events.jsonl",
		Offset: 1234, Line: 17, Size: 1300,
		ModTime: time.Date(2026, 7, 1, 11, 0, 0, 123456789, time.UTC), Inode: 1<<63 + 5,
		Fingerprint: "abc", Malformed: 2, NoEventID: 1, LastError: "event line x:3: invalid JSON",
	}
	if err := q.SetCursor(ctx, c); err != nil {
		t.Fatal(err)
	}
	want := c
	want.UpdatedAt = clk.Now()
	got, ok, err := q.Cursor(ctx, c.Repo, c.Path)
	if err != nil || !ok {
		t.Fatalf("Cursor = %v, %v", ok, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cursor (-want +got):\n%s", diff)
	}

	// Import stores the cursor with its events, replacing the old one.
	clk.Add(time.Minute)
	c.Offset, c.Line, c.LastError = 2000, 30, ""
	if added, err := q.Import(ctx, c, item("x"), item("y")); err != nil || added != 2 {
		t.Fatalf("Import = %d, %v", added, err)
	}
	if _, err := q.Import(ctx, Cursor{Repo: "/other", Path: "p"}); err != nil {
		t.Fatal(err)
	}
	want = c
	want.UpdatedAt = clk.Now()
	all, err := q.Cursors(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Cursor{{Repo: "/other", Path: "p", UpdatedAt: clk.Now()}, want}, all); diff != "" {
		t.Errorf("all cursors (-want +got):\n%s", diff)
	}
	one, err := q.Cursors(ctx, "/r")
	if err != nil || len(one) != 1 || one[0].Path != c.Path {
		t.Errorf("cursors of /r = %+v, %v", one, err)
	}
	if err := q.DeleteCursor(ctx, "/r", c.Path); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := q.Cursor(ctx, "/r", c.Path); ok {
		t.Error("cursor still there after DeleteCursor")
	}
	for _, bad := range []Cursor{{Path: "p"}, {Repo: "/r"}, {Repo: "/r", Path: "p", Offset: -1}} {
		if err := q.SetCursor(ctx, bad); err == nil {
			t.Errorf("SetCursor(%+v) accepted", bad)
		}
		if _, err := q.Import(ctx, bad, item("z")); err == nil {
			t.Errorf("Import(%+v) accepted", bad)
		}
	}
	if ids := queuedIDs(t, q); len(ids) != 2 {
		t.Errorf("a refused Import queued events: %v", ids)
	}
}

func TestCursorResume(t *testing.T) {
	lines := strings.Repeat(`{"event_id": "01KWD2YGRWXYRRZ66K189ZGP9Y", "to_lane": "planned"}`+"\n", 200)
	imported := []byte(lines[:len(lines)/2])
	imported = imported[:bytes.LastIndexByte(imported, '\n')+1]
	offset := int64(len(imported))
	fp, err := Fingerprint(bytes.NewReader(imported), offset)
	if err != nil {
		t.Fatal(err)
	}
	cur := Cursor{Repo: "/r", Path: "p", Offset: offset, Line: 100, Fingerprint: fp}
	flip := func(b []byte, at int) []byte {
		b = bytes.Clone(b)
		b[at] ^= 1
		return b
	}
	tests := []struct {
		name       string
		file       []byte
		cur        Cursor
		wantOffset int64
		wantLine   int
	}{
		{"unchanged", imported, cur, offset, 100},
		{"appended", []byte(lines), cur, offset, 100},
		{"truncated", imported[:offset-1], cur, 0, 0},
		{"rewritten with the same bytes", append(bytes.Clone(imported[:10]), lines[10:]...), cur, offset, 100},
		{"first byte rewritten", flip([]byte(lines), 0), cur, 0, 0},
		{"last imported byte rewritten", flip([]byte(lines), int(offset)-2), cur, 0, 0},
		{"no fingerprint", []byte(lines), Cursor{Offset: offset, Line: 100}, 0, 0},
		{"fresh cursor", []byte(lines), Cursor{}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off, line, err := tt.cur.Resume(bytes.NewReader(tt.file), int64(len(tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if off != tt.wantOffset || line != tt.wantLine {
				t.Errorf("Resume = %d, %d, want %d, %d", off, line, tt.wantOffset, tt.wantLine)
			}
		})
	}
	small, err := Fingerprint(bytes.NewReader([]byte("ab")), 2)
	if err != nil {
		t.Fatal(err)
	}
	if other, _ := Fingerprint(bytes.NewReader([]byte("abc")), 2); other != small {
		t.Error("bytes past the offset changed the fingerprint")
	}
	if _, err := Fingerprint(bytes.NewReader([]byte("ab")), 3); err == nil {
		t.Error("Fingerprint past the end of the file succeeded")
	}
}
