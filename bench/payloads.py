#!/usr/bin/env python3
"""Writes the bench's payloads: one directory per case, one file per run (0.json ..), each run with its own
natural key so a recording hook really inserts. Payloads are the captured ones (tests/fixtures/hooks),
found by content. usage: payloads.py FIXTURES_DIR OUT_DIR RUNS [KEY_PREFIX] (a second set for a baseline build
needs other keys, or its runs would find every row already recorded)"""
import glob
import json
import os
import sys

fixtures, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
k = sys.argv[4] if len(sys.argv) > 4 else ""  # the key prefix


def find(event, tool=None, predicate=lambda p: True):
    for path in sorted(glob.glob(os.path.join(fixtures, "hooks", "*.json"))):
        if os.path.basename(path).startswith("_"):
            continue
        payload = json.load(open(path, encoding="utf-8"))["payload"]
        if payload.get("hook_event_name") == event and (tool is None or payload.get("tool_name") == tool) \
                and predicate(payload):
            return payload
    sys.exit("bench: no captured %s %s payload" % (event, tool or ""))


def write_case(name, make):
    directory = os.path.join(out, name)
    os.makedirs(directory, exist_ok=True)
    for i in range(runs):
        with open(os.path.join(directory, "%d.json" % i), "w", encoding="utf-8") as f:
            f.write(json.dumps(make(i)))


def write_same(name, text):
    directory = os.path.join(out, name)
    os.makedirs(directory, exist_ok=True)
    first = os.path.join(directory, "payload.data")
    with open(first, "w", encoding="utf-8") as f:
        f.write(text)
    for i in range(runs):
        os.symlink("payload.data", os.path.join(directory, "%d.json" % i))


main_thread = lambda p: "agent_id" not in p
bash = find("PreToolUse", "Bash", main_thread)
write_same("stop_pretool_bash", json.dumps(bash))
write = dict(bash, tool_name="Write")
line = "A line of a large source file, with \"quotes\" and \\ backslashes and unicode \u00e9.\n"
write["tool_input"] = {"file_path": "/home/dev/proj/big.txt", "content": line * (5 * 1024 * 1024 // len(line) + 1)}
write_same("stop_pretool_write_5mb", json.dumps(write))

agent_pre = find("PreToolUse", "Agent", main_thread)
write_case("pre_spawn_agent", lambda i: dict(agent_pre, tool_use_id="toolu_bench_pre_%s%d" % (k, i)))
agent_post = find("PostToolUse", "Agent", lambda p: p.get("tool_response", {}).get("status") == "completed")
write_case("post_task_agent_end", lambda i: dict(agent_post, tool_use_id="toolu_bench_post_%s%d" % (k, i),
                                                 tool_response=dict(agent_post["tool_response"],
                                                                    agentId="abench%s%d" % (k, i))))
subagent_stop = find("SubagentStop", None, lambda p: p.get("agent_type"))
write_case("post_task_subagent_stop", lambda i: dict(subagent_stop, agent_id="asub%s%d" % (k, i)))
prompt = find("UserPromptSubmit", None, lambda p: not p.get("prompt", "").startswith(("<", "/")))
write_case("command_start_prompt", lambda i: dict(prompt, prompt_id="prompt-bench-%s%d" % (k, i)))
stop = find("Stop", None, lambda p: "prompt_id" in p)
write_case("command_end_stop", lambda i: dict(stop, prompt_id="prompt-bench-%s%d" % (k, i)))
end = find("SessionEnd")
write_case("stop_session_end", lambda i: dict(end, session_id="bench-session-end-%s%d" % (k, i)))
status = json.load(open(os.path.join(fixtures, "statusline", "last.json"), encoding="utf-8"))
status = status.get("payload", status)
write_case("statusline", lambda i: dict(status, cost=dict(status.get("cost", {}), total_cost_usd=0.01 * (i + 1) + (0.005 if k else 0))))
