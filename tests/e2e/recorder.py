#!/usr/bin/env python3
"""Recorder hook for the e2e suite: appends the hook's stdin (one JSON line) to a log.

Wired next to tokenwarden's own hooks for every hook event, so each scenario keeps the exact
payloads the CLI sent. Usage (as a hook command):
  recorder.py [--statusline]
Env: TW_E2E_RECORD = path of the JSONL file to append to (no-op when unset).
Each line: {"time", "event", "payload", "env", "meta_json"?}. At SubagentStart it also
records whether <session>/subagents/agent-<id>.meta.json exists yet, and its content.
With --statusline it prints a fixed marker line (the recorder statusline).
Prints nothing otherwise and always exits 0 (it must never change Claude Code's behaviour).
"""

import json
import os
import sys
import time

ENV_KEYS_PREFIX = ("CLAUDE", "TOKENWARDEN", "TW_")
ENV_KEYS = ("PWD", "COLUMNS", "LINES", "TERM")


def main():
    raw = sys.stdin.read()
    statusline = "--statusline" in sys.argv[1:]
    out = os.environ.get("TW_E2E_RECORD")
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = {"_unparsed": raw}
    rec = {"time": time.time(), "event": "statusline" if statusline else payload.get("hook_event_name"),
           "payload": payload,
           "env": {k: v for k, v in os.environ.items() if k.startswith(ENV_KEYS_PREFIX) or k in ENV_KEYS},
           "cwd": os.getcwd()}
    if payload.get("hook_event_name") == "SubagentStart" and payload.get("agent_id"):
        tp = payload.get("transcript_path") or ""
        meta = os.path.join(tp[:-len(".jsonl")] if tp.endswith(".jsonl") else tp, "subagents",
                            f"agent-{payload['agent_id']}.meta.json")
        rec["meta_json_path"] = meta
        rec["meta_json_exists"] = os.path.exists(meta)
        if rec["meta_json_exists"]:
            try:
                with open(meta, encoding="utf-8") as f:
                    rec["meta_json"] = json.load(f)
            except (OSError, ValueError) as e:
                rec["meta_json_error"] = str(e)
        agent_jsonl = meta[:-len(".meta.json")] + ".jsonl"
        rec["agent_transcript_exists"] = os.path.exists(agent_jsonl)
    if out:
        line = (json.dumps(rec) + "\n").encode()
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    if statusline:
        print("TW_E2E_RECORDER_STATUS")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # never break the CLI
        sys.stderr.write(f"recorder: {e}\n")
    sys.exit(0)
