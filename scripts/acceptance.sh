#!/usr/bin/env bash
# Operator acceptance scenarios, run by `make test`: the stealth default, the
# per-prerequisite failures and the manual policy, each as a pass/fail line.
# Uses a freshly built binary, a temporary state home and the dev host on
# loopback; cleans up everything it started.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/bin/spec-kitty" ./cli/cmd/spec-kitty || { echo "FAIL: build"; exit 1; }
sk="$work/bin/spec-kitty"

export SPEC_KITTY_HOME="$work/home" HOME="$work/userhome"
unset SPEC_KITTY_ENABLE_SAAS_SYNC SPEC_KITTY_SAAS_URL SPECIFY_REPO_ROOT
mkdir -p "$work/repo/kitty-specs" "$HOME"
tar -xzf ../shared/fixtures/spec-kitty-missions.tar.gz -C "$work/repo" \
  kitty-specs/001-cli-sync-hardening 2>/dev/null || tar -xzf ../shared/fixtures/spec-kitty-missions.tar.gz -C "$work/repo"

passed=0 failed=0
check() { # check NAME CMD... ; CMD's status decides
  local name=$1; shift
  if "$@"; then echo "PASS: $name"; passed=$((passed+1)); else echo "FAIL: $name"; failed=$((failed+1)); fi
}
run() { # run EXPECTED_RC ARGS... ; output in $work/out, $work/err
  local want=$1; shift
  (cd "$work/repo" && "$sk" "$@" >"$work/out" 2>"$work/err"); local rc=$?
  [ "$rc" = "$want" ] || { echo "  '$*' exited $rc, want $want; stderr:"; sed 's/^/    /' "$work/err"; return 1; }
}

# --- stealth default: the gate is off -------------------------------------
stealth_help() { run 0 --help && ! grep -Eq 'tracker|auth|sync|service' "$work/out"; }
check "gate off: no hosted command in --help" stealth_help
for g in tracker auth sync service; do
  unknown() { run 2 "$g" status && grep -qx "spec-kitty: unknown command \"$g\"" "$work/err"; }
  check "gate off: '$g' is an unknown command (exit 2)" unknown
done
no_home() { run 0 version && [ ! -e "$SPEC_KITTY_HOME" ]; }
check "gate off: a local command creates no state home" no_home
for v in 0 false no off banana 2 enabled ""; do
  still_off() { SPEC_KITTY_ENABLE_SAAS_SYNC="$v" run 2 tracker status; }
  check "gate value '$v' keeps the gate closed" still_off
done

echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
