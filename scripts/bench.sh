#!/usr/bin/env bash
# `make bench`: runs every benchmark with a target — the Go benchmarks
# (b.Loop; figures via b.ReportMetric), the whole-process timings of
# scripts/bench/procbench, and an idle sync daemon and tray watched for 60 s —
# then prints one table of figure, target and verdict (scripts/bench/targets).
#
# A missed target is reported and the script still exits 0 (figures depend on
# the machine); a benchmark that errors (does not build, fails for another
# reason than its target, produces no figure) makes it exit 1.
#
# BENCH_OUT=DIR keeps the raw outputs in DIR (default: a temp dir, removed).
set -uo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED="${CGO_ENABLED:-0}"

if [ -n "${BENCH_OUT:-}" ]; then
  out="$BENCH_OUT"
  mkdir -p "$out"
  rm -f "$out"/status "$out"/go-*.txt "$out"/proc-*.txt
else
  out="$(mktemp -d "${TMPDIR:-/tmp}/spec-kitty-bench.XXXXXX")"
  trap 'rm -rf "$out"' EXIT
fi
status="$out/status"
: >"$status"

say() { printf 'bench: %s\n' "$*" >&2; }

# gobench LABEL GO-TEST-ARGS...: one `go test -bench` run, no tests.
gobench() {
  local label=$1
  shift
  say "go test -run '^\$' $*"
  go test -run '^$' "$@" >"$out/go-$label.txt" 2>&1
  echo "go $label $?" >>"$status"
}

# has_bench DIR NAME: the package in DIR declares benchmark NAME.
has_bench() { grep -qs "^func $2(" "$1"/*_test.go; }

say "raw output in $out"
bin="$out/spec-kitty"
say "build spec-kitty"
if ! go build -trimpath -ldflags='-s -w' -o "$bin" ./cli/cmd/spec-kitty; then
  say "build failed"
  exit 1
fi

gobench readiness -bench '^BenchmarkEvaluateLocal$' -benchmem ./core/readiness
gobench queue -bench '^BenchmarkEnqueueBatched$' ./core/queue
gobench daemon -bench '^BenchmarkDrain100k$' -benchtime 1x ./core/syncer
gobench stats -bench '^BenchmarkStats1M$' ./core/queue
# sync run, the import alone and the upload, each beside its floor measured
# in the same run (SPEC_KITTY_BENCH_UPLOAD=1000000 for the full 1M upload).
gobench sync -bench '^Benchmark(SyncRunCorpus|SyncRunReal|ImportCorpus|Upload|EmitDuringDrain|DeliveryUnderFaults)$' -benchtime 1x ./core/syncer
gobench launch -bench '^BenchmarkEnsureRunningAlreadyRunning$' ./service/launch
# A running daemon against a host that stops answering (15 s outage, a
# burst of 429, expired tokens): seconds from the host answering again to
# the waiting event's delivery (SPEC_KITTY_BENCH_OUTAGE sets the outage).
gobench recovery -bench '^BenchmarkDaemonRecovery$' -benchtime 1x ./service/daemon
gobench hosted -bench '^BenchmarkProbe(Silent|Hostedtest)$' ./core/hosted
gobench probe -bench '^BenchmarkReach(Silent|Hostedtest)$' ./core/probe
# The real spec-kitty corpus adds rows when present (SPEC_KITTY_FIXTURES, else
# ../shared/fixtures); every other figure comes from the generated corpus.
if [ -n "${SPEC_KITTY_FIXTURES:-}" ] || [ -e ../shared/fixtures/spec-kitty-missions.tar.gz ]; then
  gobench mission -bench '^BenchmarkReadAll(Real)?$' -benchmem ./core/mission
else
  say "real corpus absent: no real-data rows (set SPEC_KITTY_FIXTURES to add them)"
  echo "absent real" >>"$status"
  gobench mission -bench '^BenchmarkReadAll$' -benchmem ./core/mission
fi
if has_bench cli/dashboard BenchmarkMissionList; then
  gobench dashboard -bench '^BenchmarkMissionList(Cold)?$' -benchmem ./cli/dashboard
else
  echo "absent dashboard" >>"$status"
fi

say "procbench: spec-kitty --help and status, whole process"
go run ./scripts/bench/procbench -bin "$bin" >"$out/proc-process.txt" 2>&1
echo "proc process $?" >>"$status"

# The two idle measurements watch mostly sleeping processes for 60 s each;
# they run side by side, after the timing benchmarks.
say "procbench: idle sync daemon for 60 s$(has_bench tray/e2e BenchmarkIdleTray && echo ', idle tray for 60 s beside it')"
(
  go run ./scripts/bench/procbench -mode daemon-idle -idle 60s -bin "$bin" >"$out/proc-idle.txt" 2>&1
  echo "proc idle $?" >>"$status"
) &
idle_pid=$!
if has_bench tray/e2e BenchmarkIdleTray; then
  gobench tray -bench '^BenchmarkIdleTray$' ./tray/e2e
else
  echo "absent tray" >>"$status"
fi
wait "$idle_pid"

echo
go run ./scripts/bench/targets "$out"
