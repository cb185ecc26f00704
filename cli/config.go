package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/config"
	"github.com/spec-kitty/spec-kitty-sync/core/localapi"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
	"github.com/spec-kitty/spec-kitty-sync/core/rollout"
	"github.com/spec-kitty/spec-kitty-sync/service/daemon"
)

const configLong = `Config reads and edits the user configuration file <home>/config.toml, where
<home> is $SPEC_KITTY_HOME, or ~/.spec-kitty when that is not set. A missing
file, table or key means the default. Reading never creates anything; only
'config set' and 'config unset' write the file. They change the one line of
the key and keep comments, ordering, blank lines and every other key byte
for byte, and replace the file atomically with mode 0600.`

// configKeysHosted describes the keys with the gate on; configKeysLocal
// with the gate off, where nothing may name the hosted surface (CONTRACTS
// §2) — the key names themselves are the file's public schema (§5).
const configKeysHosted = `

Keys (all in the [sync] table):
  sync.server_url          base URL of the hosted service, https:// (http://
                           only for localhost, 127.0.0.0/8 and ::1).
                           SPEC_KITTY_SAAS_URL overrides it. Default: not set.
  sync.max_queue_size      most events the offline queue holds; when it is
                           full, new events are refused (nothing queued is
                           dropped). A whole number >= 1. Default: 100000.
  sync.background_daemon   "auto" (default) or "manual"; case-insensitive.
                           auto: a command that needs the network may start
                           the background daemon when it is not running.
                           manual: nothing starts the daemon on its own.
                           An unknown value in the file counts as "auto"
                           (with one warning); 'config set' refuses it.`

const configKeysLocal = `

Keys (all in the [sync] table):
  sync.server_url          a URL, https:// (http:// only for localhost,
                           127.0.0.0/8 and ::1). Default: not set.
  sync.max_queue_size      a whole number >= 1. Default: 100000.
  sync.background_daemon   "auto" (default) or "manual"; case-insensitive.
                           An unknown value in the file counts as "auto"
                           (with one warning); 'config set' refuses it.`

// configHostedNote names the hosted commands behind the policy; it is only
// shown with the rollout gate on, where those commands exist.
const configHostedNote = `

Under "auto", 'tracker sync ...', 'status emit', 'sync start' and the
dashboard's "Sync now" start the sync daemon (or wake it) when needed. Under
"manual" they skip it: remote-only commands print a notice and exit 0, and
'spec-kitty sync run' performs a one-shot sync in the foreground.

When SPEC_KITTY_SAAS_URL is set it is the host: 'config get sync.server_url'
and 'config list' show its value with the source "env" (stderr names the
variable), not the value in config.toml.`

func newConfigCmd(env *Env) *Command {
	long := configLong + configKeysLocal
	if rollout.Enabled(env.Getenv) {
		long = configLong + configKeysHosted + configHostedNote
	}
	return &Command{
		UsageLine: "spec-kitty config <command> [arguments]",
		Short:     "read and edit the user configuration (config.toml)",
		Long:      long,
		Commands: []*Command{
			newConfigGetCmd(env),
			newConfigSetCmd(env),
			newConfigUnsetCmd(env),
			newConfigListCmd(env),
		},
	}
}

func newConfigGetCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty config get KEY [--json]",
		Short:     "print the effective value of a key",
		Long: `Get prints the effective value of KEY: the value in config.toml, or the
default when the file does not set it (an unset sync.server_url prints an
empty line). With --json it prints {"key", "value", "source"}, where source
is "file" or "default".

Keys: ` + strings.Join(config.Keys(), ", ") + `.
Run 'spec-kitty help config' for what each key does.`,
	}
	asJSON := c.Flags().Bool("json", false, "print key, value and source as JSON")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return usagef("config get takes exactly one KEY, got %d arguments", len(args))
		}
		if err := config.CheckKey(args[0]); err != nil {
			return configError(err)
		}
		cfg, err := loadConfig(env)
		if err != nil {
			return err
		}
		s, err := cfg.Get(args[0])
		if err != nil {
			return configError(err)
		}
		s = effective(env, s)
		if *asJSON {
			return writeJSON(env.Stdout, s)
		}
		if s.Source == sourceEnv {
			// stdout stays the bare value for scripts; say where it comes from.
			fmt.Fprintf(env.Stderr, "spec-kitty: %s is set by %s, which overrides config.toml\n", s.Key, paths.SaaSURLEnv)
		}
		_, err = fmt.Fprintln(env.Stdout, s.Value)
		return err
	}
	return c
}

func newConfigSetCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty config set KEY VALUE",
		Short:     "set a key in config.toml",
		Long: `Set validates VALUE for KEY and writes it to config.toml, creating the file
(and the state home, mode 0700) when missing. An existing line keeps its
spacing and trailing comment; a new key goes at the end of the [sync] table,
and a missing [sync] table is appended to the file. Nothing else in the file
changes. The file is replaced atomically with mode 0600.

Values:
  sync.server_url          an https:// URL (http:// only on a loopback address)
  sync.max_queue_size      a whole number >= 1
  sync.background_daemon   auto or manual (case-insensitive; written lower-case)

Example:
  spec-kitty config set sync.background_daemon manual`,
	}
	// Flags end at KEY, so a VALUE such as -5 reaches validation instead of
	// being taken for a flag.
	c.Flags().SetInterspersed(false)
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) != 2 {
			return usagef("config set takes KEY and VALUE, got %d arguments", len(args))
		}
		home, err := env.Home()
		if err != nil {
			return failf("%s", err)
		}
		defer env.conf.forget()
		if err := config.Set(home.Config(), args[0], args[1]); err != nil {
			return configError(err)
		}
		reloadDaemon(ctx, env, home)
		return nil
	}
	return c
}

// reloadDaemon tells a running sync daemon that config.toml changed (POST
// /v1/reload), so that e.g. a switch to manual stops it at once: the daemon
// does not watch the file, it re-reads it on a reload request and at each
// tick. With the gate off, or no daemon running, it does nothing.
func reloadDaemon(ctx context.Context, env *Env, home paths.Home) {
	if !rollout.Enabled(env.Getenv) {
		return
	}
	if _, running, _ := localapi.ReadState(home.DaemonState()); !running {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, reloadWait)
	defer cancel()
	if err := localapi.NewClient(home.DaemonSocket()).Reload(rctx); err != nil {
		fmt.Fprintf(env.Stderr, "spec-kitty: warning: the sync daemon was not told of the change (%s); it reads config.toml again at its next cycle (within %s)\n", err, daemon.DefaultTick)
	}
}

// reloadWait bounds the reload request of `config set/unset`.
const reloadWait = 2 * time.Second

func newConfigUnsetCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty config unset KEY",
		Short:     "remove a key from config.toml",
		Long: `Unset deletes KEY's line from config.toml so its default applies again.
Nothing else in the file changes. Unsetting a key that is not set (or when
there is no config.toml) does nothing and succeeds.

Keys: ` + strings.Join(config.Keys(), ", ") + `.`,
	}
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) != 1 {
			return usagef("config unset takes exactly one KEY, got %d arguments", len(args))
		}
		home, err := env.Home()
		if err != nil {
			return failf("%s", err)
		}
		defer env.conf.forget()
		if err := config.Unset(home.Config(), args[0]); err != nil {
			return configError(err)
		}
		reloadDaemon(ctx, env, home)
		return nil
	}
	return c
}

func newConfigListCmd(env *Env) *Command {
	c := &Command{
		UsageLine: "spec-kitty config list [--json]",
		Short:     "print every key with its effective value and source",
		Long: `List prints every known key, its effective value and where the value comes
from: "file" (config.toml) or "default". With --json it prints
{"path", "settings": [{"key", "value", "source"}]}; sync.max_queue_size is a
number, the other values are strings.`,
	}
	asJSON := c.Flags().Bool("json", false, "print the settings as JSON")
	c.Run = func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("config list takes no arguments")
		}
		cfg, err := loadConfig(env)
		if err != nil {
			return err
		}
		settings := cfg.List()
		for i := range settings {
			settings[i] = effective(env, settings[i])
		}
		if *asJSON {
			return writeJSON(env.Stdout, struct {
				Path     string           `json:"path"`
				Settings []config.Setting `json:"settings"`
			}{cfg.Path, settings})
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 0, 3, ' ', 0)
		for _, s := range settings {
			v := fmt.Sprint(s.Value)
			if v == "" {
				v = `""`
			}
			src := string(s.Source)
			if s.Source == sourceEnv {
				src = "env " + paths.SaaSURLEnv
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, v, src)
		}
		return tw.Flush()
	}
	return c
}

// sourceEnv marks sync.server_url taken from SPEC_KITTY_SAAS_URL.
const sourceEnv config.Source = "env"

// effective applies what overrides config.toml to s: with the rollout gate
// on, a non-empty SPEC_KITTY_SAAS_URL is the host (CONTRACTS §8.1), so that
// is the value shown. With the gate off the variable has no effect.
func effective(env *Env, s config.Setting) config.Setting {
	if s.Key != config.KeyServerURL || !rollout.Enabled(env.Getenv) {
		return s
	}
	if v := strings.TrimSpace(env.Getenv(paths.SaaSURLEnv)); v != "" {
		s.Value, s.Source = v, sourceEnv
	}
	return s
}

// loadConfig loads <home>/config.toml; a bad file is exit 1 naming
// file:line:col. Unknown-policy warnings go to stderr. Within one Main call
// the file is read once and every caller gets the same answer.
func loadConfig(env *Env) (config.Config, error) {
	m := env.conf
	if m == nil {
		return readConfig(env)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.done {
		m.cfg, m.err = readConfig(env)
		m.done = true
	}
	return m.cfg, m.err
}

func readConfig(env *Env) (config.Config, error) {
	home, err := env.Home()
	if err != nil {
		return config.Config{}, failf("%s", err)
	}
	cfg, err := config.Load(home.Config(), env.Stderr)
	if err != nil {
		return config.Config{}, failf("%s", err)
	}
	return cfg, nil
}

// configError maps core/config errors to exit codes: unknown keys and
// refused values are usage errors (2), everything else a failure (1).
func configError(err error) error {
	if err == nil {
		return nil
	}
	var ke *config.KeyError
	if errors.As(err, &ke) {
		return withHint(usagef("unknown config key %q", ke.Key),
			"known keys: "+strings.Join(config.Keys(), ", "))
	}
	var ve *config.ValueError
	if errors.As(err, &ve) {
		return usagef("%s", ve)
	}
	return failf("%s", err)
}
