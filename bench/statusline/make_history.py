#!/usr/bin/env python3
"""Builds the statusline bench's data: a year of Claude Code history and a large current transcript.

make_history.py CLAUDE_DIR INPUT_JSON [TRANSCRIPT_MB (100)] [DAYS (365)]
- CLAUDE_DIR/projects/-home-dev-proj/<day-session>.jsonl: one past session per day (DAYS files, 200 API
  responses each) and the current session's transcript of TRANSCRIPT_MB megabytes (text-heavy assistant and
  user lines with usage, as Claude Code writes them).
- INPUT_JSON: the statusline input (the captured sample, pointing at the current transcript, with
  rate_limits, as a subscriber's Claude Code sends it).
Every line is synthetic (no real conversation); message ids are unique so the ingest keeps every record.
"""
import json
import os
import sys
import time
import uuid


def compact(value):
    """Claude Code writes compact JSON (no spaces); parsers prefilter on that shape."""
    return json.dumps(value, separators=(",", ":"))

claude_dir, input_path = sys.argv[1], sys.argv[2]
megabytes = int(sys.argv[3]) if len(sys.argv) > 3 else 100
days = int(sys.argv[4]) if len(sys.argv) > 4 else 365
project = os.path.join(claude_dir, "projects", "-home-dev-proj")
os.makedirs(project, exist_ok=True)
models = ["claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5"]
filler = "x" * 1800  # tool output / text bulk that every parser has to step over


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % int((ts % 1) * 1000)


def assistant(session, ts, n, text):
    return compact({
        "parentUuid": str(uuid.uuid4()), "isSidechain": False, "type": "assistant", "uuid": str(uuid.uuid4()),
        "timestamp": iso(ts), "cwd": "/home/dev/proj", "sessionId": session, "version": "2.1.197",
        "requestId": "req_bench_%s_%d" % (session, n),
        "message": {"id": "msg_bench_%s_%d" % (session, n), "type": "message", "role": "assistant",
                    "model": models[n % len(models)], "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": 1500 + n % 700, "cache_creation_input_tokens": 2000,
                              "cache_read_input_tokens": 30000 + n % 5000, "output_tokens": 300 + n % 900,
                              "service_tier": "standard",
                              "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 2000}}}})


def user(session, ts, text):
    return compact({"parentUuid": str(uuid.uuid4()), "isSidechain": False, "type": "user", "uuid": str(uuid.uuid4()),
                       "timestamp": iso(ts), "cwd": "/home/dev/proj", "sessionId": session, "version": "2.1.197",
                       "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x",
                                                                 "content": text}]}})


now = time.time()
for day in range(days, 0, -1):
    session = str(uuid.UUID(int=day))
    start = now - day * 86400
    with open(os.path.join(project, session + ".jsonl"), "w") as out:
        for n in range(200):
            out.write(user(session, start + n * 30, "past") + "\n")
            out.write(assistant(session, start + n * 30 + 5, n, "past answer") + "\n")

current = str(uuid.uuid4())
transcript = os.path.join(project, current + ".jsonl")
target = megabytes * 1024 * 1024
written = 0
n = 0
start = now - 4 * 3600
with open(transcript, "w") as out:
    while written < target:
        ts = start + n * (4 * 3600 / 30000)
        line = user(current, ts, filler) + "\n" + assistant(current, ts + 1, n, filler[:600]) + "\n"
        out.write(line)
        written += len(line)
        n += 1

with open(os.path.join(os.path.dirname(__file__) or ".", "..", "..", "tests", "fixtures", "statusline", "last.json")) as f:
    doc = json.load(f)
doc = doc.get("payload", doc)  # the fixture wraps the captured stdin as {"from", "payload"}
doc["session_id"] = current
doc["transcript_path"] = transcript
doc["cwd"] = doc["workspace"]["current_dir"] = doc["workspace"]["project_dir"] = "/home/dev/proj"
doc["rate_limits"] = {"five_hour": {"used_percentage": 45.0, "resets_at": int(now) + 8100},
                      "seven_day": {"used_percentage": 62.0, "resets_at": int(now) + 302400}}
with open(input_path, "w") as f:
    json.dump(doc, f)
print("history: %d past sessions, current transcript %.0f MB (%d responses)" % (days, written / 1048576, n))
