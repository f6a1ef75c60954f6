#!/usr/bin/env bash
# clang-tidy with the curated .clang-tidy over every first-party source (shared/, cli/, hooks/), every finding an
# error. Uses a clang build tree's compile database: the first argument, else build/asan (.ci/run builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
db="${1:-build/asan}"
[ -f "$db/compile_commands.json" ] || { echo "no $db/compile_commands.json: build a preset first (cmake --preset asan)"; exit 2; }
run-clang-tidy -p "$db" -j "${TW_JOBS:-2}" -quiet "$PWD/(shared|cli|hooks)/.*\.cpp$" >"$db/tidy.log" 2>&1 || {
  grep -E 'warning:|error:' "$db/tidy.log" | sort -u
  echo "clang-tidy found the above (full log: $db/tidy.log)"
  exit 1
}
echo "clang-tidy: no findings"
