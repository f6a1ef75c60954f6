#!/usr/bin/env python3
"""Parity of tokenwarden's reports with ccusage 20 on one transcript tree (Python 3 standard library only).

  compare.py --tw PATH --ccusage CLI_JS --tree DIR --db FILE [--report-dir DIR]

Runs `tw ingest` then `tw report daily|session|blocks --json` (TZ=UTC) and `ccusage claude daily|session|blocks
--json --offline` with CLAUDE_CONFIG_DIR=DIR, and checks: tokens equal per day and model, per session and per
block; cost within 0.1 % wherever ccusage prices the model (models it prices at $0 are listed and compared on
tokens only; docs/accounting.md). Prints one line per check and 'N passed, N failed'; exit 1 on any failure.
"""
import argparse
import json
import os
import subprocess
import sys

TOKEN_FIELDS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")


def run(cmd, env):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr[-2000:]}")
    return r.stdout


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(what)


def close(a, b, rel=0.001):
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-9


def unpriced_models(cc_daily):
    """Models ccusage costs at $0 although they used tokens (it has no price for them)."""
    out = set()
    for day in cc_daily["daily"]:
        for m in day["modelBreakdowns"]:
            if m["cost"] == 0 and (m["inputTokens"] + m["outputTokens"]) > 0:
                out.add(m["modelName"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tw", required=True)
    ap.add_argument("--ccusage", required=True, help="path of ccusage's cli.js")
    ap.add_argument("--tree", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--report-dir")
    a = ap.parse_args()
    env = dict(os.environ, TZ="UTC", CLAUDE_CONFIG_DIR=a.tree, TOKENWARDEN_DB=a.db, TOKENWARDEN_STAGE="")
    env.pop("XDG_CONFIG_HOME", None)
    run([a.tw, "ingest", "--quiet"], env)
    tw, cc = {}, {}
    for kind in ("daily", "session", "blocks"):
        tw[kind] = json.loads(run([a.tw, "report", kind, "--json", "--timezone", "UTC"], env))
        cc[kind] = json.loads(run(["node", a.ccusage, "claude", kind, "--json", "--offline"], env))
        if a.report_dir:
            os.makedirs(a.report_dir, exist_ok=True)
            for name, doc in (("tw", tw[kind]), ("ccusage", cc[kind])):
                with open(os.path.join(a.report_dir, f"{name}_{kind}.json"), "w") as f:
                    json.dump(doc, f, indent=1, sort_keys=True)
    unpriced = unpriced_models(cc["daily"])
    c = Checks()

    # daily: per day and model, tokens equal; cost within 0.1 % for the models ccusage prices.
    tw_days = {d["date"]: d for d in tw["daily"]["daily"]}
    cc_days = {d["date"]: d for d in cc["daily"]["daily"]}
    c.check(set(tw_days) == set(cc_days), f"daily: same days (tw {len(tw_days)}, ccusage {len(cc_days)}; "
                                          f"only tw {sorted(set(tw_days) - set(cc_days))[:5]}, only ccusage {sorted(set(cc_days) - set(tw_days))[:5]})")
    for date in sorted(set(tw_days) & set(cc_days)):
        t, k = tw_days[date], cc_days[date]
        for f in TOKEN_FIELDS:
            c.check(t[f] == k[f], f"daily {date} {f}: tw {t[f]} ccusage {k[f]}")
        tm = {m["modelName"]: m for m in t["modelBreakdowns"]}
        km = {m["modelName"]: m for m in k["modelBreakdowns"]}
        c.check(set(tm) == set(km), f"daily {date} models: tw {sorted(tm)} ccusage {sorted(km)}")
        for model in set(tm) & set(km):
            for f in TOKEN_FIELDS:
                c.check(tm[model][f] == km[model][f], f"daily {date} {model} {f}: tw {tm[model][f]} ccusage {km[model][f]}")
            if model not in unpriced:
                c.check(close(tm[model]["cost"], km[model]["cost"]),
                        f"daily {date} {model} cost: tw {tm[model]['cost']:.6f} ccusage {km[model]['cost']:.6f}")
        priced_tw = sum(m["cost"] for n, m in tm.items() if n not in unpriced)
        c.check(close(priced_tw, k["totalCost"]), f"daily {date} cost: tw {priced_tw:.6f} (priced models) ccusage {k['totalCost']:.6f}")

    # session: per (session, project) tokens equal; cost within 0.1 % (priced models).
    def sessions(doc):
        return {(s["sessionId"], s["projectPath"]): s for s in doc["sessions"]}
    ts, ks = sessions(tw["session"]), sessions(cc["session"])
    c.check(set(ts) == set(ks), f"session: same sessions (tw {len(ts)}, ccusage {len(ks)}; "
                                f"only tw {sorted(set(ts) - set(ks))[:3]}, only ccusage {sorted(set(ks) - set(ts))[:3]})")
    for key in set(ts) & set(ks):
        for f in TOKEN_FIELDS:
            c.check(ts[key][f] == ks[key][f], f"session {key} {f}: tw {ts[key][f]} ccusage {ks[key][f]}")
        priced_tw = sum(m["cost"] for m in ts[key]["modelBreakdowns"] if m["modelName"] not in unpriced)
        c.check(close(priced_tw, ks[key]["totalCost"]), f"session {key} cost: tw {priced_tw:.6f} ccusage {ks[key]['totalCost']:.6f}")

    # blocks: the same blocks (start, gap or not), tokens and entries equal.
    def blocks(doc):
        return {(b["startTime"], b["isGap"]): b for b in doc["blocks"]}
    tb, kb = blocks(tw["blocks"]), blocks(cc["blocks"])
    c.check(set(tb) == set(kb), f"blocks: same blocks (tw {len(tb)}, ccusage {len(kb)}; "
                                f"only tw {sorted(set(tb) - set(kb))[:3]}, only ccusage {sorted(set(kb) - set(tb))[:3]})")
    for key in set(tb) & set(kb):
        for f in ("inputTokens", "outputTokens", "cacheCreationInputTokens", "cacheReadInputTokens"):
            c.check(tb[key]["tokenCounts"][f] == kb[key]["tokenCounts"][f],
                    f"block {key[0]} {f}: tw {tb[key]['tokenCounts'][f]} ccusage {kb[key]['tokenCounts'][f]}")
        c.check(tb[key]["endTime"] == kb[key]["endTime"], f"block {key[0]} endTime: tw {tb[key]['endTime']} ccusage {kb[key]['endTime']}")
        if not key[1]:
            c.check(tb[key]["entries"] == kb[key]["entries"], f"block {key[0]} entries: tw {tb[key]['entries']} ccusage {kb[key]['entries']}")

    # totals
    for f in TOKEN_FIELDS:
        c.check(tw["daily"]["totals"][f] == cc["daily"]["totals"][f],
                f"totals {f}: tw {tw['daily']['totals'][f]} ccusage {cc['daily']['totals'][f]}")
    tw_total = tw["daily"]["totals"]["totalTokens"]
    print(f"parity: {len(tw_days)} days, {len(ts)} sessions, {len(tb)} blocks, {tw_total} tokens; "
          f"models ccusage does not price (tokens compared, cost not): {sorted(unpriced) or 'none'}")
    for f in c.failures[:40]:
        print("FAIL " + f)
    if len(c.failures) > 40:
        print(f"... and {len(c.failures) - 40} more")
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
