#!/usr/bin/env bash
# Hook start-up bench (never run in CI). Builds a release build, then times in ONE interleaved loop the
# floor (bench/floor.c: reads stdin, prints a line; plain C, default dynamic linking) and each hook on the
# same payload: per run and per case, floor then hook. Prints the median wall time of each and the ratio.
# Targets: tw-stop on PreToolUse <= 1.5x the floor (also with a 5 MB Write payload); recording hooks, with
# their SQLite write into a warm database, <= 2x.
# usage: bench/run.sh [RUNS (default 300)]   env: TW_BENCH_BUILD_DIR (default build/bench), TW_JOBS,
#   TW_BENCH_BASELINE: a bin/ folder of another build (e.g. the previous commit's); each case then also runs that
#   build's hook, in the same interleaved loop, as "<case>@baseline" (a before/after comparison on one run)
set -euo pipefail
runs="${1:-300}"
warmup=20
cd "$(dirname "$0")/.."
root="$(pwd)"
build="${TW_BENCH_BUILD_DIR:-build/bench}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTW_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "${TW_JOBS:-2}" --target tw-floor tw-stop tw-pre-spawn tw-post-task tw-command-start \
  tw-command-end tw-statusline tw >/dev/null
bin="$(cd "$build/bin" && pwd)"
cc -O2 -o "$build/bench-driver" bench/driver.c

work="$(mktemp -d /tmp/tw-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
python3 bench/payloads.py "$root/tests/fixtures" "$work/payloads" $((runs + warmup))
mkdir -p "$work/home" "$work/proj"
export HOME="$work/home" XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"
export TOKENWARDEN_DB="$work/state/tokenwarden/tokenwarden.db" CLAUDE_PROJECT_DIR="$work/proj"
# A warm database: created, migrated and already holding rows before the first timed run.
"$bin/tw-command-start" < "$work/payloads/command_start_prompt/0.json"
"$bin/tw" events --all --json >/dev/null
# Budgets configured and a quota observation stored (40 %, so nothing fires): tw-stop then reads guard.json
# and the config on every call, its heaviest no-opinion path.
cat > "$work/proj/.tokenwarden.json" <<'JSON'
{"budgets": [{"name": "daily", "window": "day", "usd": 50, "enforcement": "block"},
             {"name": "review", "window": "day", "command": "/review", "tokens": 200000, "enforcement": "block"},
             {"name": "session", "window": "session", "tokens": 5000000, "stop_running": true}]}
JSON
python3 - "$work/payloads/statusline/0.json" > "$work/statusline-quota.json" <<'PY'
import json, sys, time
doc = json.load(open(sys.argv[1]))
doc["cost"] = dict(doc.get("cost") or {}, total_cost_usd=1234.5)
doc["rate_limits"] = {"five_hour": {"used_percentage": 40, "resets_at": int(time.time()) + 7200},
                      "seven_day": {"used_percentage": 20, "resets_at": int(time.time()) + 86400}}
print(json.dumps(doc))
PY
"$bin/tw-statusline" < "$work/statusline-quota.json" >/dev/null
[ -s "$work/state/tokenwarden/guard.json" ] || { echo "bench: no guard.json was published"; exit 1; }

p="$work/payloads"
cases=(
  "tw-stop:PreToolUse(Bash)" "$bin/tw-stop" "$p/stop_pretool_bash"
  "tw-stop:PreToolUse(Write,5MB)" "$bin/tw-stop" "$p/stop_pretool_write_5mb"
  "tw-pre-spawn:PreToolUse(Agent)" "$bin/tw-pre-spawn" "$p/pre_spawn_agent"
  "tw-post-task:PostToolUse(Agent)" "$bin/tw-post-task" "$p/post_task_agent_end"
  "tw-post-task:SubagentStop" "$bin/tw-post-task" "$p/post_task_subagent_stop"
  "tw-command-start:UserPromptSubmit" "$bin/tw-command-start" "$p/command_start_prompt"
  "tw-command-end:Stop" "$bin/tw-command-end" "$p/command_end_stop"
  "tw-stop:SessionEnd" "$bin/tw-stop" "$p/stop_session_end"
  "tw-statusline" "$bin/tw-statusline" "$p/statusline"
)
if [ -n "${TW_BENCH_BASELINE:-}" ]; then
  base="$(cd "$TW_BENCH_BASELINE" && pwd)"
  python3 bench/payloads.py "$root/tests/fixtures" "$p-baseline" $((runs + warmup)) baseline-
  n=${#cases[@]}
  for ((i = 0; i < n; i += 3)); do
    cases+=("${cases[i]}@baseline" "$base/$(basename "${cases[i + 1]}")" "${cases[i + 2]/$p/$p-baseline}")
  done
fi
echo "bench: $runs runs (+$warmup warm-up) of each case, floor and hook interleaved"
"$build/bench-driver" "$runs" "$warmup" "$bin/tw-floor" "${cases[@]}" > "$work/medians.txt"
errors="$work/state/tokenwarden/errors.jsonl"
[ -s "$errors" ] && { echo "bench: hooks logged errors:"; head -5 "$errors"; }

python3 - "$work/medians.txt" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
print("| case | floor median (ms) | hook median (ms) | ratio | target | |")
print("|---|---:|---:|---:|---:|---|")
failed = 0
for name, floor, hook, failures in rows:
    floor, hook = float(floor), float(hook)
    target = 1.5 if name.startswith("tw-stop:PreToolUse") else 2.0
    if name.endswith("@baseline"): target = float("inf")  # the comparison, not a target
    ratio = hook / floor
    ok = ratio <= target and failures == "0"
    failed += not ok
    note = "ok" if ok else "MISSED" + ("" if failures == "0" else " (%s runs failed)" % failures)
    print("| %s | %.3f | %.3f | %.2fx | %.1fx | %s |" % (name, floor, hook, ratio, target, note))
base = {name[:-len("@baseline")]: float(hook) for name, floor, hook, failures in rows if name.endswith("@baseline")}
if base:
    print()
    print("| case | this build (ms) | baseline (ms) | this / baseline |")
    print("|---|---:|---:|---:|")
    for name, floor, hook, failures in rows:
        if name in base:
            print("| %s | %.3f | %.3f | %.2f |" % (name, float(hook), base[name], float(hook) / base[name]))
floors = sorted(float(floor) for name, floor, hook, failures in rows)
print("\nfloor medians across cases: %.3f-%.3f ms" % (floors[0], floors[-1]))
sys.exit(1 if failed else 0)
PY
