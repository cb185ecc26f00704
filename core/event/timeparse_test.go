package event

import (
	"testing"
	"time"
)

func TestTimeValue(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want time.Time
	}{
		{"python aware isoformat", `"2026-08-17T13:32:00.274162+00:00"`, time.Date(2026, 8, 17, 13, 32, 0, 274162000, time.UTC)},
		{"Z", `"2025-11-02T16:58:36Z"`, time.Date(2025, 11, 2, 16, 58, 36, 0, time.UTC)},
		{"offset with fraction", `"2025-11-02T16:58:36.5-01:30"`, time.Date(2025, 11, 2, 18, 28, 36, 500000000, time.UTC)},
		{"nanoseconds", `"2025-11-02T16:58:36.123456789Z"`, time.Date(2025, 11, 2, 16, 58, 36, 123456789, time.UTC)},
		{"python naive isoformat is UTC", `"2025-11-02T16:58:36.123456"`, time.Date(2025, 11, 2, 16, 58, 36, 123456000, time.UTC)},
		{"space-separated", `"2026-01-02 03:04:05"`, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"space-separated with offset", `"2026-01-02 05:04:05+02:00"`, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"escaped string", `"2026-01-02T03:04:05\u005a"`, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"leap day", `"2024-02-29T00:00:00Z"`, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"Unix seconds", `1790000000`, time.Unix(1790000000, 0).UTC()},
		{"Unix seconds with fraction", `1790000000.5`, time.Unix(1790000000, 500000000).UTC()},
		{"Unix milliseconds", `1790000000000`, time.Unix(1790000000, 0).UTC()},
		{"no leap day", `"2025-02-29T00:00:00Z"`, time.Time{}},
		{"month 13", `"2025-13-01T00:00:00Z"`, time.Time{}},
		{"hour 24", `"2025-11-02T24:00:00Z"`, time.Time{}},
		{"empty fraction", `"2025-11-02T16:58:36.Z"`, time.Time{}},
		{"year 0", `"0000-01-01T00:00:00Z"`, time.Time{}},
		{"date only", `"2025-11-02"`, time.Time{}},
		{"words", `"yesterday"`, time.Time{}},
		{"empty string", `""`, time.Time{}},
		{"negative number", `-5`, time.Time{}},
		{"null", `null`, time.Time{}},
		{"bool", `true`, time.Time{}},
		{"absent", ``, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TimeValue([]byte(tt.raw))
			if !got.Equal(tt.want) || (!got.IsZero() && got.Location() != time.UTC) {
				t.Errorf("TimeValue(%s) = %v, want %v UTC", tt.raw, got, tt.want)
			}
		})
	}
}

// TestTimeValueFastPathAllocs: the status reader parses every line's time;
// the common shapes must not allocate.
func TestTimeValueFastPathAllocs(t *testing.T) {
	for _, raw := range []string{`"2026-08-17T13:32:00.274162+00:00"`, `"2025-11-02T16:58:36Z"`, `"2026-01-02 03:04:05"`} {
		b := []byte(raw)
		if n := testing.AllocsPerRun(100, func() { TimeValue(b) }); n != 0 {
			t.Errorf("TimeValue(%s): %v allocations, want 0", raw, n)
		}
	}
}

// FuzzParseTime checks the allocation-free fast path against the time
// package wherever the fast path accepts its input.
func FuzzParseTime(f *testing.F) {
	f.Add("2026-08-17T13:32:00.274162+00:00")
	f.Add("2025-11-02T16:58:36Z")
	f.Add("2026-01-02 03:04:05")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTimeFast(s)
		if !ok {
			ParseTime(s) // must not panic
			return
		}
		var want time.Time
		var err error
		for _, layout := range timeLayouts {
			if want, err = time.Parse(layout, s); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("fast path accepts %q, the time package does not: %v", s, err)
		}
		if !got.Equal(want) {
			t.Fatalf("parseTimeFast(%q) = %v, time package %v", s, got, want)
		}
	})
}
