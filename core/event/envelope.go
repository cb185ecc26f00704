package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// SchemaVersion is the envelope schema this client writes.
const SchemaVersion = "3.0.0"

// Event types the client assigns itself; other lines keep their own.
const (
	TypeWPStatusChanged = "WPStatusChanged"
	TypeStatusRecord    = "StatusRecord"
)

// AggregateType is the envelope's aggregate_type wire code.
type AggregateType string

// Aggregate types.
const (
	AggregateWorkPackage AggregateType = "WorkPackage"
	AggregateMission     AggregateType = "Mission"
)

// Project is the repository's identity from `.kittify/config.yaml`
// (`project:` uuid, slug, node_id, build_id), read by core/binding and
// passed in.
type Project struct {
	UUID    string
	Slug    string
	NodeID  string
	BuildID string
}

// Origin is everything an envelope needs besides the line itself.
type Origin struct {
	Project  Project
	TeamSlug string
	Lamport  int64     // from queue.NextLamport / ReserveLamport
	Fallback time.Time // timestamp when the line has no parseable at/timestamp (file mtime or now)
}

// Envelope is what is uploaded for one line (WIRE "Events"): the fields
// and the key order of the Python CLI's EventEmitter._emit
// (src/specify_cli/sync/emitter.py), pinned by testdata/envelope_fields.golden.
// The nullable fields (causation_id, git_branch, head_commit_sha, repo_slug)
// are written as null when empty: this client does not know them.
//
// Marshal it with its MarshalJSON or AppendJSON method, not as a field of a
// larger value: encoding/json compacts the output of MarshalJSON when it
// embeds it, which keeps the payload equal as JSON but not byte for byte.
type Envelope struct {
	EventID       string          `json:"event_id"`
	EventType     string          `json:"event_type"`
	AggregateID   string          `json:"aggregate_id"`
	AggregateType AggregateType   `json:"aggregate_type"`
	SchemaVersion string          `json:"schema_version"`
	BuildID       string          `json:"build_id"`
	Payload       json.RawMessage `json:"payload"`
	NodeID        string          `json:"node_id"`
	LamportClock  int64           `json:"lamport_clock"`
	CausationID   string          `json:"causation_id"`
	Timestamp     time.Time       `json:"timestamp"`
	TeamSlug      string          `json:"team_slug"`
	ProjectUUID   string          `json:"project_uuid"`
	ProjectSlug   string          `json:"project_slug"`
	GitBranch     string          `json:"git_branch"`
	HeadCommitSHA string          `json:"head_commit_sha"`
	RepoSlug      string          `json:"repo_slug"`
}

// Build wraps a synced line in its envelope.
func Build(l Line, o Origin) (Envelope, error) {
	fail := func(msg string) (Envelope, error) {
		return Envelope{}, fmt.Errorf("build envelope for %s:%d: %s", l.File, l.Number, msg)
	}
	switch {
	case l.EventID == "":
		return fail("line has no event_id")
	case len(l.Raw) == 0:
		return fail("line has no payload")
	case l.Mission == "":
		return fail("no mission slug (neither the file's directory nor mission_slug)")
	case o.Project.UUID == "":
		return fail("project uuid is empty")
	case o.Project.Slug == "":
		return fail("project slug is empty")
	case o.Project.NodeID == "":
		return fail("node id is empty")
	case o.Project.BuildID == "":
		return fail("build id is empty")
	}
	e := Envelope{
		EventID:       l.EventID,
		SchemaVersion: SchemaVersion,
		BuildID:       o.Project.BuildID,
		Payload:       l.Raw,
		NodeID:        o.Project.NodeID,
		LamportClock:  o.Lamport,
		Timestamp:     l.At,
		ProjectUUID:   o.Project.UUID,
		ProjectSlug:   o.Project.Slug,
		TeamSlug:      o.TeamSlug,
	}
	switch {
	case l.LaneTransition():
		e.EventType = TypeWPStatusChanged
		e.AggregateType = AggregateWorkPackage
		e.AggregateID = l.Mission + "/" + l.WPID
	default:
		e.EventType = l.EventType
		if e.EventType == "" {
			e.EventType = l.Kind
		}
		if e.EventType == "" {
			e.EventType = TypeStatusRecord
		}
		e.AggregateType = AggregateMission
		e.AggregateID = l.Mission
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = o.Fallback
	}
	e.Timestamp = e.Timestamp.UTC()
	if y := e.Timestamp.Year(); e.Timestamp.IsZero() || y < 1 || y > 9999 {
		return fail("no usable timestamp (line has none and the fallback is unset)")
	}
	return e, nil
}

// MarshalJSON writes the envelope with the payload byte for byte and the
// keys in WIRE order.
func (e Envelope) MarshalJSON() ([]byte, error) {
	if !json.Valid(e.Payload) {
		return nil, fmt.Errorf("marshal envelope %s: payload is not valid JSON", e.EventID)
	}
	return e.AppendJSON(make([]byte, 0, 320+len(e.Payload))), nil
}

// AppendJSON appends the envelope's JSON to dst. The payload must be valid
// JSON (Build guarantees it); MarshalJSON checks it.
func (e Envelope) AppendJSON(dst []byte) []byte {
	dst, _ = e.AppendJSONLamport(dst)
	return dst
}

// AppendJSONLamport is AppendJSON that also says where in dst the
// lamport_clock digits begin, for an importer that writes the value later
// (in the transaction that reserves it) in place.
func (e Envelope) AppendJSONLamport(dst []byte) (_ []byte, lamportAt int) {
	dst = append(dst, `{"event_id":`...)
	dst = appendString(dst, e.EventID)
	dst = append(dst, `,"event_type":`...)
	dst = appendString(dst, e.EventType)
	dst = append(dst, `,"aggregate_id":`...)
	dst = appendString(dst, e.AggregateID)
	dst = append(dst, `,"aggregate_type":`...)
	dst = appendString(dst, string(e.AggregateType))
	dst = append(dst, `,"schema_version":`...)
	dst = appendString(dst, e.SchemaVersion)
	dst = append(dst, `,"build_id":`...)
	dst = appendString(dst, e.BuildID)
	dst = append(dst, `,"payload":`...)
	if len(e.Payload) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, e.Payload...)
	}
	dst = append(dst, `,"node_id":`...)
	dst = appendString(dst, e.NodeID)
	dst = append(dst, `,"lamport_clock":`...)
	lamportAt = len(dst)
	dst = strconv.AppendInt(dst, e.LamportClock, 10)
	dst = append(dst, `,"causation_id":`...)
	dst = appendNullable(dst, e.CausationID)
	dst = append(dst, `,"timestamp":`...)
	// RFC 3339 text needs no escaping: written straight into dst.
	dst = append(dst, '"')
	dst = e.Timestamp.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	dst = append(dst, `,"team_slug":`...)
	dst = appendString(dst, e.TeamSlug)
	dst = append(dst, `,"project_uuid":`...)
	dst = appendString(dst, e.ProjectUUID)
	dst = append(dst, `,"project_slug":`...)
	dst = appendString(dst, e.ProjectSlug)
	dst = append(dst, `,"git_branch":`...)
	dst = appendNullable(dst, e.GitBranch)
	dst = append(dst, `,"head_commit_sha":`...)
	dst = appendNullable(dst, e.HeadCommitSHA)
	dst = append(dst, `,"repo_slug":`...)
	dst = appendNullable(dst, e.RepoSlug)
	return append(dst, '}'), lamportAt
}

// appendNullable appends s as a JSON string, or null when it is empty.
func appendNullable(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return appendString(dst, s)
}

// appendString appends s as a JSON string exactly as json.Marshal writes it
// (HTML-safe: <, > and & escaped; invalid UTF-8 as \ufffd; U+2028 and
// U+2029 escaped), without its reflection and allocation. FuzzAppendString
// holds it to json.Marshal byte for byte.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if htmlSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// htmlSafe marks the ASCII bytes json.Marshal writes as they are: printable
// ones (DEL included) except the quote, the backslash and <, > and &.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	for _, b := range `"\\<>&` {
		t[b] = false
	}
	return t
}()

// ParseEnvelope reads an envelope as stored in the queue's data column, by
// this client or by the Python CLI. It requires event_id, event_type and a
// JSON object payload (what the host rejects otherwise); other fields are
// read leniently (a timestamp in an unknown shape is left zero). Unknown
// fields are not kept: upload the stored bytes, do not re-marshal them.
func ParseEnvelope(data []byte) (Envelope, error) {
	var raw struct {
		EventID       json.RawMessage `json:"event_id"`
		EventType     json.RawMessage `json:"event_type"`
		AggregateID   json.RawMessage `json:"aggregate_id"`
		AggregateType json.RawMessage `json:"aggregate_type"`
		SchemaVersion json.RawMessage `json:"schema_version"`
		BuildID       json.RawMessage `json:"build_id"`
		Payload       json.RawMessage `json:"payload"`
		NodeID        json.RawMessage `json:"node_id"`
		LamportClock  json.RawMessage `json:"lamport_clock"`
		Timestamp     json.RawMessage `json:"timestamp"`
		ProjectUUID   json.RawMessage `json:"project_uuid"`
		ProjectSlug   json.RawMessage `json:"project_slug"`
		TeamSlug      json.RawMessage `json:"team_slug"`
		CausationID   json.RawMessage `json:"causation_id"`
		GitBranch     json.RawMessage `json:"git_branch"`
		HeadCommitSHA json.RawMessage `json:"head_commit_sha"`
		RepoSlug      json.RawMessage `json:"repo_slug"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Envelope{}, fmt.Errorf("parse envelope: %w", err)
	}
	var e Envelope
	e.EventID, _ = stringField(raw.EventID)
	if e.EventID == "" {
		return Envelope{}, errors.New("parse envelope: missing field event_id")
	}
	e.EventType, _ = stringField(raw.EventType)
	if e.EventType == "" {
		return Envelope{}, fmt.Errorf("parse envelope %s: missing field event_type", e.EventID)
	}
	if len(raw.Payload) == 0 || raw.Payload[0] != '{' {
		return Envelope{}, fmt.Errorf("parse envelope %s: missing field payload", e.EventID)
	}
	e.Payload = raw.Payload
	e.AggregateID, _ = stringField(raw.AggregateID)
	at, _ := stringField(raw.AggregateType)
	e.AggregateType = AggregateType(at)
	e.SchemaVersion, _ = stringField(raw.SchemaVersion)
	e.NodeID, _ = stringField(raw.NodeID)
	if n, err := strconv.ParseInt(string(raw.LamportClock), 10, 64); err == nil {
		e.LamportClock = n
	}
	e.Timestamp = TimeValue(raw.Timestamp)
	e.ProjectUUID, _ = stringField(raw.ProjectUUID)
	e.ProjectSlug, _ = stringField(raw.ProjectSlug)
	e.TeamSlug, _ = stringField(raw.TeamSlug)
	e.BuildID, _ = stringField(raw.BuildID)
	e.CausationID, _ = stringField(raw.CausationID)
	e.GitBranch, _ = stringField(raw.GitBranch)
	e.HeadCommitSHA, _ = stringField(raw.HeadCommitSHA)
	e.RepoSlug, _ = stringField(raw.RepoSlug)
	return e, nil
}
