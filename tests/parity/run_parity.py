#!/usr/bin/env python3
"""ctest entry of the ccusage parity test: installs ccusage 20 from npm into a cache outside the repository
(reused when present), generates a seeded transcript tree (at most 50 MB) and runs compare.py on it.

Exit 0 = passed, 1 = failed, 77 = skipped (npm unreachable or ccusage's native package unusable here).
Cache: ${TW_PARITY_CACHE:-~/.cache/tokenwarden-parity}/ccusage-<version>.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = "20.0.24"  # 20.0.26's native package does not install on these machines


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def install_ccusage(version):
    cache = os.environ.get("TW_PARITY_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "tokenwarden-parity")
    target = os.path.join(cache, f"ccusage-{version}")
    cli = os.path.join(target, "node_modules", "ccusage", "src", "cli.js")
    if os.path.exists(cli):
        return cli
    if not shutil.which("npm") or not shutil.which("node"):
        skip("node/npm are not installed")
    os.makedirs(cache, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f"ccusage-{version}.", dir=cache)
    r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", tmp, f"ccusage@{version}"],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        skip(f"npm could not install ccusage@{version}: {(r.stderr or r.stdout).strip()[-400:]}")
    try:
        os.rename(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another run installed it meanwhile
    return cli


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tw", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("TW_PARITY_SEED", "20")))
    ap.add_argument("--size-mb", type=float, default=float(os.environ.get("TW_PARITY_MB", "40")))
    a = ap.parse_args()
    if a.size_mb > 50:
        sys.exit("the parity tree is at most 50 MB in CI")
    cli = install_ccusage(VERSION)
    probe = subprocess.run(["node", cli, "--version"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        skip(f"ccusage {VERSION} does not run here: {(probe.stderr or probe.stdout).strip()[-300:]}")
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    tree = os.path.join(a.work, "tree")
    subprocess.run([sys.executable, os.path.join(HERE, "gen_transcripts.py"), tree, "--seed", str(a.seed),
                    "--size-mb", str(a.size_mb)], check=True)
    r = subprocess.run([sys.executable, os.path.join(HERE, "compare.py"), "--tw", a.tw, "--ccusage", cli,
                        "--tree", tree, "--db", os.path.join(a.work, "tw.db"),
                        "--report-dir", os.path.join(a.work, "reports")])
    if r.returncode == 0:
        shutil.rmtree(tree, ignore_errors=True)  # keep the reports, drop the 40 MB tree
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
