package rollout

import "testing"

func TestEnabled(t *testing.T) {
	tests := []struct {
		name  string
		value string
		set   bool
		want  bool
	}{
		{name: "unset", set: false, want: false},
		{name: "empty", value: "", set: true, want: false},
		{name: "one", value: "1", set: true, want: true},
		{name: "true", value: "true", set: true, want: true},
		{name: "TRUE padded", value: "  TRUE\t", set: true, want: true},
		{name: "yes", value: "Yes", set: true, want: true},
		{name: "on", value: "ON", set: true, want: true},
		{name: "zero", value: "0", set: true, want: false},
		{name: "false", value: "false", set: true, want: false},
		{name: "no", value: "no", set: true, want: false},
		{name: "off", value: "off", set: true, want: false},
		{name: "banana", value: "banana", set: true, want: false},
		{name: "two", value: "2", set: true, want: false},
		{name: "enabled", value: "enabled", set: true, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == EnvVar && tt.set {
					return tt.value
				}
				return ""
			}
			if got := Enabled(getenv); got != tt.want {
				t.Errorf("Enabled(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
	if Enabled(nil) {
		t.Error("Enabled(nil) = true, want false")
	}
}
