#!/usr/bin/env bash
# The layering rule of the code map (README, docs/architecture.md): a folder includes only folders listed before
# it here, never one after it, and nothing in shared/ includes cli/. Run by ctest (label `layout`); prints every
# include that breaks the rule and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
order=(shared/base shared/process shared/protocol shared/quota shared/config shared/store shared/guard shared/hook
       cli/accounting cli/reports cli/watchdog cli/settings cli/app cli/commands cli/admin cli)
rank() { # the position of a folder in the order, or -1
  local i
  for i in "${!order[@]}"; do [[ ${order[$i]} == "$1" ]] && { echo "$i"; return; }; done
  echo -1
}
status=0
while IFS= read -r file; do
  folder=$(dirname "$file")
  own=$(rank "$folder")
  if [[ $own -lt 0 ]]; then echo "$file: its folder is not in the layering order (tests/layering.sh)"; status=1; continue; fi
  tree=${folder%%/*} # shared or cli
  while IFS= read -r target; do
    [[ $target == */* ]] || continue # a file of the same folder, or a generated header
    sub=${target%/*}
    if [[ -f shared/$target ]]; then dep=shared/$sub
    elif [[ -f cli/$target ]]; then dep=cli/$sub
    else echo "$file: includes \"$target\", which is in neither shared/ nor cli/"; status=1; continue; fi
    [[ $dep == "$folder" ]] && continue
    if [[ $tree == shared && $dep == cli/* ]]; then
      echo "$file: includes \"$target\": the core (shared/) never includes what only tw links (cli/)"; status=1
    elif [[ $(rank "$dep") -ge $own ]]; then
      echo "$file: includes \"$target\" ($dep), which is not below $folder in the layering order"; status=1
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(git ls-files 'shared/*.cpp' 'shared/*.hpp' 'cli/*.cpp' 'cli/*.hpp')
# One owner per table: SQL runs in shared/store/ and in the accounting store (cli/accounting/store_usage) only.
if git grep -lE '#include (<SQLiteCpp/|<sqlite3.h>|"store/store_impl.hpp")' -- shared cli |
   grep -vE '^(shared/store/|cli/accounting/store_usage\.cpp$)'; then
  echo "these files reach SQLite outside the store (shared/store/) and the accounting store: ask the owner module"; status=1
fi
# No folder of shared/ or cli/ grows past a dozen sources, and no CMake glob or regex decides membership.
while IFS= read -r folder; do
  count=$(git ls-files "$folder" | grep -cE '^'"$folder"'/[^/]+\.(cpp|hpp)$' || true)
  if [[ $count -gt 13 ]]; then echo "$folder: $count source files (split it)"; status=1; fi
done < <(git ls-files 'shared/*' 'cli/*' | xargs -n1 dirname | sort -u)
if git grep -nE 'file\((GLOB|GLOB_RECURSE)|list\(FILTER' -- 'CMakeLists.txt' '*/CMakeLists.txt' '*.cmake' | grep -v '^tests/'; then
  echo "library membership must be named, not globbed or filtered"; status=1
fi
exit $status
