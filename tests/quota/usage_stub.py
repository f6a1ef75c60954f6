#!/usr/bin/env python3
"""A scripted stand-in for the usage endpoint on 127.0.0.1, for tokenwarden's quota tests.

As a program (the C++ quota tests):
  usage_stub.py PORT_FILE LOG_FILE MODE [EXPECTED_TOKEN]
Writes the chosen port to PORT_FILE, appends one line per request to LOG_FILE ("GET /path auth=ok|bad|none
beta=..."; never the token), and answers according to MODE: full, limits_only, null_buckets, 429, 401, 403,
500, hang, malformed. Exits by itself after 120 s.

As a module (the end-to-end suite, tests/e2e): `serve(log_file, expected_token)` starts the same server on a
background thread and returns a `UsageStub` whose answer the test changes while it runs
(`stub.set_percent(five_hour=95)`, `stub.mode = "500"`). No lifetime limit; `stub.close()` stops it.
"""
import copy
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


class UsageStub:
    """What the endpoint answers, changeable while it serves. `mode` is one of the MODEs above, or
    "document" to serve `document` (a dict; `set_percent` edits it)."""

    def __init__(self, log_file, expected_token=None, mode="full"):
        self.log_file = log_file
        self.expected = expected_token
        self.mode = mode
        self.document = copy.deepcopy(FULL)
        self.lock = threading.Lock()
        self.server = None
        self.port = 0
        self.retry_after = "300"  # what mode 429 answers in Retry-After

    # -- control (e2e)
    def set_percent(self, five_hour=None, seven_day=None, five_hour_resets_in_s=3 * 3600,
                    seven_day_resets_in_s=4 * 86400):
        """Serves a document with these utilizations (None: that window absent), resets relative to now."""
        def window(percent, resets_in):
            if percent is None:
                return None
            at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + resets_in))
            return {"utilization": float(percent), "resets_at": at}
        with self.lock:
            self.document = {
                "five_hour": window(five_hour, five_hour_resets_in_s),
                "seven_day": window(seven_day, seven_day_resets_in_s),
                "seven_day_oauth_apps": None, "seven_day_opus": None, "seven_day_sonnet": None,
                "extra_usage": None,
            }
            self.mode = "document"

    @property
    def url(self):
        return "http://127.0.0.1:%d/api/oauth/usage" % self.port

    def requests(self):
        """The logged request lines."""
        try:
            with open(self.log_file) as f:
                return [line.rstrip("\n") for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def close(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # -- serving
    def answer(self):
        """(status, body text, extra headers) for the current mode; None = hang."""
        with self.lock:
            mode = self.mode
            document = copy.deepcopy(self.document)
        if mode == "hang":
            return None
        if mode == "document":
            return 200, json.dumps(document), {}
        if mode == "full":
            return 200, json.dumps(FULL), {}
        if mode == "limits_only":
            return 200, json.dumps(LIMITS_ONLY), {}
        if mode == "null_buckets":
            return 200, json.dumps(NULL_BUCKETS), {}
        if mode == "malformed":
            return 200, '{"five_hour": {"utilization": 4', {}
        if mode == "429":
            return 429, '{"error": "rate_limited"}', {"Retry-After": self.retry_after}
        if mode in ("401", "403", "500"):
            return int(mode), '{"error": "no"}', {}
        return 500, '{"error": "unknown stub mode"}', {}


def _handler_for(stub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            auth = self.headers.get("Authorization")
            state = "none" if auth is None else (
                "ok" if stub.expected is None or auth == "Bearer " + stub.expected else "bad")
            with stub.lock, open(stub.log_file, "a") as log:
                log.write("GET %s auth=%s beta=%s\n" % (self.path, state, self.headers.get("anthropic-beta", "")))
            answer = stub.answer()
            if answer is None:
                time.sleep(30)
                return
            status, body, headers = answer
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
    return Handler


def serve(log_file, expected_token=None, mode="full"):
    """Starts a stub on 127.0.0.1 (any free port) on a background thread; returns the UsageStub."""
    stub = UsageStub(log_file, expected_token, mode)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(stub))
    server.daemon_threads = True
    stub.server = server
    stub.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, name="usage-stub", daemon=True).start()
    return stub


def main(argv):
    import os
    port_file, log_file, mode = argv[1], argv[2], argv[3]
    expected = argv[4] if len(argv) > 4 else None
    stub = UsageStub(log_file, expected, mode)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(stub))
    server.daemon_threads = True
    threading.Timer(120, server.shutdown).start()
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
