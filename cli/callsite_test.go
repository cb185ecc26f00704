package cli

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// allowedCallSites is CONTRACTS.md §6's table of EnsureRunning call sites:
// the function that calls it (directory-relative file prefix + func name)
// and the intent it must pass. The tray's "Sync now" execs `spec-kitty sync
// start`, so its call site is runSyncStart.
var allowedCallSites = []struct {
	dir    string // directory of the file, from the repo root
	fn     string // enclosing function or method name
	intent string // policy.<Intent> constant name
	label  string
}{
	{"cli/dashboard", "ensureDaemonOnStartup", "LocalOnly", "dashboard server startup"},
	{"cli/dashboard", "ensureDaemonForRead", "LocalOnly", "dashboard read endpoints"},
	{"cli/dashboard", "handleSyncNow", "RemoteRequired", "dashboard \"Sync now\" endpoint"},
	{"cli", "uploadEmitted", "RemoteRequired", "status emit (upload path)"},
	{"cli", "trackerSyncLaunch", "RemoteRequired", "tracker sync pull|push|run|publish"},
	{"cli", "runSyncStart", "RemoteRequired", "sync start (and the tray's Sync now)"},
}

// TestEnsureRunningCallSites walks every non-test Go file of the module with
// go/ast and fails on a call of EnsureRunning outside the table or with a
// different intent.
func TestEnsureRunningCallSites(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "testdata" || name == ".git" || name == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		dir := filepath.ToSlash(filepath.Dir(rel))
		if dir == "service/launch" {
			return nil // the definition itself
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Errorf("parse %s: %v", rel, err)
			return nil
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || !isEnsureRunning(call.Fun) {
					return true
				}
				pos := fset.Position(call.Pos())
				where := fmt.Sprintf("%s:%d in %s", rel, pos.Line, fd.Name.Name)
				intent := ""
				if len(call.Args) == 2 {
					if sel, ok := call.Args[1].(*ast.SelectorExpr); ok {
						if x, ok := sel.X.(*ast.Ident); ok && x.Name == "policy" {
							intent = sel.Sel.Name
						}
					}
				}
				if intent == "" {
					t.Errorf("%s: EnsureRunning must be called as EnsureRunning(ctx, policy.<Intent>)", where)
					return true
				}
				for _, a := range allowedCallSites {
					if a.dir == dir && a.fn == fd.Name.Name {
						if a.intent != intent {
							t.Errorf("%s: %s must pass policy.%s, passes policy.%s", where, a.label, a.intent, intent)
						}
						seen[a.fn] = true
						return true
					}
				}
				t.Errorf("%s: EnsureRunning called outside the call sites of CONTRACTS.md §6", where)
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range allowedCallSites {
		if !seen[a.fn] && dirExists(filepath.Join(root, a.dir)) && hasFunc(t, fset, filepath.Join(root, a.dir), a.fn) {
			t.Errorf("%s (%s.%s) does not call EnsureRunning", a.label, a.dir, a.fn)
		}
	}
}

func isEnsureRunning(fun ast.Expr) bool {
	switch f := fun.(type) {
	case *ast.SelectorExpr:
		return f.Sel.Name == "EnsureRunning"
	case *ast.Ident:
		return f.Name == "EnsureRunning"
	}
	return false
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// hasFunc reports whether a non-test Go file in dir declares fn.
func hasFunc(t *testing.T, fset *token.FileSet, dir, fn string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Errorf("read %s: %v", dir, err)
		return false
	}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("parse %s: %v", name, err)
			continue
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == fn {
				return true
			}
		}
	}
	return false
}
