#!/usr/bin/env bash
# Statusline bench (never run in CI). tw-statusline against the floor (bench/floor.c) on the same input, with a
# 100 MB current transcript and a year of history both on disk (for the peers) and in the store (for us):
#   loop A: floor and tw-statusline interleaved, RUNS times (target: median <= 1.5x the floor);
#   loop B: floor, tw-statusline, ccusage statusline (with its cache, and --no-cache), ccstatusline and
#           CCometixLine (ccline), all on the same input in one interleaved loop, PEER_RUNS times.
# The peers are npm packages installed into a cache dir outside the repository (TW_BENCH_PEERS, default
# ~/.cache/tw-bench-peers). Prints a table of medians and ratios to the floor.
# usage: bench/statusline/run.sh [RUNS (300)] [PEER_RUNS (20)]
#   env: TW_BENCH_MB (100), TW_BENCH_DAYS (365), TW_BENCH_TW (tw used to fill the store), TW_BENCH_KEEP=1
set -euo pipefail
runs="${1:-300}"
peer_runs="${2:-20}"
cd "$(dirname "$0")/../.."
root="$(pwd)"
build="${TW_BENCH_BUILD_DIR:-build-quota-rel}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTW_BUILD_TESTS=OFF >/dev/null
# TW_BENCH_TW: a tw binary to fill the store with (default: this build's tw).
targets=(tw-floor tw-statusline); [ -n "${TW_BENCH_TW:-}" ] || targets+=(tw)
cmake --build "$build" -j "${TW_JOBS:-2}" --target "${targets[@]}" >/dev/null
bin="$(cd "$build/bin" && pwd)"
tw="${TW_BENCH_TW:-$bin/tw}"
cc -O2 -o "$build/statusline-timer" bench/statusline/timer.c
timer="$(cd "$build" && pwd)/statusline-timer"

peers="${TW_BENCH_PEERS:-$HOME/.cache/tw-bench-peers}"
if [ ! -x "$peers/node_modules/.bin/ccline" ] || [ ! -x "$peers/node_modules/.bin/ccusage" ]; then
  mkdir -p "$peers"
  # ccusage 20.0.24: the newest release whose native linux-x64 package is published.
  npm install --no-audit --no-fund --prefix "$peers" ccusage@20.0.24 @ccusage/ccusage-linux-x64@20.0.24 \
    ccstatusline @cometix/ccline >/dev/null
fi
peer_bin="$peers/node_modules/.bin"

work="$(mktemp -d /tmp/tw-statusline-bench.XXXXXX)"
[ -n "${TW_BENCH_KEEP:-}" ] && echo "bench: keeping $work" || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home"
export HOME="$work/home" CLAUDE_CONFIG_DIR="$work/home/.claude" XDG_STATE_HOME="$work/state"
export XDG_CONFIG_HOME="$work/config" TOKENWARDEN_DB="$work/state/tokenwarden/tokenwarden.db"
export CLAUDE_PROJECT_DIR="$work/proj" TOKENWARDEN_NO_DAEMON=1 COLUMNS=120
mkdir -p "$CLAUDE_PROJECT_DIR"
python3 bench/statusline/make_history.py "$CLAUDE_CONFIG_DIR" "$work/input.json" "${TW_BENCH_MB:-100}" \
  "${TW_BENCH_DAYS:-365}"
# Our store: the same history ingested (usage records), plus a year of hook events, statusline snapshots
# and quota observations.
mkdir -p -m 700 "$(dirname "$TOKENWARDEN_DB")"
"$tw" ingest --quiet "$CLAUDE_CONFIG_DIR/projects"
python3 bench/statusline/fill_store.py "$TOKENWARDEN_DB" "${TW_BENCH_DAYS:-365}"
"$bin/tw-statusline" < "$work/input.json" >/dev/null # the first render stores the snapshot; later ones only read
echo "store: $(du -h "$TOKENWARDEN_DB" | cut -f1); our line: $("$bin/tw-statusline" < "$work/input.json")"
errors="$work/state/tokenwarden/errors.jsonl"

echo "loop A: $runs runs (+20 warm-up), floor and tw-statusline interleaved"
"$timer" "$runs" 20 "$work/input.json" floor "$bin/tw-floor" -- tw-statusline "$bin/tw-statusline" > "$work/a.txt"
echo "loop B: $peer_runs runs (+2 warm-up), every statusline on the same input, interleaved"
# CCometixLine's npm wrapper needs its postinstall (which npm may skip): run the platform binary directly.
ccline="$peers/node_modules/@cometix/ccline-linux-x64/ccline"
[ -x "$ccline" ] || ccline="$peer_bin/ccline"
echo "  ccusage: $("$peer_bin/ccusage" statusline < "$work/input.json" 2>&1 | head -c 200 | tr '\n' ' ')"
echo "  ccstatusline: $("$peer_bin/ccstatusline" < "$work/input.json" 2>&1 | head -c 200 | tr '\n' ' ')"
echo "  ccline: $("$ccline" < "$work/input.json" 2>&1 | head -c 200 | tr '\n' ' ')"
"$timer" "$peer_runs" 2 "$work/input.json" \
  floor "$bin/tw-floor" -- \
  tw-statusline "$bin/tw-statusline" -- \
  "ccusage-statusline(cache)" "$peer_bin/ccusage" statusline --refresh-interval 3600 -- \
  "ccusage-statusline(no-cache)" "$peer_bin/ccusage" statusline --no-cache -- \
  ccstatusline "$peer_bin/ccstatusline" -- \
  "CCometixLine(ccline)" "$ccline" > "$work/b.txt"
[ -s "$errors" ] && { echo "bench: tw logged errors:"; head -5 "$errors"; }

python3 - "$work/a.txt" "$work/b.txt" <<'PY'
import sys
for path, title in ((sys.argv[1], "loop A"), (sys.argv[2], "loop B")):
    rows = [line.split() for line in open(path)]
    floor = float(rows[0][1])
    print("\n%s\n| command | median (ms) | p90 (ms) | ratio to floor | failures |" % title)
    print("|---|---:|---:|---:|---:|")
    for name, median, p90, failures in rows:
        print("| %s | %.2f | %.2f | %.2fx | %s |" % (name, float(median), float(p90), float(median) / floor, failures))
a = {r[0]: float(r[1]) for r in (line.split() for line in open(sys.argv[1]))}
ratio = a["tw-statusline"] / a["floor"]
print("\ntw-statusline: %.2fx the floor (target <= 1.5x): %s" % (ratio, "PASS" if ratio <= 1.5 else "FAIL"))
PY
