#!/usr/bin/env bash
# Every tracked C and C++ source is formatted by .clang-format (clang-format 14). With --fix, formats them.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' '*.c' '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}" || { echo "run: bash tests/format.sh --fix"; exit 1; }
fi
