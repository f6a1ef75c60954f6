#!/usr/bin/env bash
# Builds the fuzz preset (clang, ASan+UBSan, libFuzzer) and fuzzes the hook-input target for SECONDS
# (default 60), seeded with every captured payload. Exits non-zero when the fuzzer finds a crash; the
# reproducer is left in <build>/fuzz-artifacts/. TW_FUZZ_BUILD_DIR overrides the preset's build directory.
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")/../.."
root="$(pwd)"
build="${TW_FUZZ_BUILD_DIR:-build/fuzz}"
jobs="${TW_JOBS:-2}"

cmake --preset fuzz -B "$build" >/dev/null
cmake --build "$build" --target tw_fuzz_hook_input -j "$jobs"

# Seeds: the real payloads (samples and fixtures, unwrapped from {"from", "payload"}), statusline inputs,
# and the decisions in the protocol's field names.
seeds="$build/fuzz-seeds"
corpus="$build/fuzz-corpus"
artifacts="$build/fuzz-artifacts"
rm -rf "$seeds"
mkdir -p "$seeds" "$corpus" "$artifacts"
python3 - "$root" "$seeds" <<'PY'
import glob, json, os, sys
root, out = sys.argv[1], sys.argv[2]
files = []
for pattern in ("tests/fixtures/cli-2.1.197/hooks/*.json", "tests/fixtures/hooks/*.json", "tests/fixtures/cli-2.1.197/statusline/*.json",
                "tests/fixtures/statusline/*.json", "tests/fuzz/seeds/*.json"):
    files += sorted(glob.glob(os.path.join(root, pattern)))
count = 0
for path in files:
    doc = json.load(open(path, encoding="utf-8"))
    docs = [doc.get("payload", doc)] if isinstance(doc, dict) else []
    for item in docs:
        for indent in (None, 1):
            with open(os.path.join(out, "%04d.json" % count), "w", encoding="utf-8") as f:
                f.write(json.dumps(item, indent=indent, ensure_ascii=(indent is None)))
            count += 1
print("fuzz: %d seeds" % count)
PY

"$build/bin/tw_fuzz_hook_input" -max_total_time="$seconds" -max_len=262144 -timeout=10 -rss_limit_mb=4096 \
  -dict=tests/fuzz/json.dict -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" "$seeds"
