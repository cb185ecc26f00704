package event

import (
	"strconv"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/jsonscan"
)

// The one timestamp reader of event lines, used by the status reader
// (core/mission) and by the importer (ParseLine), so both give a line the
// same time. It accepts
//
//   - RFC 3339 with "Z" or a numeric offset, with or without fractional
//     seconds ("2026-01-02T03:04:05.123456+00:00");
//   - Python's naive isoformat, taken as UTC ("2026-01-02T03:04:05.5");
//   - both of those with a space instead of the "T" ("2026-01-02 03:04:05");
//   - a JSON number of Unix seconds (milliseconds when too large to be
//     seconds), as older writers left in "timestamp".
//
// Times come back in UTC; anything outside years 1..9999 is refused. The
// common shapes are parsed without allocating; the rest go through the time
// package.

// timeLayouts are the slow path's shapes, tried in order.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// TimeValue reads the raw JSON value of an "at" or "timestamp" member: a
// string in one of the shapes above or a number of Unix seconds. It returns
// the zero time for anything else (absent, null, unparseable).
func TimeValue(raw []byte) time.Time {
	if len(raw) == 0 {
		return time.Time{}
	}
	var t time.Time
	switch c := raw[0]; {
	case c == '"':
		body, ok := jsonscan.String(raw)
		if !ok {
			return time.Time{}
		}
		return parseTimeText(body)
	case c == '-' || (c >= '0' && c <= '9'):
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || f <= 0 || f > 1e15 {
			return time.Time{}
		}
		if f >= 1e11 { // seconds would be past year 5138
			f /= 1000
		}
		sec := int64(f)
		t = time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
	}
	return inRange(t)
}

// ParseTime parses a timestamp string in one of the shapes above. It
// returns the zero time when s is none of them.
func ParseTime(s string) time.Time { return parseTimeText(s) }

func parseTimeText[T string | []byte](b T) time.Time {
	if len(b) == 0 {
		return time.Time{}
	}
	if t, ok := parseTimeFast(b); ok {
		return inRange(t)
	}
	s := string(b)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return inRange(t.UTC())
		}
	}
	return time.Time{}
}

func inRange(t time.Time) time.Time {
	if t.IsZero() || t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}
	}
	return t
}

func num[T string | []byte](b T) (int, bool) {
	n := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseTimeFast reads 2006-01-02T15:04:05 (or with a space for the T),
// optional fractions of up to nine digits and an optional "Z" or ±hh:mm.
func parseTimeFast[T string | []byte](b T) (time.Time, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := b[19:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		scale := 100000000
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if i > 9 {
				return time.Time{}, false
			}
			nsec += int(rest[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == 1 {
			return time.Time{}, false
		}
		rest = rest[i:]
	}
	offset := 0
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := num(rest[1:3])
		om, ok2 := num(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
