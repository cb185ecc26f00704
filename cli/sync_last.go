package cli

import (
	"fmt"

	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
)

// recordLastSync notes a successful `sync run` in <home>/last-sync, so the
// tray, `sync status` and the dashboard can say when sync last ran under the
// manual policy too. Failing to write it is a warning: the sync happened.
func recordLastSync(env *Env, synced int) {
	home, err := env.Home()
	if err == nil {
		err = localapi.WriteLastSync(home.LastSync(), localapi.LastSync{At: env.Now().UTC(), By: "sync run", Synced: synced})
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "spec-kitty: warning: could not record the last sync: %s\n", err)
	}
}
