#!/usr/bin/env bash
# demo.sh - the end-to-end walk-through of spec-kitty's hosted sync against
# the dev host (`make demo` runs it after `make build`).
#
# It uses a temporary state home, HOME and repository (the small generated
# corpus, or three real missions when ../shared/fixtures or SPEC_KITTY_FIXTURES
# has them; it says which), starts scripts/devhost on a free loopback
# port, and walks through: gate off -> gate on without sign-in -> sign-in ->
# bind -> status emit delivered by the background daemon -> manual policy ->
# sync run -> dashboard. Every step checks what it shows; the script exits 1
# at the first step that misbehaves. Everything it started is stopped and the
# temporary directory removed on exit, whatever happens. Only loopback
# traffic: the dev host listens on 127.0.0.1 and nothing else is contacted.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# ---------------------------------------------------------------- output --
if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'; else B= G= R= D= N=; fi
stepno=0
step() { stepno=$((stepno + 1)); printf '\n%s== %d. %s ==%s\n' "$B" "$stepno" "$1" "$N"; }
say() { printf '%s\n' "$*"; }
ok() { printf '%s   ok: %s%s\n' "$G" "$*" "$N"; }
fail() {
  printf '\n%sdemo: FAILED in step %d: %s%s\n' "$R" "$stepno" "$*" "$N" >&2
  exit 1
}
indent() { sed 's/^/    /'; }

# ------------------------------------------------------- work area + trap --
# Short temporary path: the daemon's socket lives in the state home and Unix
# socket paths are limited to ~104 bytes.
work=$(mktemp -d /tmp/skdemo.XXXXXX) || exit 1
devhost_pid= dash_pid= login_pid=
SK=$root/bin/spec-kitty
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +u
  # The sync daemon: ask it to stop, then make sure.
  if [ -f "$work/state/sync-daemon" ]; then
    local dpid
    dpid=$(sed -n 's/^ *"pid": *\([0-9]*\).*/\1/p' "$work/state/sync-daemon")
    (cd "$work/spec-kitty" 2>/dev/null && SPEC_KITTY_ENABLE_SAAS_SYNC=1 "$SK" sync stop >/dev/null 2>&1)
    if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then kill "$dpid" 2>/dev/null; fi
  fi
  for p in "$login_pid" "$dash_pid" "$devhost_pid"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; fi
  done
  rm -rf "$work"
  if [ "$rc" = 0 ]; then printf '\n%sdemo: cleaned up (daemon, dev host, dashboard, %s)%s\n' "$D" "$work" "$N"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS CMD... : poll CMD every 0.1 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# http METHOD URL [FORM-BODY]: a minimal HTTP/1.0 client over bash's /dev/tcp
# (loopback only), so the demo needs no curl. Prints the response body.
http() {
  local method=$1 url=$2 body=${3:-} hostport path resp
  hostport=${url#http://}; path=/
  case $hostport in */*) path=/${hostport#*/} ;; esac
  hostport=${hostport%%/*}
  case $hostport in 127.0.0.1:*) ;; *) echo "http: refusing non-loopback $url" >&2; return 1 ;; esac
  exec 9<>"/dev/tcp/127.0.0.1/${hostport#*:}" || return 1
  printf '%s %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$method" "$path" "$hostport" "${#body}" "$body" >&9
  resp=$(cat <&9); exec 9<&-
  case ${resp%%$'\r'*} in HTTP/1.?\ 2*) ;; *) echo "${resp%%$'\r'*}" >&2; return 1 ;; esac
  printf '%s\n' "${resp#*$'\r\n\r\n'}"
}

# run WANT_RC ARGS... : run spec-kitty in the repo, show the command and its
# output (stdout, then stderr marked), check the exit status.
run() {
  local want=$1; shift
  printf '%s  $ spec-kitty %s%s\n' "$D" "$*" "$N"
  (cd "$work/spec-kitty" && "$SK" "$@" >"$work/out" 2>"$work/err"); local rc=$?
  indent <"$work/out"
  [ -s "$work/err" ] && sed 's/^/    (stderr) /' "$work/err"
  [ "$rc" = "$want" ] || fail "'spec-kitty $*' exited $rc, want $want"
}

host_events() { http GET "$HOST/_test/events"; }
host_count() { host_events | sed -n 's/.*"count":\([0-9]*\).*/\1/p'; }
host_has() { host_events | grep -q "\"$1\""; }
daemon_pid() { sed -n 's/^ *"pid": *\([0-9]*\).*/\1/p' "$work/state/sync-daemon" 2>/dev/null; }
daemon_gone() { local p; p=$(daemon_pid); [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; }
event_id_of() { sed -n 's/.*"event_id": "\([0-9A-Z]*\)".*/\1/p' "$1"; }

# ------------------------------------------------------------------ setup --
step "Setup: binaries, dev host, a temporary home and repository"
if [ ! -x "$SK" ] || [ ! -x "$root/bin/spec-kitty-tray" ] ||
  [ -n "$(find cli core service tray go.mod go.sum -newer "$SK" -not -path '*/testdata/*' -type f -print -quit)" ]; then
  say "building (make build)..."
  make -s build >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "make build failed"; }
fi
"$SK" version | indent
go build -o "$work/devhost" ./scripts/devhost || fail "building scripts/devhost failed"
go build -o "$work/corpus" ./scripts/corpus || fail "building scripts/corpus failed"

# A clean environment: nothing of the caller's configuration leaks in, no
# browser is opened, and the session stays out of the OS keychain (which
# holds one session per user, not per state home: the demo's dev-host
# sign-in must not replace yours).
unset SPEC_KITTY_ENABLE_SAAS_SYNC SPEC_KITTY_SAAS_URL SPECIFY_REPO_ROOT SPEC_KITTY_HTTP_TIMEOUT \
  DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS BROWSER
export SPEC_KITTY_HOME=$work/state HOME=$work/home SPEC_KITTY_KEYCHAIN=off
mkdir -p "$HOME" "$work/spec-kitty"

# -approve-after 0: the device code waits for approval, which the demo gives
# like a user clicking "Approve" in the browser.
"$work/devhost" -addr 127.0.0.1:0 -approve-after 0 -ready-file "$work/devhost.url" \
  >"$work/devhost.out" 2>"$work/devhost.log" &
devhost_pid=$!
wait_for 20 test -s "$work/devhost.url" || { cat "$work/devhost.log"; fail "the dev host did not start"; }
HOST=$(cat "$work/devhost.url")
say "dev host:   $HOST (pid $devhost_pid; scripts/devhost, in-memory, loopback only)"
say "state home: $SPEC_KITTY_HOME (SPEC_KITTY_KEYCHAIN=off: the session goes to auth.json there)"

# The repository is named spec-kitty: its project slug is then "spec-kitty",
# which the dev host has already bound to a Linear resource (exact match).
# Its missions: the small generated corpus (scripts/corpus: every line shape,
# a few malformed lines among them), or three missions of the real public
# spec-kitty repository when that corpus is present (SPEC_KITTY_FIXTURES, else
# ../shared/fixtures). The missions the demo names are in both.
M=expected-artifacts-manifest-repair-01KZY498
M2=charter-p7-release-closure-01KQF9B9
if [ -n "${SPEC_KITTY_FIXTURES:-}" ] || [ -e ../shared/fixtures/spec-kitty-missions.tar.gz ]; then
  source_args=(-source real -missions "002-lightweight-pypi-release,$M2,$M")
else
  source_args=(-source generated -size small)
fi
"$work/corpus" -out "$work/spec-kitty" "${source_args[@]}" >"$work/corpus.out" 2>"$work/corpus.err" ||
  { cat "$work/corpus.err"; fail "writing the demo repository failed"; }
say "repository: $work/spec-kitty - $(cat "$work/corpus.out")"
run 0 status

# ---------------------------------------------------------------- gate off --
step "Gate off (the default): the hosted surface does not exist"
run 0 --help
grep -Eq '^ +(auth|tracker|sync|service) ' "$work/out" && fail "a hosted command is listed with the gate off"
ok "help lists only local commands"
run 2 tracker status
grep -qx 'spec-kitty: unknown command "tracker"' "$work/err" || fail "tracker is not an unknown command"
ok "'tracker' is an ordinary unknown command (exit 2)"
[ -e "$SPEC_KITTY_HOME" ] && fail "the state home was created with the gate off"
ok "nothing written to the state home"

# ----------------------------------------------------- gate on, no sign-in --
step "Opt in, not signed in yet: each command names the missing step"
say "  export SPEC_KITTY_ENABLE_SAAS_SYNC=1 SPEC_KITTY_SAAS_URL=$HOST"
export SPEC_KITTY_ENABLE_SAAS_SYNC=1 SPEC_KITTY_SAAS_URL=$HOST
run 0 sync status
grep -q 'No SaaS authentication token is present' "$work/out" || fail "sync status does not show missing auth"
run 1 tracker status
printf 'No SaaS authentication token is present.\n\nRun `spec-kitty auth login`.\n' | cmp -s - "$work/err" ||
  fail "tracker status did not print the missing_auth wording"
ok "missing_auth: message, blank line, next action; exit 1"

# ----------------------------------------------------------------- sign in --
step "Sign in with the device code flow"
printf '%s  $ spec-kitty auth login --headless%s\n' "$D" "$N"
(cd "$work/spec-kitty" && exec "$SK" auth login --headless >"$work/login.out" 2>"$work/login.err") &
login_pid=$!
code_shown() { grep -q 'enter the code' "$work/login.err"; }
wait_for 15 code_shown || { cat "$work/login.err"; fail "auth login showed no code"; }
code=$(sed -n 's/.*enter the code \([A-Z0-9-]*\).*/\1/p' "$work/login.err" | head -1)
say "    (auth login shows a URL and the code $code, then polls the host every 5 s)"
say "  the user opens the URL and approves $code; here the demo does it: POST $HOST/_test/approve"
http POST "$HOST/_test/approve" "user_code=$code" >/dev/null || fail "approving $code failed"
login_done() { ! kill -0 "$login_pid" 2>/dev/null; }
wait_for 30 login_done || fail "auth login did not finish within 30 s"
wait "$login_pid"; rc=$?; login_pid=
indent <"$work/login.out"
sed 's/^/    (stderr) /' "$work/login.err"
[ "$rc" = 0 ] || fail "auth login exited $rc"
run 0 auth status

# -------------------------------------------------------------------- bind --
step "Bind this repository to the tracker"
run 0 tracker bind --provider linear
grep -q 'Bound to linear' "$work/out" || fail "tracker bind did not bind"
run 0 tracker status

# ---------------------------------------------------- emit, auto policy --
step "Record a lane change; the background daemon delivers it (policy auto)"
run 0 config get sync.background_daemon
before=$(host_count)
run 0 status emit --mission "$M" WP01 --to done --actor demo --force --reason "shipped"
id1=$(event_id_of "$work/out")
[ -n "$id1" ] || fail "no event_id in the emitted line"
grep -q 'sync daemon started' "$work/err" || fail "status emit did not start the daemon"
delivered1() { host_has "$id1"; }
wait_for 10 delivered1 || fail "event $id1 did not reach the host within 10 s"
after=$(host_count)
ok "event $id1 is on the host ($before -> $after events: the daemon also imported the repo's existing lines)"
run 0 sync status
grep -q 'daemon: *running' "$work/out" || fail "sync status does not show the daemon running"

# ----------------------------------------------------------- manual policy --
step "Switch to manual: the daemon exits and nothing starts it again"
pid=$(daemon_pid)
run 0 config set sync.background_daemon manual
wait_for 10 daemon_gone || fail "the daemon (pid $pid) did not exit within 10 s of the switch"
ok "daemon (pid $pid) exited after the policy change"
run 0 status emit --mission "$M2" WP01 --to in_review --actor demo --force --reason "demo"
id2=$(event_id_of "$work/out")
grep -q 'Background sync is in manual mode' "$work/err" || fail "status emit printed no manual-mode notice"
ok "the event is written and queued; the manual-mode notice went to stderr"
run 0 tracker sync run
grep -qx 'Run `spec-kitty sync run` to perform a one-shot remote sync.' "$work/out" ||
  fail "tracker sync run printed no manual-mode notice"
[ -e "$SPEC_KITTY_HOME/sync-daemon" ] && fail "a daemon started under the manual policy"
sleep 1
host_has "$id2" && fail "event $id2 reached the host although nothing should sync it"
ok "no daemon; event $id2 is still only in the local queue"
run 0 sync status

# ---------------------------------------------------------------- sync run --
step "One-shot foreground sync"
run 0 sync run
host_has "$id2" || fail "sync run did not deliver event $id2"
ok "event $id2 is on the host"
if grep -q 'duplicates [1-9]' "$work/out"; then
  say "  (a duplicate is an event the host already had - here $id1, which the importer read again"
  say "   from the events file; the host deduplicates by event_id, nothing is stored twice)"
fi
[ -e "$SPEC_KITTY_HOME/sync-daemon" ] && fail "sync run left a daemon behind"

# --------------------------------------------------------------- dashboard --
step "The local dashboard"
dash_url=
if "$SK" help dashboard >/dev/null 2>&1; then
  (cd "$work/spec-kitty" && exec "$SK" dashboard --port 0 >"$work/dash.out" 2>"$work/dash.err") &
  dash_pid=$!
  dash_ready() { grep -qs '^http://127.0.0.1:' "$work/dash.out"; }
  wait_for 10 dash_ready || { cat "$work/dash.err"; fail "the dashboard printed no URL"; }
  dash_url=$(head -1 "$work/dash.out")
  http GET "$dash_url" >"$work/dash.html" || fail "the dashboard did not answer at $dash_url"
  grep -q "$M" "$work/dash.html" || fail "the dashboard page does not list mission $M"
  ok "dashboard at $dash_url lists the missions (open it in a browser while the demo runs)"
  dash_sync=$(http GET "${dash_url%/}/api/sync/status") || fail "the dashboard's sync panel did not answer"
  printf '%s\n' "$dash_sync" | grep -q '"policy": *"manual"' || fail "the sync panel does not show the manual policy"
  ok "its sync panel (GET /api/sync/status) shows policy manual and the queue"
  [ -e "$SPEC_KITTY_HOME/sync-daemon" ] && fail "the dashboard started the daemon"
  ok "opening it started no daemon (intent local_only)"
else
  say "  spec-kitty has no dashboard command in this build; skipped"
fi

# ----------------------------------------------------------------- summary --
step "Summary"
final=$(host_count)
say "  dev host:            $HOST, $final events accepted"
say "  signed in as:        $(sed -n 's/^Signed in to .* as \(.*\)\.$/\1/p' "$work/login.out")"
say "  binding:             $(sed -n 's/^  *binding_ref: //p' "$work/spec-kitty/.kittify/config.yaml")"
say "  auto policy:         status emit -> daemon started -> $id1 delivered"
say "  manual policy:       notice, no daemon; sync run delivered $id2"
[ -n "$dash_url" ] && say "  dashboard:           $dash_url"
say "  everything above ran against loopback only; cleaning up now."
