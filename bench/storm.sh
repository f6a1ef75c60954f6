#!/usr/bin/env bash
# The fault suite's hook storm at full size: 64 sessions x 200 hook calls (prompt, then Stop with a transcript
# line each), with the watchdog and the ingest hand-offs on. Prints the calls' time, the number of `tw ingest`
# processes (in all, and at most at once) and the peak resident memory of the whole storm.
# Usage: bench/storm.sh [events-per-session]   (needs a built test preset: cmake --build --preset test)
set -euo pipefail
cd "$(dirname "$0")/.."
TW_STORM_EVENTS="${1:-200}" build/test/bin/tw_tests "[storm]" --success 2>&1 | grep -E -A2 "hook calls in|FAILED" || true
