package cli

import (
	"testing"

	"github.com/spec-kitty/spec-kitty-sync/core/syncer"
)

// TestLimitEngineMemory: a command that runs the engine sets the soft heap
// limit, unless the user's GOMEMLIMIT stands; an Env without the setter (a
// command run in-process by a test) sets nothing.
func TestLimitEngineMemory(t *testing.T) {
	for _, tt := range []struct {
		name      string
		gomemlim  string
		hasSetter bool
		want      int64 // -1: not called
	}{
		{"default", "", true, syncer.MemoryLimit},
		{"GOMEMLIMIT set", "512MiB", true, -1},
		{"no setter", "", false, -1},
	} {
		got := int64(-1)
		env := &Env{Getenv: func(k string) string {
			if k == "GOMEMLIMIT" {
				return tt.gomemlim
			}
			return ""
		}}
		if tt.hasSetter {
			env.SetMemoryLimit = func(n int64) int64 { got = n; return 0 }
		}
		limitEngineMemory(env)
		if got != tt.want {
			t.Errorf("%s: limit set to %d, want %d", tt.name, got, tt.want)
		}
	}
}
