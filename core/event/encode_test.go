package event

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"
)

// marshalString is encoding/json's encoding of a string: what appendString
// must write byte for byte.
func marshalString(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// referenceJSON is the envelope as AppendJSON wrote it with json.Marshal
// for every string field: the bytes the contract pins.
func referenceJSON(e Envelope) []byte {
	var b bytes.Buffer
	str := func(key, s string) { b.WriteString(key); b.Write(marshalString(s)) }
	nullable := func(key, s string) {
		if s == "" {
			b.WriteString(key + "null")
			return
		}
		str(key, s)
	}
	str(`{"event_id":`, e.EventID)
	str(`,"event_type":`, e.EventType)
	str(`,"aggregate_id":`, e.AggregateID)
	str(`,"aggregate_type":`, string(e.AggregateType))
	str(`,"schema_version":`, e.SchemaVersion)
	str(`,"build_id":`, e.BuildID)
	b.WriteString(`,"payload":`)
	if len(e.Payload) == 0 {
		b.WriteString("null")
	} else {
		b.Write(e.Payload)
	}
	str(`,"node_id":`, e.NodeID)
	b.WriteString(`,"lamport_clock":` + strconv.FormatInt(e.LamportClock, 10))
	nullable(`,"causation_id":`, e.CausationID)
	str(`,"timestamp":`, e.Timestamp.UTC().Format(time.RFC3339Nano))
	str(`,"team_slug":`, e.TeamSlug)
	str(`,"project_uuid":`, e.ProjectUUID)
	str(`,"project_slug":`, e.ProjectSlug)
	nullable(`,"git_branch":`, e.GitBranch)
	nullable(`,"head_commit_sha":`, e.HeadCommitSHA)
	nullable(`,"repo_slug":`, e.RepoSlug)
	b.WriteByte('}')
	return b.Bytes()
}

func TestAppendStringMatchesMarshal(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "<script>&amp;</script>",
		"\b\f\n\r\t\x00\x01\x1f\x7f", "é ü 日本 🙂", "\u2028\u2029", "bad \xff\xfe utf8 \xe2\x80",
		"\xed\xa0\x80 surrogate", "\xf4\x90\x80\x80 past max", "tail \xe2",
	} {
		if got, want := appendString(nil, s), marshalString(s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, json.Marshal gives %s", s, got, want)
		}
	}
}

// FuzzAppendString: appendString writes what json.Marshal writes, byte for
// byte, for any string (invalid UTF-8 and HTML characters included).
func FuzzAppendString(f *testing.F) {
	f.Add("<a href=\"x\">&\u2028\xff\x00\x7f</a>")
	f.Add("WP01 planned → claimed")
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString([]byte("prefix"), s)
		if want := marshalString(s); !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("appendString(%q) = %s, json.Marshal gives %s", s, got[len("prefix"):], want)
		}
	})
}

// FuzzEnvelopeReference: AppendJSON writes the envelope the json.Marshal
// encoding of its fields gives, whatever the fields hold.
func FuzzEnvelopeReference(f *testing.F) {
	f.Add("E", "<T>", "m/WP01", "u\u2028", "slug&", "\xff", int64(-7), int64(1790000000123456789))
	f.Fuzz(func(t *testing.T, id, typ, agg, team, slug, branch string, lamport, nanos int64) {
		e := Envelope{
			EventID: id, EventType: typ, AggregateID: agg, AggregateType: AggregateMission,
			SchemaVersion: SchemaVersion, BuildID: "b", Payload: []byte(`{"a":1}`), NodeID: "n",
			LamportClock: lamport, Timestamp: time.Unix(0, nanos), TeamSlug: team,
			ProjectUUID: "u", ProjectSlug: slug, GitBranch: branch,
		}
		if got, want := e.AppendJSON(nil), referenceJSON(e); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON:\n%s\nreference:\n%s", got, want)
		}
		got, at := e.AppendJSONLamport([]byte("prefix"))
		digits := strconv.FormatInt(lamport, 10)
		if !bytes.Equal(got[len("prefix"):], referenceJSON(e)) || string(got[at-len(`"lamport_clock":`):at+len(digits)]) != `"lamport_clock":`+digits {
			t.Fatalf("AppendJSONLamport: lamport digits not at %d in %s", at, got)
		}
	})
}
