#!/usr/bin/env bash
# Operator acceptance scenarios, run by `make test`: the stealth default, the
# per-prerequisite failures, the manual policy and the auto policy, each as a
# PASS/FAIL line, against a freshly built binary, temporary state homes and
# dev hosts (scripts/devhost) that this script starts on loopback itself.
# Ends with "N passed, N failed" and exits 1 on any failure. Cleans up
# everything it started. Only loopback traffic.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Short temporary path: daemon sockets live in the state homes (Unix socket
# paths are limited to ~104 bytes).
work=$(mktemp -d /tmp/skacc.XXXXXX) || exit 1
pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for h in "$work"/home-*; do
    [ -f "$h/sync-daemon" ] || continue
    local p
    p=$(sed -n 's/^ *"pid": *\([0-9]*\).*/\1/p' "$h/sync-daemon")
    SPEC_KITTY_HOME=$h SPEC_KITTY_ENABLE_SAAS_SYNC=1 "$sk" sync stop >/dev/null 2>&1
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill "$p" 2>/dev/null; fi
  done
  for p in "${pids[@]:-}"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; fi
  done
  rm -rf "$work"
  exit "$rc"
}
sk="$work/bin/spec-kitty"
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$work/bin/spec-kitty" ./cli/cmd/spec-kitty || { echo "FAIL: build spec-kitty"; exit 1; }
go build -o "$work/bin/devhost" ./scripts/devhost || { echo "FAIL: build scripts/devhost"; exit 1; }
go build -o "$work/bin/corpus" ./scripts/corpus || { echo "FAIL: build scripts/corpus"; exit 1; }

# A clean environment: nothing of the caller's configuration, no browser, and
# no OS keychain (SPEC_KITTY_KEYCHAIN=off: every state home keeps its own
# auth.json, and a developer's real session is never touched).
unset SPEC_KITTY_ENABLE_SAAS_SYNC SPEC_KITTY_SAAS_URL SPECIFY_REPO_ROOT SPEC_KITTY_HOME \
  SPEC_KITTY_HTTP_TIMEOUT DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS
export HOME="$work/userhome" SPEC_KITTY_KEYCHAIN=off
mkdir -p "$HOME"

# The repository is named spec-kitty, so its project slug matches the binding
# the dev host has seeded (tracker bind finds an exact match).
repo="$work/spec-kitty"
mkdir -p "$repo"
# Three missions of the small generated corpus (scripts/corpus), or of the real
# public corpus when it is present (SPEC_KITTY_FIXTURES, else ../shared/fixtures):
# the corpus samples are in both.
newest=expected-artifacts-manifest-repair-01KZY498
source=generated
if [ -n "${SPEC_KITTY_FIXTURES:-}" ] || [ -e ../shared/fixtures/spec-kitty-missions.tar.gz ]; then source=real; fi
"$work/bin/corpus" -out "$repo" -source "$source" -size small \
  -missions "002-lightweight-pypi-release,charter-p7-release-closure-01KQF9B9,$newest" ||
  { echo "FAIL: write the missions"; exit 1; }
# {mission} in the binding message is the mission whose events changed last.
# Give it an mtime an hour ahead, so no write within this run can tie with it
# (file times come from a coarse kernel clock).
make_newest() { touch -d "@$(($(date +%s) + 3600))" "$repo/kitty-specs/$newest/status.events.jsonl"; }
make_newest

passed=0 failed=0
check() { # check NAME CMD... ; CMD's status decides
  local name=$1; shift
  if "$@"; then echo "PASS: $name"; passed=$((passed+1)); else echo "FAIL: $name"; failed=$((failed+1)); fi
}

# The environment of the next `run`: state home, gate value, host URL.
HOMEDIR="$work/home-stealth" GATE= URL=
run() { # run EXPECTED_RC ARGS... ; output in $work/out, $work/err
  local want=$1; shift
  (cd "$repo" && SPEC_KITTY_HOME="$HOMEDIR" SPEC_KITTY_ENABLE_SAAS_SYNC="$GATE" SPEC_KITTY_SAAS_URL="$URL" \
    "$sk" "$@" >"$work/out" 2>"$work/err" </dev/null); local rc=$?
  [ "$rc" = "$want" ] || { echo "  '$*' exited $rc, want $want; stderr:"; sed 's/^/    /' "$work/err"; return 1; }
}
# same FILE EXPECTED: FILE holds exactly EXPECTED (printf format, no args).
same() {
  # shellcheck disable=SC2059
  printf "$2" >"$work/want"
  cmp -s "$work/want" "$1" || { echo "  $1 differs (diff: < want, > got):"; diff "$work/want" "$1" | sed 's/^/    /'; return 1; }
}
no_daemon_files() { ! compgen -G "$HOMEDIR/sync-daemon*" >/dev/null; }
wait_for() { # wait_for SECONDS CMD...
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ "$SECONDS" -lt "$deadline" ] || return 1; sleep 0.1; done
}

# http METHOD URL [FORM-BODY]: minimal HTTP/1.0 over bash's /dev/tcp, for the
# dev host's endpoints (loopback only; no curl needed). Prints the body.
http() {
  local method=$1 url=$2 body=${3:-} hostport path=/ resp
  hostport=${url#http://}
  case $hostport in */*) path=/${hostport#*/} ;; esac
  hostport=${hostport%%/*}
  case $hostport in 127.0.0.1:*) ;; *) echo "http: refusing non-loopback $url" >&2; return 1 ;; esac
  exec 9<>"/dev/tcp/127.0.0.1/${hostport#*:}" || return 1
  printf '%s %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$method" "$path" "$hostport" "${#body}" "$body" >&9
  resp=$(cat <&9); exec 9<&-
  printf '%s\n' "${resp#*$'\r\n\r\n'}"
}

# devhost NAME: start a dev host on a free loopback port; sets $DEVHOST_URL
# and $DEVHOST_PID.
devhost() {
  "$work/bin/devhost" -addr 127.0.0.1:0 -approve-after 0 -ready-file "$work/$1.url" >/dev/null 2>"$work/$1.log" &
  DEVHOST_PID=$!
  pids+=("$DEVHOST_PID")
  wait_for 20 test -s "$work/$1.url" || { echo "FAIL: dev host $1 did not start"; cat "$work/$1.log"; exit 1; }
  DEVHOST_URL=$(cat "$work/$1.url")
}

# signin: sign the current HOMEDIR in to URL without waiting for the device
# flow's 5 s poll interval: request a device code, approve it as the user
# would, fetch the tokens, and hand them to `auth login --with-token`.
signin() {
  local dc uc tok
  dc=$(http POST "$URL/oauth/device" "client_id=cli_native&scope=offline_access")
  uc=$(printf '%s' "$dc" | sed -n 's/.*"user_code":"\([^"]*\)".*/\1/p')
  dc=$(printf '%s' "$dc" | sed -n 's/.*"device_code":"\([^"]*\)".*/\1/p')
  http POST "$URL/_test/approve" "user_code=$uc" >/dev/null
  tok=$(http POST "$URL/oauth/token" "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=$dc&client_id=cli_native")
  (cd "$repo" && printf '%s' "$tok" | SPEC_KITTY_HOME="$HOMEDIR" SPEC_KITTY_ENABLE_SAAS_SYNC=1 SPEC_KITTY_SAAS_URL="$URL" \
    "$sk" auth login --with-token >"$work/out" 2>"$work/err") ||
    { echo "  sign-in to $URL failed:"; sed 's/^/    /' "$work/err"; return 1; }
}

# Stable wording (CONTRACTS §4 and §6), byte for byte.
MISSING_AUTH='No SaaS authentication token is present.\n\nRun `spec-kitty auth login`.\n'
MISSING_HOST='No SaaS host URL is configured.\n\nSet `SPEC_KITTY_SAAS_URL` in your environment.\n'
unreachable() { printf 'The configured SaaS host did not respond within 2 seconds.\n\nCheck network connectivity to `%s` and retry.\n' "$1"; }
NO_BINDING="No tracker binding exists for feature \`$newest\`.\\n\\nRun \`spec-kitty tracker bind\` from this repo.\\n"
MANUAL_NOTICE='Background sync is in manual mode (`[sync].background_daemon = "manual"`).\nRun `spec-kitty sync run` to perform a one-shot remote sync.\n'

# --- stealth default: the gate is off -------------------------------------
stealth_help() { run 0 --help && ! grep -Eq 'tracker|auth|sync|service' "$work/out"; }
check "gate off: no hosted command in --help" stealth_help
for g in tracker auth sync service; do
  unknown() { run 2 "$g" status && grep -qx "spec-kitty: unknown command \"$g\"" "$work/err"; }
  check "gate off: '$g' is an unknown command (exit 2)" unknown
done
no_home() { run 0 version && run 0 status && [ ! -e "$HOMEDIR" ]; }
check "gate off: local commands create no state home" no_home
for v in 0 false no off banana 2 enabled ""; do
  still_off() { GATE=$v run 2 tracker status; }
  check "gate value '$v' keeps the gate closed" still_off
done
emit_local() {
  run 0 status emit --mission 002-lightweight-pypi-release WP01 --to done --actor acceptance --force --reason acceptance &&
    [ ! -e "$HOMEDIR" ] && [ ! -s "$work/err" ]
}
check "gate off: status emit only writes the line (no state home, nothing on stderr)" emit_local

# --- per-prerequisite failures (gate on) ----------------------------------
devhost main
MAIN_URL=$DEVHOST_URL
GATE=1

HOMEDIR="$work/home-noauth" URL=$MAIN_URL
for cmd in "tracker status" "tracker bind --provider linear" "sync run" "sync start"; do
  # shellcheck disable=SC2086
  no_auth() { run 1 $cmd && same "$work/err" "$MISSING_AUTH"; }
  check "no session: '$cmd' -> missing_auth" no_auth
done
HOMEDIR="$work/home-noauth" URL=
login_no_host() { run 1 auth login --headless && same "$work/err" "$MISSING_HOST"; }
check "no host: 'auth login' -> missing_host_config" login_no_host

HOMEDIR="$work/home-main" URL=$MAIN_URL
check "sign in to the dev host (device code approved, auth login --with-token)" signin
URL=
for cmd in "tracker status" "sync run"; do
  # shellcheck disable=SC2086
  no_host() { run 1 $cmd && same "$work/err" "$MISSING_HOST"; }
  check "signed in, no host URL: '$cmd' -> missing_host_config" no_host
done
URL=$MAIN_URL
for cmd in "tracker status" "tracker map list" "tracker sync run" "tracker unbind"; do
  # shellcheck disable=SC2086
  no_binding() { run 1 $cmd && same "$work/err" "$NO_BINDING"; }
  check "signed in, repo not bound: '$cmd' -> missing_mission_binding" no_binding
done

# Unreachable: a session issued by a host that then went away (its port is
# closed now).
devhost gone
GONE_URL=$DEVHOST_URL GONE_PID=$DEVHOST_PID
HOMEDIR="$work/home-gone" URL=$GONE_URL
check "sign in to a second dev host" signin
kill "$GONE_PID" && wait "$GONE_PID" 2>/dev/null
closed() { ! (exec 9<>"/dev/tcp/127.0.0.1/${GONE_URL##*:}") 2>/dev/null; }
check "the second dev host is gone (closed port)" closed
for cmd in "sync run" "sync start" "tracker sync run"; do
  # shellcheck disable=SC2086
  gone() { run 1 $cmd && same "$work/err" "$(unreachable "$GONE_URL")\n"; }
  check "closed host port: '$cmd' -> host_unreachable" gone
done
local_only_offline() { run 0 sync status && grep -q '^readiness: *ready' "$work/out" && no_daemon_files; }
check "closed host port: 'sync status' does not probe (ready, exit 0, no daemon)" local_only_offline

# --- binding ---------------------------------------------------------------
HOMEDIR="$work/home-main" URL=$MAIN_URL
bind() { run 0 tracker bind --provider linear && grep -q '^Bound to linear ' "$work/out"; }
check "tracker bind --provider linear binds the seeded exact match" bind
bound_status() { run 0 tracker status && grep -q 'bind_linear_sk' "$work/out"; }
check "tracker status shows the binding" bound_status

# --- manual policy ----------------------------------------------------------
HOMEDIR="$work/home-manual" URL=$MAIN_URL
check "sign in a third state home" signin
manual_set() { run 0 config set sync.background_daemon manual; }
check "config set sync.background_daemon manual" manual_set
for cmd in "tracker sync run" "tracker sync push" "sync start"; do
  # shellcheck disable=SC2086
  manual() { run 0 $cmd && same "$work/out" "$MANUAL_NOTICE" && no_daemon_files; }
  check "manual: '$cmd' prints the notice on stdout, exit 0, no daemon" manual
done
manual_emit() {
  run 0 status emit --mission "$newest" WP01 --to done --actor acceptance --force --reason acceptance &&
    grep -q '"event_id"' "$work/out" && same "$work/err" "$MANUAL_NOTICE" && no_daemon_files
}
check "manual: status emit writes the event, notice on stderr, exit 0, no daemon" manual_emit
manual_id=$(sed -n 's/.*"event_id": "\([0-9A-Z]*\)".*/\1/p' "$work/out")
manual_queued() { run 0 sync status --json && grep -Eq '"queue_depth": *[1-9]' "$work/out"; }
check "manual: the event waits in the queue" manual_queued
not_on_host() { ! http GET "$MAIN_URL/_test/events" | grep -q "\"$manual_id\""; }
check "manual: the event is not on the host" not_on_host
manual_run() {
  run 0 sync run && grep -q '^synced [1-9]' "$work/out" && http GET "$MAIN_URL/_test/events" | grep -q "\"$manual_id\"" &&
    no_daemon_files
}
check "manual: sync run delivers it in the foreground, no daemon" manual_run

# --- auto policy -------------------------------------------------------------
HOMEDIR="$work/home-main" URL=$MAIN_URL
auto_emit() {
  run 0 status emit --mission "$newest" WP01 --to blocked --actor acceptance --force --reason "waiting" &&
    grep -q '^sync daemon started (pid [0-9]*)$' "$work/err"
}
check "auto: status emit starts the daemon" auto_emit
auto_id=$(sed -n 's/.*"event_id": "\([0-9A-Z]*\)".*/\1/p' "$work/out")
on_host() { http GET "$MAIN_URL/_test/events" | grep -q "\"$auto_id\""; }
auto_delivered() { wait_for 10 on_host; }
check "auto: the daemon delivers the event within 10 s" auto_delivered
auto_wake() {
  run 0 status emit --mission "$newest" WP01 --to in_progress --actor acceptance &&
    grep -q '^sync daemon running (pid [0-9]*); asked it to sync now$' "$work/err" &&
    auto_id=$(sed -n 's/.*"event_id": "\([0-9A-Z]*\)".*/\1/p' "$work/out") && wait_for 10 on_host
}
check "auto: a second emit wakes the running daemon, which delivers it" auto_wake
auto_stop() { run 0 sync stop && grep -q '^sync daemon stopped (pid [0-9]*)$' "$work/out" && wait_for 5 no_daemon_state; }
no_daemon_state() { [ ! -e "$HOMEDIR/sync-daemon" ] && [ ! -e "$HOMEDIR/sync-daemon.sock" ]; }
check "auto: sync stop stops it and it removes its state file and socket" auto_stop

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
