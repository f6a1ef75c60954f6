#!/usr/bin/env bash
# tokenwarden installer: build dependencies (apt), a Release build, the seven binaries in <prefix>/bin, the
# wiring of one repository into Claude Code (tw settings install), a documented .tokenwarden.json, and then
# `tw doctor` and `tw demo` to show it works. Idempotent: run it again to update; --uninstall unwires.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: installer/install.sh [options]

  --repo DIR                 the repository to wire (default: the current directory)
  --scope local|project|user where the wiring goes (default: local)
                               local:   <repo>/.claude/settings.local.json (git-ignored: yours only)
                               project: <repo>/.claude/settings.json (shared: commands exit quietly where
                                        tokenwarden is not installed)
                               user:    ${CLAUDE_CONFIG_DIR:-~/.claude}/settings.json (every repository)
  --prefix DIR               install to DIR/bin and DIR/share/tokenwarden (default: ~/.local)
  --statusline keep|replace  keep a statusLine that is not tokenwarden's (default), or replace it
  --dry-run                  show what would change (missing packages, the settings diff); change nothing
  --uninstall                remove tokenwarden's wiring from the repo (and say how to remove the binaries)
  -h, --help                 this text

Environment: TW_BUILD_DIR reuses a configured build directory (default: build/release, the `release` preset);
TW_JOBS sets the build parallelism (default: all cores); TW_SKIP_DEPS=1 skips the package check.
EOF
}

say() { printf '==> %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$PWD"
scope=local
prefix="${HOME:?HOME is not set}/.local"
statusline=keep
dry_run=0
uninstall=0

while (($#)); do
  case "$1" in
    --repo) repo="${2:?--repo needs a directory}"; shift 2 ;;
    --repo=*) repo="${1#*=}"; shift ;;
    --scope) scope="${2:?--scope needs local, project or user}"; shift 2 ;;
    --scope=*) scope="${1#*=}"; shift ;;
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#*=}"; shift ;;
    --statusline) statusline="${2:?--statusline needs keep or replace}"; shift 2 ;;
    --statusline=*) statusline="${1#*=}"; shift ;;
    --dry-run) dry_run=1; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done
case "$scope" in local|project|user) ;; *) die "--scope must be local, project or user (got: $scope)" ;; esac
case "$statusline" in keep|replace) ;; *) die "--statusline must be keep or replace (got: $statusline)" ;; esac
[ -d "$repo" ] || die "--repo: no such directory: $repo"
repo="$(cd "$repo" && pwd)"
if [ "$dry_run" = 0 ] && [ "$uninstall" = 0 ]; then mkdir -p "$prefix" || die "cannot create $prefix"; fi
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
bin="$prefix/bin"
build_dir="${TW_BUILD_DIR:-$source_dir/build/release}"
jobs="${TW_JOBS:-$(nproc 2>/dev/null || echo 2)}"
binaries=(tw tw-pre-spawn tw-post-task tw-command-start tw-command-end tw-stop tw-statusline)

wire_args=(--repo "$repo" --scope "$scope")
config_args=(--repo "$repo")
if [ "$dry_run" = 1 ]; then wire_args+=(--dry-run); config_args+=(--dry-run); fi

# --- uninstall: unwire, and say how to remove the rest --------------------------------------------------------
if [ "$uninstall" = 1 ]; then
  tw_bin="$bin/tw"
  [ -x "$tw_bin" ] || tw_bin="$build_dir/bin/tw"
  [ -x "$tw_bin" ] || die "no tw found in $bin or $build_dir/bin: nothing to unwire with (pass the --prefix you installed to)"
  say "removing tokenwarden's wiring ($scope scope) from $repo"
  "$tw_bin" settings uninstall "${wire_args[@]}"
  echo
  say "the binaries stay installed; to remove them:"
  printf '    rm -f'; printf ' %q' "${binaries[@]/#/$bin/}"; printf '\n'
  printf '    rm -rf %q\n' "$prefix/share/tokenwarden"
  echo "    your recorded data stays in ${XDG_STATE_HOME:-~/.local/state}/tokenwarden/ (remove it too to forget everything)"
  exit 0
fi

# --- 1. build dependencies ------------------------------------------------------------------------------------
packages=(cmake g++ make pkg-config nlohmann-json3-dev libsqlitecpp-dev libsqlite3-dev catch2 libcurl4-openssl-dev
          libcli11-dev libsimdjson-dev libutf8proc-dev tzdata)
if [ "${TW_SKIP_DEPS:-0}" = 1 ]; then
  say "build dependencies: not checked (TW_SKIP_DEPS=1)"
elif ! command -v dpkg-query >/dev/null 2>&1; then
  say "build dependencies: not a Debian system; make sure these (or your distribution's equivalents) are installed:"
  echo "    ${packages[*]}"
else
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    say "build dependencies: all present"
  elif [ "$dry_run" = 1 ]; then
    say "build dependencies: would install ${missing[*]}"
  else
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null 2>&1 || die "missing packages: ${missing[*]}
    run as root:  apt-get update && apt-get install -y ${missing[*]}
    then run this installer again"
      sudo=(sudo)
    fi
    say "installing build dependencies: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed; run: ${sudo[*]} apt-get update && ${sudo[*]} apt-get install -y ${missing[*]}"
    "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null ||
      die "apt-get install failed; run: ${sudo[*]} apt-get install -y ${missing[*]}"
  fi
fi

# --- 2. build (Release) ---------------------------------------------------------------------------------------
if [ "$dry_run" = 1 ]; then
  say "would build Release in $build_dir and install ${binaries[*]} to $bin"
else
  cd "$source_dir"
  if [ -f "$build_dir/CMakeCache.txt" ]; then
    say "reusing the build in $build_dir"
  elif [ -z "${TW_BUILD_DIR:-}" ]; then
    say "configuring the release preset ($build_dir)"
    cmake --preset release >/dev/null || die "cmake --preset release failed (cmake 3.25 or newer is needed)"
  else
    say "configuring a Release build in $build_dir"
    cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  say "building ${binaries[*]} (Release, $jobs jobs; a few minutes the first time)"
  build_log="$(mktemp)"
  if ! cmake --build "$build_dir" -j "$jobs" --target "${binaries[@]}" >"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2
    die "the build failed (full log: $build_log)"
  fi
  rm -f "$build_log"
  # --- 3. install ---------------------------------------------------------------------------------------------
  say "installing to $prefix (bin/, share/tokenwarden/)"
  cmake --install "$build_dir" --prefix "$prefix" --strip >/dev/null
  for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || die "$bin/$b was not installed"; done
fi

tw_bin="$bin/tw"
if [ "$dry_run" = 1 ] && [ ! -x "$tw_bin" ]; then
  tw_bin="$build_dir/bin/tw"
  if [ ! -x "$tw_bin" ]; then
    say "dry run: no tw built yet, so the settings diff cannot be shown; run without --dry-run to build"
    exit 0
  fi
fi

# --- 4. wire the repository -------------------------------------------------------------------------------------
say "wiring $repo ($scope scope)"
"$tw_bin" settings install "${wire_args[@]}" --bin-dir "$bin" --statusline "$statusline"
say "project configuration"
"$tw_bin" settings project-config "${config_args[@]}"
[ "$dry_run" = 1 ] && { say "dry run: nothing was changed"; exit 0; }
if [ "$scope" = local ] && command -v git >/dev/null 2>&1 && git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 &&
   ! git -C "$repo" check-ignore -q .claude/settings.local.json; then
  say "note: .claude/settings.local.json is not git-ignored in $repo; it holds your local paths: add it to .gitignore"
fi

case ":$PATH:" in
  *":$bin:"*) ;;
  *) say "note: $bin is not on your PATH; add it to type tw:  echo 'export PATH=\"$bin:\$PATH\"' >> ~/.bashrc" ;;
esac

# --- 5. show the result -----------------------------------------------------------------------------------------
echo
say "tw doctor"
doctor_status=0
(cd "$repo" && "$tw_bin" doctor --repo "$repo" --bin-dir "$bin") || doctor_status=$?
echo
say "tw demo"
"$tw_bin" demo
echo
if [ "$doctor_status" -ne 0 ]; then
  say "installed, but tw doctor found problems above: each names its fix"
  exit "$doctor_status"
fi
say "done: Claude Code sessions in $repo are metered. See them with: tw events"
