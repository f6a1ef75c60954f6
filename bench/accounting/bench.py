#!/usr/bin/env python3
"""Accounting benchmark (never in CI): tw ingest + report vs ccusage 20 on a generated 1 GB transcript tree.

  bench.py --tw BUILD/bin/tw [--tree DIR] [--size-mb 1024] [--runs 3]

Steps, all with the tree in the page cache, TZ=UTC: (1) cold: empty store, `tw ingest` + `tw report daily`
vs `ccusage claude daily --offline`; (2) warm: `tw report daily|session|blocks` on the ingested store vs the
same ccusage reports; (3) after 1 MB is appended: `tw ingest` + `tw report daily` vs ccusage daily; (4) peak
memory (max RSS, /usr/bin/time -v) of each tw step. Prints a Markdown table of medians and ratios.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PARITY = os.path.join(HERE, "..", "..", "tests", "parity")
sys.path.insert(0, PARITY)


def timed(cmd, env, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, shell=isinstance(cmd, str))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def max_rss_mb(cmd, env):
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True, text=True, check=True)
    for line in r.stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split(":")[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tw", required=True)
    ap.add_argument("--tree", default=os.path.join(tempfile.gettempdir(), "tw-bench-tree"))
    ap.add_argument("--size-mb", type=float, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    import run_parity  # the npm install of ccusage 20, shared with the parity test
    cli = run_parity.install_ccusage(run_parity.VERSION)
    if not os.path.isdir(os.path.join(a.tree, "projects")):
        subprocess.run([sys.executable, os.path.join(PARITY, "gen_transcripts.py"), a.tree, "--size-mb",
                        str(a.size_mb), "--seed", str(a.seed), "--days", "60"], check=True)
    work = tempfile.mkdtemp(prefix="tw-bench-")
    db = os.path.join(work, "tw.db")
    # report_ingest_within 0: every tw report walks the tree first (what a report costs when no ingest ran in
    # the last 10 s); --no-ingest rows show the report alone.
    xdg = os.path.join(work, "config")
    os.makedirs(os.path.join(xdg, "tokenwarden"))
    with open(os.path.join(xdg, "tokenwarden", "config.json"), "w") as f:
        f.write('{"report_ingest_within": 0}')
    env = dict(os.environ, TZ="UTC", CLAUDE_CONFIG_DIR=a.tree, TOKENWARDEN_DB=db, TOKENWARDEN_STAGE="",
               XDG_CONFIG_HOME=xdg, TOKENWARDEN_NO_DAEMON="1")
    subprocess.run(f"find {a.tree} -name '*.jsonl' -print0 | xargs -0 cat > /dev/null", shell=True, check=True)  # page cache
    size = int(subprocess.run(["du", "-sb", a.tree], capture_output=True, text=True).stdout.split()[0])
    cc = lambda kind: ["node", cli, "claude", kind, "--json", "--offline"]
    tw_report = lambda kind: [a.tw, "report", kind, "--json", "-z", "UTC"]
    tw_report_only = lambda kind: [a.tw, "report", kind, "--json", "-z", "UTC", "--no-ingest"]
    rows = []

    def fresh_ingest_and_daily():
        for f in (db, db + "-wal", db + "-shm"):
            if os.path.exists(f):
                os.remove(f)
        subprocess.run(tw_report("daily"), env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    cold = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        fresh_ingest_and_daily()
        cold.append(time.perf_counter() - t0)
    cc_daily = timed(cc("daily"), env, a.runs)
    rows.append(("cold: tw report daily (empty store: it ingests first)", statistics.median(cold), "ccusage daily", cc_daily))
    for kind in ("daily", "session", "blocks"):
        cc_kind = timed(cc(kind), env, a.runs)
        rows.append((f"warm: tw report {kind} (its ingest included)", timed(tw_report(kind), env, a.runs), f"ccusage {kind}", cc_kind))
        rows.append((f"warm: tw report {kind} --no-ingest", timed(tw_report_only(kind), env, a.runs), f"ccusage {kind}", cc_kind))
    rows.append(("warm: tw ingest (nothing new)", timed([a.tw, "ingest", "--quiet"], env, a.runs), "ccusage daily", cc_daily))
    # The watchdog running (as it does while Claude Code sessions are active): it watches the folders, ingests
    # each change, and vouches for the store, so a report walks nothing.
    wenv = dict(env, TOKENWARDEN_CREDENTIALS=os.path.join(work, "none.json"))
    wenv.pop("TOKENWARDEN_NO_DAEMON")
    mark = db + ".ingest.fresh"
    subprocess.run([a.tw, "daemon", "run"], env=wenv, check=True, stdout=subprocess.DEVNULL)
    def wait_for_mark():
        for _ in range(600):
            if os.path.exists(mark):
                return
            time.sleep(0.05)
        raise SystemExit("the watchdog left no fresh mark")
    wait_for_mark()
    for kind in ("daily", "session", "blocks"):
        rows.append((f"watchdog on: tw report {kind} (nothing to walk)", timed(tw_report(kind), wenv, a.runs), f"ccusage {kind}",
                     timed(cc(kind), env, a.runs)))
    lag = []
    for i in range(a.runs):
        subprocess.run([sys.executable, os.path.join(PARITY, "gen_transcripts.py"), a.tree, "--append-mb", "1",
                        "--seed", str(200 + i)], check=True, stderr=subprocess.DEVNULL)
        t0 = time.perf_counter()
        time.sleep(0.01)
        while os.path.exists(mark) is False or time.perf_counter() - t0 < 0.05:
            time.sleep(0.005)
        lag.append(time.perf_counter() - t0)
    rows.append(("watchdog on: +1 MB appended, until the watchdog has read it", statistics.median(lag), "ccusage daily",
                 timed(cc("daily"), env, a.runs)))
    subprocess.run([a.tw, "daemon", "stop"], env=wenv, check=True, stdout=subprocess.DEVNULL)
    # Append 1 MB, then ingest + report (each run appends a fresh MB).
    appended = []
    for i in range(a.runs):
        subprocess.run([sys.executable, os.path.join(PARITY, "gen_transcripts.py"), a.tree, "--append-mb", "1",
                        "--seed", str(100 + i)], check=True, stderr=subprocess.DEVNULL)
        t0 = time.perf_counter()
        subprocess.run(tw_report("daily"), env=env, check=True, stdout=subprocess.DEVNULL)
        appended.append(time.perf_counter() - t0)
    rows.append(("after +1 MB: tw report daily (its ingest included)", statistics.median(appended), "ccusage daily",
                 timed(cc("daily"), env, a.runs)))
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.remove(f)
    rss_ingest = max_rss_mb([a.tw, "ingest", "--quiet"], env)
    rss_report = max(max_rss_mb(tw_report(k), env) for k in ("daily", "session", "blocks"))
    rss_cc = max_rss_mb(cc("daily"), env)
    print(f"\nTree: {size / 1e9:.2f} GB, {a.tree}; store {os.path.getsize(db) / 1e6:.0f} MB; median of {a.runs}\n")
    print("| step | tw (s) | ccusage 20 (s) | tw / ccusage | ccusage / tw |")
    print("|---|---|---|---|---|")
    for name, t, other, c in rows:
        print(f"| {name} vs {other} | {t:.3f} | {c:.3f} | {t / c:.3f} | {c / t:.1f}x |")
    print(f"\nPeak memory (max RSS): tw ingest {rss_ingest:.0f} MB, tw report {rss_report:.0f} MB, ccusage daily {rss_cc:.0f} MB")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
