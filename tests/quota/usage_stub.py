#!/usr/bin/env python3
"""A scripted stand-in for the usage endpoint on 127.0.0.1, for tokenwarden's quota tests.

usage_stub.py PORT_FILE LOG_FILE MODE [EXPECTED_TOKEN]
Writes the chosen port to PORT_FILE, appends one line per request to LOG_FILE ("GET /path auth=ok|bad|none
beta=..."; never the token), and answers according to MODE: full, limits_only, null_buckets, 429, 401, 403,
500, hang, malformed. Exits by itself after 120 s.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, LOG_FILE, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
EXPECTED = sys.argv[4] if len(sys.argv) > 4 else None
LOCK = threading.Lock()

FULL = {
    "five_hour": {"utilization": 45.0, "resets_at": "2099-01-01T10:00:00.123+00:00"},
    "seven_day": {"utilization": 62.0, "resets_at": "2099-01-04T09:00:00+00:00"},
    "seven_day_oauth_apps": None,
    "seven_day_opus": {"utilization": 10.0, "resets_at": None},
    "seven_day_sonnet": {"utilization": 5.0, "resets_at": "2099-01-04T09:00:00+00:00"},
    "extra_usage": {"is_enabled": True, "monthly_limit": 5000, "used_credits": 1234, "utilization": 24.68,
                    "currency": "USD", "disabled_reason": None},
}
LIMITS_ONLY = {
    "limits": [
        {"kind": "five_hour", "group": "session", "percent": 91, "resets_at": "2099-01-01T10:00:00Z",
         "severity": "high", "is_active": True},
        {"kind": "seven_day", "group": "weekly", "percent": 30, "resets_at": "2099-01-04T09:00:00Z",
         "severity": "low", "is_active": True},
        {"kind": "seven_day", "group": "weekly", "percent": 29, "resets_at": "2099-01-04T09:00:00Z",
         "severity": "low", "is_active": True, "scope": {"model": {"display_name": "Fable"}}},
    ]
}
NULL_BUCKETS = {"five_hour": None, "seven_day": None, "seven_day_opus": None, "seven_day_sonnet": None,
                "extra_usage": None}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        auth = self.headers.get("Authorization")
        state = "none" if auth is None else ("ok" if EXPECTED is None or auth == "Bearer " + EXPECTED else "bad")
        with LOCK, open(LOG_FILE, "a") as log:
            log.write("GET %s auth=%s beta=%s\n" % (self.path, state, self.headers.get("anthropic-beta", "")))
        if MODE == "hang":
            time.sleep(30)
            return
        status, body, headers = 200, None, {}
        if MODE == "full":
            body = json.dumps(FULL)
        elif MODE == "limits_only":
            body = json.dumps(LIMITS_ONLY)
        elif MODE == "null_buckets":
            body = json.dumps(NULL_BUCKETS)
        elif MODE == "malformed":
            body = '{"five_hour": {"utilization": 4'
        elif MODE == "429":
            status, body, headers = 429, '{"error": "rate_limited"}', {"Retry-After": "300"}
        elif MODE in ("401", "403", "500"):
            status, body = int(MODE), '{"error": "no"}'
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Timer(120, server.shutdown).start()
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.replace(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
