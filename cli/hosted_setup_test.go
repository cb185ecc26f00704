package cli

import "github.com/rogpeppe/go-internal/testscript"

// setupHosted starts the per-script hosted API stand-in and exports $HOST.
func setupHosted(e *testscript.Env) error {
	return nil
}
