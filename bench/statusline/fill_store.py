#!/usr/bin/env python3
"""Fills a migrated tokenwarden store with a year of hook history for the statusline bench.

fill_store.py DB [DAYS (365)]: per day 10 sessions with 60 events each, a statusline snapshot per session,
and 40 quota observations per day. Synthetic rows, shaped as the hooks write them.
"""
import json
import sqlite3
import sys
import time

db_path = sys.argv[1]
days = int(sys.argv[2]) if len(sys.argv) > 2 else 365
db = sqlite3.connect(db_path)
now_ms = int(time.time() * 1000)
day_ms = 86400000
kinds = ["command_start", "agent_spawn_start", "agent_spawn_end", "skill_invoke_start", "skill_invoke_end",
         "command_end"]
with db:
    for day in range(days, 0, -1):
        base = now_ms - day * day_ms
        sessions, events, snapshots, observations = [], [], [], []
        for s in range(10):
            sid = "hist-%04d-%02d" % (day, s)
            start = base + s * 3600000
            sessions.append((sid, "/home/dev/proj", "/home/dev/proj", None, "startup", "claude-opus-4-8", start,
                             start + 3000000, "prompt_input_exit", start + 3000000))
            for e in range(60):
                events.append((sid, kinds[e % len(kinds)], "k%d" % e, start + e * 50000, "/home/dev/proj",
                               "tw-command-start", "p%d" % (e // 6), None, None, "/review", "completed",
                               "claude-opus-4-8", 1200, json.dumps({"prompt": "history"})))
            snapshots.append((sid, "/home/dev/proj", start + 3000000, "claude-opus-4-8", "Opus 4.8", 1.5 + s,
                              30.0, 60000, 1000000, None))
        for o in range(40):
            ts = base + o * 2160000
            detail = json.dumps({"fetched_at": ts // 1000, "source": "statusline",
                                 "five_hour": {"utilization": o * 2.0, "resets_at": None, "resets_at_epoch": None}})
            observations.append((ts, "statusline", o * 2.0, ts + 3600000, 40.0, ts + 5 * day_ms, detail))
        db.executemany("INSERT OR IGNORE INTO sessions (session_id, project_dir, cwd, transcript_path, source, model, "
                       "started_ms, ended_ms, end_reason, last_event_ms) VALUES (?,?,?,?,?,?,?,?,?,?)", sessions)
        db.executemany("INSERT OR IGNORE INTO events (session_id, event_type, natural_key, ts_ms, project_dir, hook, "
                       "prompt_id, agent_id, tool_use_id, name, status, model, duration_ms, detail) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", events)
        db.executemany("INSERT OR IGNORE INTO statusline (session_id, project_dir, ts_ms, model_id, model_name, cost_usd, "
                       "context_used_pct, context_tokens, context_window_size, rate_limits) VALUES (?,?,?,?,?,?,?,?,?,?)",
                       snapshots)
        db.executemany("INSERT INTO quota_observations (observed_ms, source, five_hour_pct, five_hour_resets_ms, "
                       "seven_day_pct, seven_day_resets_ms, detail) VALUES (?,?,?,?,?,?,?)", observations)
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
count = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
records = db.execute("SELECT COUNT(*) FROM usage_records").fetchone()[0]
print("store: %d events, %d usage records, %d days of history" % (count, records, days))
