package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"
)

// FuzzParseLine: any bytes give a Line or a *LineError, never a panic; an
// accepted line's Raw is a JSON object cut from the input unchanged.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"event_id": "01KWD2YGRWXYRRZ66K189ZGP9Y", "to_lane": "planned", "wp_id": "WP01"}`), 3)
	f.Fuzz(func(t *testing.T, raw []byte, number int) {
		l, err := ParseLine(testFile, number, raw)
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) || le.File != testFile || le.Line != number {
				t.Fatalf("error %v is not a *LineError naming the line", err)
			}
			return
		}
		if !json.Valid(l.Raw) || l.Raw[0] != '{' {
			t.Fatalf("accepted Raw %q is not a JSON object", l.Raw)
		}
		if !bytes.Contains(raw, l.Raw) {
			t.Fatalf("Raw %q is not a slice of the input", l.Raw)
		}
	})
}

// FuzzBuild: every accepted line with an event_id builds an envelope whose
// JSON is valid and carries the line back byte for byte.
func FuzzBuild(f *testing.F) {
	f.Add([]byte(`{"event_id": "E", "event_type": "MissionCreated", "payload": {}}`), int64(1))
	f.Fuzz(func(t *testing.T, raw []byte, lamport int64) {
		l, err := ParseLine(testFile, 1, raw)
		if err != nil || !l.Synced() {
			return
		}
		env, err := Build(l, Origin{Project: testProject, TeamSlug: "t", Lamport: lamport, Fallback: time.Unix(1790000000, 0)})
		if err != nil {
			t.Fatal(err)
		}
		data, err := env.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceJSON(env); !bytes.Equal(data, want) {
			t.Fatalf("envelope differs from the json.Marshal encoding:\n%s\n%s", data, want)
		}
		var back Envelope
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("envelope %s does not unmarshal: %v", data, err)
		}
		if !bytes.Equal(back.Payload, l.Raw) || back.EventID != l.EventID || back.LamportClock != lamport {
			t.Fatalf("round trip changed the envelope: %s", data)
		}
		if _, err := ParseEnvelope(data); err != nil {
			t.Fatalf("ParseEnvelope of our own envelope: %v", err)
		}
	})
}

// FuzzParseEnvelope: queue data written by anyone never panics the reader.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"event_id": "E", "event_type": "X", "payload": {"a": 1}, "timestamp": 1790000000}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEnvelope(data)
		if err != nil {
			return
		}
		if e.EventID == "" || e.EventType == "" || !json.Valid(e.Payload) {
			t.Fatalf("accepted an envelope without its required fields: %+v", e)
		}
	})
}

// FuzzScanner: any file content, read at any chunking, never panics, never
// moves backwards and never hands out more lines than there are.
func FuzzScanner(f *testing.F) {
	f.Add([]byte("{\"event_id\":\"a\"}\n\n{bad\n{\"event_id\":\"b\"}"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		s := NewScanner(&chunkReader{data: data, n: int(chunk)%16 + 1}, testFile, 0, 0)
		lines := 0
		last := int64(0)
		for s.Scan() {
			lines++
			if s.Offset() <= last || s.Offset() > int64(len(data)) {
				t.Fatalf("offset went from %d to %d (len %d)", last, s.Offset(), len(data))
			}
			last = s.Offset()
			if _, err := s.Line(); err != nil {
				var le *LineError
				if !errors.As(err, &le) {
					t.Fatalf("line error %T is not a *LineError", err)
				}
			}
		}
		if lines > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d lines from %d newlines", lines, bytes.Count(data, []byte("\n")))
		}
		// A borrowing scanner, reset after another file, hands out the
		// same lines (copied before it scans on).
		want := scanCopies(NewScanner(bytes.NewReader(data), testFile, 0, 0))
		b := NewScanner(bytes.NewReader([]byte("{\"event_id\":\"other\"}\n{\"x\":")), "other/f", 0, 0)
		b.Borrow()
		b.Scan()
		b.Reset(&chunkReader{data: data, n: int(chunk)%16 + 1}, testFile, 0, 0)
		if got := scanCopies(b); !reflect.DeepEqual(got, want) {
			t.Fatalf("borrowing scanner:\n%+v\ncopying scanner:\n%+v", got, want)
		}
	})
}

type scannedCopy struct {
	Line   Line
	Err    string
	Offset int64
	Number int
}

func scanCopies(s *Scanner) []scannedCopy {
	var out []scannedCopy
	for s.Scan() {
		l, err := s.Line()
		l.Raw = bytes.Clone(l.Raw)
		c := scannedCopy{Line: l, Offset: s.Offset(), Number: s.Number()}
		if err != nil {
			c.Err = err.Error()
		}
		out = append(out, c)
	}
	return out
}

type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.data)
	r.data = r.data[n:]
	return n, nil
}
