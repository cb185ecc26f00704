package binding

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
)

var acme = Tracker{Provider: "linear", BindingRef: "br_1", DisplayLabel: "Acme"}

const acmeText = "tracker:\n  provider: linear\n  binding_ref: br_1\n  display_label: Acme\n"

// editTracker sets (t non-nil) or removes the tracker section of src.
func editTracker(src string, t *Tracker) (string, error) {
	d, err := parse("config.yaml", []byte(src))
	if err != nil {
		return "", err
	}
	var node *yaml.Node
	if t != nil {
		i, err := d.find(TrackerKey)
		if err != nil {
			return "", err
		}
		var cur *yaml.Node
		if i >= 0 {
			cur = d.keys[i].value
		}
		node = trackerNode(cur, *t)
	}
	out, err := d.edit(TrackerKey, node)
	return string(out), err
}

func TestEditTracker(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		remove  bool
		want    string
		wantErr string
	}{
		{name: "empty file", src: "", want: acmeText},
		{name: "comments only", src: "# repo config\n", want: "# repo config\n" + acmeText},
		{name: "document start only", src: "---\n", want: "---\n" + acmeText},
		{name: "no final newline", src: "vcs:\n  type: git", want: "vcs:\n  type: git\n" + acmeText},
		{
			name: "replace in the middle keeps neighbours and their comments",
			src:  "a: 1\n# about tracker\ntracker: # old\n  provider: jira\n  binding_ref: old\n  # inner\n\n# about b\nb:\n- x\n",
			want: "a: 1\n# about tracker\n" + acmeText + "  # inner\n\n# about b\nb:\n- x\n",
		},
		{
			name:   "remove in the middle",
			src:    "a: 1\n# about tracker\ntracker:\n  provider: jira\n  binding_ref: old\n\n# about b\nb: 2\n",
			remove: true,
			want:   "a: 1\n# about tracker\n\n# about b\nb: 2\n",
		},
		{name: "remove absent", src: "a: 1\n", remove: true, want: "a: 1\n"},
		{name: "remove last", src: "a: 1\ntracker:\n  provider: x\n  binding_ref: y\n", remove: true, want: "a: 1\n"},
		{
			name: "CRLF file keeps CRLF",
			src:  "a: 1\r\nb: 2\r\n",
			want: "a: 1\r\nb: 2\r\n" + strings.ReplaceAll(acmeText, "\n", "\r\n"),
		},
		{
			name: "CR-only file keeps CR",
			src:  "a: 1\rtracker:\r  provider: x\r  binding_ref: y\rb: 2\r",
			want: "a: 1\r" + strings.ReplaceAll(acmeText, "\n", "\r") + "b: 2\r",
		},
		{
			name: "indented top level",
			src:  "  a: 1\n  tracker: {provider: x, binding_ref: y}\n  b: 2\n",
			want: "  a: 1\n" + indent(acmeText, "  ") + "  b: 2\n",
		},
		{
			name: "document end marker stays last",
			src:  "a: 1\n...\n",
			want: "a: 1\n" + acmeText + "...\n",
		},
		{
			name: "block scalar at the end without a final newline",
			src:  "# head\na: 1\nb: |\n  text",
			want: "# head\n" + acmeText + "a: 1\nb: |\n  text",
		},
		{
			name: "byte order mark kept",
			src:  "\ufeffa: 1\n",
			want: "\ufeffa: 1\n" + acmeText,
		},
		{
			name: "explicit key",
			src:  "? tracker\n: provider: x\n  binding_ref: y\nb: 2\n",
			want: acmeText + "b: 2\n",
		},
		{
			name: "null section replaced",
			src:  "tracker:\nb: 2\n",
			want: acmeText + "b: 2\n",
		},
		{
			name: "scalar section replaced",
			src:  "tracker: none\nb: 2\n",
			want: acmeText + "b: 2\n",
		},
		{
			name: "unknown keys in the section kept, stale ones dropped",
			src:  "tracker:\n  provider: jira\n  project_slug: old\n  last_sync: 2024-01-01\n  provider_context: {site: x}\n",
			want: "tracker:\n  provider: linear\n  last_sync: 2024-01-01\n  binding_ref: br_1\n  display_label: Acme\n",
		},
		{
			// The section ends in a quoted scalar whose last line looks like a
			// comment; dropping only up to it would leave `#x"` behind, so the
			// editor falls back to the whole region.
			name: "quoted scalar ending in a comment-like line",
			src:  "tracker:\n  provider: x\n  binding_ref: \"a\n#x\"\nb: 2\n",
			want: acmeText + "b: 2\n",
		},
		{
			name: "block scalar with comment-like last line",
			src:  "tracker:\n  provider: x\n  binding_ref: y\n  note: |\n    text\n    # not a comment\nb: 2\n",
			want: "tracker:\n  provider: linear\n  binding_ref: br_1\n  note: |\n    text\n    # not a comment\n  display_label: Acme\nb: 2\n",
		},
		{name: "flow top level refused", src: "{a: 1}\n", wantErr: "config.yaml:1: cannot edit a top-level mapping written in flow style ({...})"},
		{name: "UTF-16 refused", src: "\xff\xfea\x00:\x00 \x001\x00\n\x00", wantErr: "config.yaml:1: cannot edit a UTF-16 file; save it as UTF-8"},
		{name: "duplicate section refused", src: "tracker: {}\na: 1\ntracker: {}\n", wantErr: `config.yaml:3: duplicate top-level key "tracker" (first at line 1)`},
		{
			name:    "anchor used elsewhere refused",
			src:     "tracker: &t\n  provider: x\n  binding_ref: y\nother: *t\n",
			wantErr: `config.yaml: cannot rewrite "tracker" without changing the rest of the file: another entry would read differently`,
		},
		{name: "top level list refused", src: "- a\n", wantErr: "config.yaml:1: top level is a sequence, expected a mapping"},
		{name: "second document refused", src: "a: 1\n---\nb: 2\n", wantErr: "config.yaml:3: more than one YAML document; expected one mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &acme
			if tt.remove {
				tr = nil
			}
			got, err := editTracker(tt.src, tr)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Errorf("err %T is not a *FileError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func indent(s, pad string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "")
}

func TestParseErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"tab indentation", "a: 1\n\tb: 2\n", "config.yaml:2: invalid YAML: found a tab character that violates indentation"},
		{"unclosed flow", "a: 1\nb: [\n", "config.yaml:2: invalid YAML: did not find expected node content"},
		{"first line", "a: b: c\n", "config.yaml:1: invalid YAML: mapping values are not allowed in this context"},
		{"control character", "a: 1\nb: 2\nc: \x01\n", "config.yaml:3: invalid YAML: control characters are not allowed"},
		{"invalid UTF-8", "a: 1\nb: \xff\n", "config.yaml:2: invalid YAML: invalid leading UTF-8 octet"},
		{"unknown anchor", "a: 1\nb: 2\nc: *nope\n", "config.yaml:3: invalid YAML: unknown anchor 'nope' referenced"},
		{"bad indentation", "a:\n  b: 1\n c: 2\n", "config.yaml:2: invalid YAML: did not find expected key"},
		{"second document with an error", "a: 1\n---\nb: [\n", "config.yaml:3: invalid YAML: did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse("config.yaml", []byte(tt.src))
			if err == nil {
				t.Fatal("parse succeeded")
			}
			if err.Error() != tt.want {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
		})
	}
}

func TestLineStartsMatchTheParser(t *testing.T) {
	// Every break the YAML scanner counts must start a line here, or node
	// line numbers would point at the wrong bytes.
	for _, br := range []string{"\n", "\r\n", "\r", "\u0085", "\u2028", "\u2029"} {
		src := "a: 'x" + br + "y'" + br + "tracker: 1" + br
		d, err := parse("f", []byte(src))
		if err != nil {
			t.Fatalf("break %q: %v", br, err)
		}
		i, _ := d.find(TrackerKey)
		if got := string(d.line(d.keys[i].key.Line)); got != "tracker: 1" {
			t.Errorf("break %q: line %d = %q, want %q", br, d.keys[i].key.Line, got, "tracker: 1")
		}
	}
}

func TestStrRoundTrips(t *testing.T) {
	values := []string{
		"yes", "No", "on", "OFF", "y", "true", "null", "~", "123", "1_000", "1:20", "0x1f", "0o17", "1e3", ".5",
		"2024-01-02", "2024-01-02T03:04:05Z", "=", "<<", "", " lead", "trail ", "a: b", "# x", "- x", "{x}",
		"line\nbreak", "tab\there", "\x01", "nel\u0085", "ls\u2028", "bom\ufeff", "quote\"", "back\\slash",
		"emoji 🐈", "d036a097a835", "8a4a7da6-a97c-4bb4-893a-b31664abfee4",
	}
	for _, v := range values {
		d, _ := parse("f", nil)
		out, err := d.edit("k", str(v))
		if err != nil {
			t.Errorf("%q: %v", v, err)
			continue
		}
		var got map[string]string
		if err := yaml.Unmarshal(out, &got); err != nil || got["k"] != v {
			t.Errorf("%q: wrote %q, read back %q (%v)", v, out, got["k"], err)
		}
		// YAML 1.1 readers resolve these plain scalars to booleans, numbers
		// or dates: they must be quoted.
		if yaml11().MatchString(v) && !strings.HasPrefix(string(out), `k: "`) {
			t.Errorf("%q written unquoted: %q", v, out)
		}
	}
}
