package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/spec-kitty/spec-kitty-sync/core/fixture"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"spec-kitty": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := Main(ctx, os.Args[1:], OSEnv())
			stop()
			os.Exit(code)
		},
	})
}

// TestScripts runs cli/testdata/script/*.txtar: each script is a user's
// session with the real binary entry point. Every script gets its own state
// home and user home. Repositories come from the generated corpus (the
// `corpus` command); $FIXTURES points at the real missions (a directory
// holding kitty-specs/) when they are present, and the condition [real]
// tells whether they are.
func TestScripts(t *testing.T) {
	realDir, err := fixture.Real()
	if err != nil && !errors.Is(err, fixture.ErrNoReal) {
		t.Fatal(err)
	}
	if realDir == "" {
		t.Log(fixture.EnableHint + " (scripts with [real] parts skip them)")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		Cmds:                scriptCmds(),
		Condition: func(cond string) (bool, error) {
			switch {
			case cond == "real":
				return realDir != "", nil
			case strings.HasPrefix(cond, "tool:"):
				return toolCondition(cond)
			}
			if cond == "systemd" {
				// How kardianos (and sd_booted) tell systemd is PID 1.
				_, err := os.Stat("/run/systemd/system")
				return err == nil, nil
			}
			return scriptCondition(cond)
		},
		Setup: func(e *testscript.Env) error {
			e.Setenv("SPEC_KITTY_HOME", filepath.Join(e.WorkDir, "home"))
			e.Setenv("HOME", filepath.Join(e.WorkDir, "userhome"))
			e.Setenv("FIXTURES", realDir)
			e.Setenv("SPEC_KITTY_ENABLE_SAAS_SYNC", "")
			e.Setenv("SPEC_KITTY_SAAS_URL", "")
			e.Setenv("SPECIFY_REPO_ROOT", "")
			// Never the developer's real keychain: sessions go to auth.json.
			e.Setenv("SPEC_KITTY_KEYCHAIN", "off")
			return setupHosted(e)
		},
	})
}

// toolCondition answers [tool:NAME]: whether the program NAME is installed.
// Under CI=true a missing tool is an error, not a skip (TESTING.md); make
// test installs it (scripts/test-tools.sh).
func toolCondition(cond string) (bool, error) {
	name, ok := strings.CutPrefix(cond, "tool:")
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			return false, fmt.Errorf("%s is required (CI=true): %v", name, err)
		}
		return false, nil
	}
	return true, nil
}
