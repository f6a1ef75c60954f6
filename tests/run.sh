#!/usr/bin/env bash
# The README's test command: builds the `test` preset (a Release build plus the test-only decision switch)
# and runs every test: unit, in-process hook tests, built binaries on real payloads, the e2e suite against
# the real Claude Code CLI, and the ccusage parity test. Extra arguments go to ctest (e.g. -L e2e, -R name).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${TW_JOBS:-2}"
cmake --preset test -DTW_WERROR="${TW_WERROR:-OFF}" >/dev/null # CI: TW_WERROR=ON
cmake --build --preset test -j "$jobs"
ctest --preset test -j "$jobs" "$@"
