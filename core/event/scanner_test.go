package event

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
)

type scanned struct {
	Number  int
	EventID string
	Err     string
}

func scanAll(t *testing.T, s *Scanner) []scanned {
	t.Helper()
	var got []scanned
	for s.Scan() {
		l, err := s.Line()
		r := scanned{Number: l.Number, EventID: l.EventID}
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("line error is %T, want *LineError", err)
			}
			r.Number = le.Line
			r.Err = le.Err.Error()
		}
		got = append(got, r)
	}
	return got
}

func TestScanner(t *testing.T) {
	long := `{"x": "` + strings.Repeat("a", MaxLineBytes+10) + `"}`
	tests := []struct {
		name       string
		in         string
		offset     int64
		line       int
		want       []scanned
		wantOffset int64
		wantNumber int
	}{
		{
			name: "complete lines, blank and malformed ones",
			in:   "{\"event_id\":\"a\"}\n\n{bad\r\n{\"n\":1}\n{\"event_id\":\"b\"}\n",
			want: []scanned{
				{Number: 1, EventID: "a"},
				{Number: 3, Err: "invalid JSON at byte 2: invalid character 'b' looking for beginning of object key string"},
				{Number: 4},
				{Number: 5, EventID: "b"},
			},
			wantOffset: 49,
			wantNumber: 5,
		},
		{
			name:       "unterminated but complete last line is taken",
			in:         "{\"event_id\":\"a\"}\n{\"event_id\":\"b\"}",
			want:       []scanned{{Number: 1, EventID: "a"}, {Number: 2, EventID: "b"}},
			wantOffset: 33,
			wantNumber: 2,
		},
		{
			name:       "half-written last line is left for later",
			in:         "{\"event_id\":\"a\"}\n{\"event_id\":\"b",
			want:       []scanned{{Number: 1, EventID: "a"}},
			wantOffset: 17,
			wantNumber: 1,
		},
		{
			name:       "resume from a cursor",
			in:         "{\"event_id\":\"c\"}\n",
			offset:     100,
			line:       9,
			want:       []scanned{{Number: 10, EventID: "c"}},
			wantOffset: 117,
			wantNumber: 10,
		},
		{
			name:       "overlong line is malformed and skipped",
			in:         long + "\n{\"event_id\":\"d\"}\n",
			want:       []scanned{{Number: 1, Err: "line longer than 1048576 bytes"}, {Number: 2, EventID: "d"}},
			wantOffset: int64(len(long)) + 18,
			wantNumber: 2,
		},
		{
			name:       "overlong unterminated tail is left",
			in:         "{\"event_id\":\"d\"}\n" + long,
			want:       []scanned{{Number: 1, EventID: "d"}},
			wantOffset: 17,
			wantNumber: 1,
		},
		{
			name: "empty input",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewScanner(iotest.OneByteReader(strings.NewReader(tt.in)), testFile, tt.offset, tt.line)
			if len(tt.in) > 4096 { // one byte at a time is slow for the long lines
				s = NewScanner(strings.NewReader(tt.in), testFile, tt.offset, tt.line)
			}
			got := scanAll(t, s)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if err := s.Err(); err != nil {
				t.Errorf("Err = %v", err)
			}
			if s.Offset() != tt.wantOffset || s.Number() != tt.wantNumber {
				t.Errorf("Offset, Number = %d, %d, want %d, %d", s.Offset(), s.Number(), tt.wantOffset, tt.wantNumber)
			}
			if s.Scan() {
				t.Error("Scan after the end returned true")
			}
		})
	}
}

func TestScannerReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("{\"event_id\":\"a\"}\n"), iotest.ErrReader(errors.New("disk on fire")))
	s := NewScanner(r, testFile, 0, 0)
	got := scanAll(t, s)
	if diff := cmp.Diff([]scanned{{Number: 1, EventID: "a"}}, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "read "+testFile+": disk on fire") {
		t.Errorf("Err = %v, want the read error naming the file", err)
	}
	if s.Offset() != 17 {
		t.Errorf("Offset = %d, want 17", s.Offset())
	}
}

// TestBorrowingScannerAgrees: one borrowing scanner, reset for every file
// of the corpus, hands out the lines a fresh copying scanner does.
func TestBorrowingScannerAgrees(t *testing.T) {
	root, _ := fixture.Default(t)
	files, err := filepath.Glob(filepath.Join(root, "kitty-specs", "*", "status.events.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	var b *Scanner
	lines := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// Torn and oversized tails too: a read buffer's worth of line.
		data = append(data, "{\"event_id\": \"long\", \"x\": \""+strings.Repeat("y", 70<<10)+"\"}\n{\"event_id\": \"torn"...)
		want := scanCopies(NewScanner(bytes.NewReader(data), file, 0, 0))
		if b == nil {
			b = NewScanner(bytes.NewReader(data), file, 0, 0)
			b.Borrow()
		} else {
			b.Reset(bytes.NewReader(data), file, 0, 0)
		}
		if got := scanCopies(b); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the borrowing scanner disagrees", file)
		}
		lines += len(want)
	}
	if lines == 0 {
		t.Fatal("no lines scanned")
	}
}
