package hostedtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseBatch feeds decompressed batch bodies to the parser and the store:
// whatever the input, a parsed batch answers one result per event, in order,
// with a known status, and nothing rejected is stored.
func FuzzParseBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, plain []byte) {
		events, err := parseBatch(plain)
		if err != nil {
			if _, ok := err.(*batchError); !ok {
				t.Fatalf("parseBatch error %T %v is not a batchError", err, err)
			}
			return
		}
		var st eventStore
		st.init()
		results := st.store(events)
		if len(results) != len(events) {
			t.Fatalf("%d results for %d events", len(results), len(events))
		}
		for i, r := range results {
			switch r.Status {
			case statusSuccess, statusDuplicate:
				if r.EventID == "" || r.Error != "" {
					t.Fatalf("result %d = %+v", i, r)
				}
			case statusRejected:
				if r.Error == "" {
					t.Fatalf("result %d rejected without an error", i)
				}
			default:
				t.Fatalf("result %d status %q", i, r.Status)
			}
		}
		if got := len(st.list); got != st.stats.Accepted {
			t.Fatalf("stored %d, accepted %d", got, st.stats.Accepted)
		}
	})
}

// FuzzFaultsJSON checks that whatever /_test/faults accepts round-trips.
func FuzzFaultsJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var fs Faults
		if json.Unmarshal(b, &fs) != nil {
			return
		}
		if err := fs.validate(); err != nil {
			t.Fatalf("accepted invalid faults %+v: %v", fs, err)
		}
		out, err := json.Marshal(fs)
		if err != nil {
			t.Fatal(err)
		}
		var back Faults
		if err := json.Unmarshal(out, &back); err != nil || back != fs {
			t.Fatalf("round trip %s -> %+v (%v), want %+v", out, back, err, fs)
		}
	})
}

// FuzzParseBatchDifferential holds the fast batch parser to the plain
// encoding/json one on everything both can judge: which events are refused,
// their ids and what the tracker simulation reads from them. Inputs where
// encoding/json's case-insensitive key matching could pick another member
// are left out.
func FuzzParseBatchDifferential(f *testing.F) {
	f.Fuzz(func(t *testing.T, plain []byte) {
		if !json.Valid(plain) || hasCaseVariantKeys(plain) {
			return
		}
		fast, errFast := parseBatch(plain)
		std, errStd := parseBatchStd(plain)
		if (errFast == nil) != (errStd == nil) {
			t.Fatalf("fast error %v, encoding/json error %v", errFast, errStd)
		}
		if errFast != nil {
			if errFast.(*batchError).status != errStd.(*batchError).status {
				t.Fatalf("status: fast %v, std %v", errFast, errStd)
			}
			return
		}
		if len(fast) != len(std) {
			t.Fatalf("fast %d events, std %d", len(fast), len(std))
		}
		for i := range fast {
			a, b := fast[i], std[i]
			if (a.reject == "") != (b.reject == "") || a.id != b.id || a.proj != b.proj || a.wpID != b.wpID || a.lane != b.lane {
				t.Fatalf("event %d: fast %+v, std %+v", i, a, b)
			}
			if a.reject != "" && a.reject != b.reject && !strings.HasPrefix(b.reject, "invalid envelope") && !strings.HasPrefix(a.reject, "invalid envelope") {
				t.Fatalf("event %d reason: fast %q, std %q", i, a.reject, b.reject)
			}
			if !bytes.Equal(bytes.TrimSpace(a.raw), bytes.TrimSpace(b.raw)) {
				t.Fatalf("event %d raw: fast %s, std %s", i, a.raw, b.raw)
			}
		}
	})
}

// hasCaseVariantKeys reports whether any object key in the document differs
// from a wanted field name only by case or escaping.
func hasCaseVariantKeys(b []byte) bool {
	lower := strings.ToLower(string(b))
	for _, name := range []string{"events", "event_id", "event_type", "payload", "project_slug", "wp_id", "to_lane"} {
		if strings.Count(lower, name) != strings.Count(string(b), name) {
			return true
		}
	}
	return strings.Contains(string(b), `\`) && strings.Contains(lower, `\u`)
}
