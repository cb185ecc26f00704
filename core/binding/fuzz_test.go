package binding

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
)

// FuzzEdit drives the section editor with arbitrary files and values. For
// every file that parses and every edit that succeeds it asserts that the
// result parses, that the edited section reads back with the new values, and
// that no byte outside the edited section changed: the output is exactly
// original[:start] + new text + original[end:], where start is the start of
// the section's key line and end lies between the end of its content and the
// start of the next top-level key (or EOF); a new section is inserted without
// changing any original byte. An edit may be refused only with a *FileError,
// and writing the same values into an empty file must always work.
//
// op selects the edit: 0 set tracker by binding_ref, 1 remove tracker,
// 2 set project, 3 set tracker by project_slug.
func FuzzEdit(f *testing.F) {
	f.Fuzz(func(t *testing.T, src []byte, op byte, a, b, c string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) || !utf8.ValidString(c) || len(src) > maxFileSize {
			return
		}
		d, err := parse("f", src)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || fe.Line < 0 {
				t.Fatalf("parse error %v is not a *FileError", err)
			}
			return
		}
		name, want, node := fuzzEdit(d, op, a, b, c)
		out, err := d.edit(name, node)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("edit error %v is not a *FileError", err)
			}
			// The values themselves must always be writable.
			empty, _ := parse("f", nil)
			_, _, node := fuzzEdit(empty, op, a, b, c)
			if _, err := empty.edit(name, node); err != nil {
				t.Fatalf("values cannot be written even into an empty file: %v", err)
			}
			return
		}

		nd, err := parse("f", out)
		if err != nil {
			t.Fatalf("result does not parse: %v\nsrc: %q\nout: %q", err, src, out)
		}
		switch want := want.(type) {
		case *Tracker:
			got, has, err := nd.tracker()
			if err != nil {
				t.Fatalf("tracker does not read back: %v\nout: %q", err, out)
			}
			if want == nil {
				if has {
					t.Fatalf("tracker still present\nout: %q", out)
				}
			} else if diff := cmp.Diff(*want, got); diff != "" || !has {
				t.Fatalf("tracker read back (-want +got):\n%s\nout: %q", diff, out)
			}
		case Project:
			got, has, err := nd.project()
			if err != nil || !has {
				t.Fatalf("project does not read back: %v\nout: %q", err, out)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("project read back (-want +got):\n%s\nout: %q", diff, out)
			}
		}

		i, _ := d.find(name)
		if i < 0 {
			if node == nil {
				if !bytes.Equal(out, src) {
					t.Fatalf("removing an absent section changed the file")
				}
				return
			}
			if !insertedOnly(src, out) {
				t.Fatalf("adding a section changed original bytes\nsrc: %q\nout: %q", src, out)
			}
			return
		}
		start := d.lineStart(d.keys[i].key.Line)
		end := len(src)
		if i+1 < len(d.keys) {
			end = d.lineStart(d.keys[i+1].key.Line)
		}
		if !bytes.HasPrefix(out, src[:start]) || !bytes.HasSuffix(out, src[end:]) {
			t.Fatalf("bytes outside the section changed\nsrc: %q\nout: %q", src, out)
		}
		// Every other top-level entry reads back the same, in order.
		var before, after []string
		for _, e := range d.keys {
			if e.name != name {
				before = append(before, canon(e.key)+canon(e.value))
			}
		}
		for _, e := range nd.keys {
			if e.name != name {
				after = append(after, canon(e.key)+canon(e.value))
			}
		}
		if !cmp.Equal(before, after) {
			t.Fatalf("other entries changed\nsrc: %q\nout: %q", src, out)
		}
	})
}

// fuzzEdit builds the edit op asks for and what the section must read back
// as afterwards.
func fuzzEdit(d *doc, op byte, a, b, c string) (name string, want any, node *yaml.Node) {
	cur := func(key string) *yaml.Node {
		i, err := d.find(key)
		if err != nil || i < 0 {
			return nil
		}
		return d.keys[i].value
	}
	switch op % 4 {
	case 0, 3:
		tr := Tracker{Provider: "p" + a, DisplayLabel: c, ProviderContext: map[string]string{"workspace": c, b: a}}
		if op%4 == 0 {
			tr.BindingRef = "r" + b
		} else {
			tr.ProjectSlug = "s" + b
		}
		return TrackerKey, &tr, trackerNode(cur(TrackerKey), tr)
	case 1:
		return TrackerKey, (*Tracker)(nil), nil
	default:
		p := Project{UUID: "u" + a, Slug: b, NodeID: c, BuildID: "x"}
		return ProjectKey, p, projectNode(cur(ProjectKey), p)
	}
}

// insertedOnly reports whether out is src with one run of bytes inserted.
func insertedOnly(src, out []byte) bool {
	if len(out) < len(src) {
		return false
	}
	n := 0
	for n < len(src) && src[n] == out[n] {
		n++
	}
	return bytes.Equal(src[n:], out[len(out)-(len(src)-n):])
}
