package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name   string
		gate   bool
		intent Intent
		policy Policy
		want   Decision
		reads  bool // whether the policy may be read
	}{
		{"gate off local auto", false, LocalOnly, Auto, Decision{Reason: ReasonRolloutDisabled}, false},
		{"gate off remote auto", false, RemoteRequired, Auto, Decision{Reason: ReasonRolloutDisabled}, false},
		{"gate off remote manual", false, RemoteRequired, Manual, Decision{Reason: ReasonRolloutDisabled}, false},
		{"local auto", true, LocalOnly, Auto, Decision{Reason: ReasonLocalOnly}, false},
		{"local manual", true, LocalOnly, Manual, Decision{Reason: ReasonLocalOnly}, false},
		{"remote manual", true, RemoteRequired, Manual, Decision{Reason: ReasonManual}, true},
		{"remote auto", true, RemoteRequired, Auto, Decision{Start: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read := false
			got, err := Decide(tt.gate, tt.intent, func() Policy { read = true; return tt.policy })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if read && !tt.reads {
				t.Errorf("policy was read although the decision did not need it")
			}
		})
	}
}

func TestDecideRejectsZeroIntent(t *testing.T) {
	for _, i := range []Intent{"", "remote", "LOCAL_ONLY"} {
		if _, err := Decide(true, i, func() Policy { return Auto }); err == nil {
			t.Errorf("Decide accepted intent %q", i)
		}
		if _, err := Decide(false, i, func() Policy { return Auto }); err == nil {
			t.Errorf("Decide with gate off accepted intent %q", i)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Policy
		ok, err bool
	}{
		{"auto", Auto, true, false},
		{"AUTO", Auto, true, false},
		{" Manual ", Manual, true, false},
		{"banana", Auto, false, false},
		{"", "", false, true},
		{"   ", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok, err := Parse(tt.in)
			if (err != nil) != tt.err || ok != tt.ok || got != tt.want {
				t.Errorf("Parse(%q) = %q, %v, %v; want %q, %v, err=%v", tt.in, got, ok, err, tt.want, tt.ok, tt.err)
			}
		})
	}
}

func TestBackground(t *testing.T) {
	for p, want := range map[Policy]bool{Auto: true, Manual: false} {
		if got := p.Background(); got != want {
			t.Errorf("%q.Background() = %v, want %v", p, got, want)
		}
		d, err := Decide(true, RemoteRequired, func() Policy { return p })
		if err != nil || d.Start != want {
			t.Errorf("Decide under %q = %+v, %v; Background says %v", p, d, err, want)
		}
	}
}
