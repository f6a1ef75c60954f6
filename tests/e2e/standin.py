#!/usr/bin/env python3
"""Scripted stand-in for the Anthropic Messages API, for the tokenwarden end-to-end suite.

Claude Code is pointed at it with ANTHROPIC_BASE_URL=http://127.0.0.1:PORT. It answers
`HEAD /`, streams `POST /v1/messages` (SSE, or plain JSON when the request has no
`"stream": true`), answers `POST /v1/messages/count_tokens`, and 404s anything else.

Turns are scripted by a marker in the prompt, `[[mock:NAME]]`, looked up in SCRIPTS. The
script step is the number of assistant messages that follow the prompt in the request
(stateless: a retried request gets the same answer). Requests are told apart as:

  sub   a subagent (header x-claude-code-agent-id, or `cc_is_subagent=true` in the
        billing line of the system prompt); its prompt is the Agent tool's `prompt`
  side  a request without tools or asking for structured output (title generation, ...)
  main  everything else

Every request is logged to <log-dir>/requests.jsonl and every usage served to
<log-dir>/usage.jsonl ({seq, message_id, model, agent, agent_id, marker, step, usage}).
Usage numbers are deterministic (a hash of agent kind, marker, step and how often that
key was served before) and distinct per request, with non-zero 5m and 1h cache writes.

Python 3 standard library only. Run standalone:
  python3 standin.py --port 0 --log-dir /tmp/x --port-file /tmp/x/port
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import os
import re
import socketserver
import sys
import threading
import time

MARKER_RE = re.compile(r"\[\[mock:([a-z0-9_]+)(?::([^\]]*))?\]\]")
SKILL_NAME = "tw-e2e-skill"
SUB_PROMPT = "[[mock:sub]] Please run `echo from-sub` and report."


# ---------------------------------------------------------------- scripted turns
# A script is a list of steps; a step is a list of content blocks. "tool_use" blocks get an
# id filled in. The last step ends the turn (stop_reason end_turn); any step with a tool_use
# stops with tool_use. Past the last step the final text is repeated.

def _text(t):
    return {"type": "text", "text": t}


def _tool(name, inp):
    return {"type": "tool_use", "name": name, "input": inp}


def _agent(background: bool, model: str | None = None):
    where = "background" if background else "foreground"
    inp = {
        "description": f"Run echo in {where}",
        "prompt": f"{SUB_PROMPT} ({where})",
        "subagent_type": "general-purpose",
        "run_in_background": background,
    }
    if model:
        inp["model"] = model
    return _tool("Agent", inp)


# Scripts the quota/budget scenarios synchronise with: files under <project>/tw-e2e/ (relative to the
# Bash tool's cwd, the project, for main and subagents alike).
GATE_DIR = "tw-e2e"
# Bash that says it is waiting (tw-e2e/waiting) and blocks until the test creates tw-e2e/go (30 s at most):
# the test changes the quota state while the turn is in the middle of this tool call.
WAIT_GO = (f"mkdir -p {GATE_DIR} && touch {GATE_DIR}/waiting && "
           f"for i in $(seq 600); do [ -e {GATE_DIR}/go ] && break; sleep 0.05; done; echo go")
LOOP_STEPS = 12
LOOP_SLEEP_S = 4
LOOP_SUB_PROMPT = "[[mock:loop_sub]] Run the scripted loop of sleeping commands and report."


def loop_command(who: str, k: int) -> str:
    """Step k of a looping agent: marks its start and end around a sleep, so the test knows which tool
    calls ran (a started-* file exists only when the PreToolUse hooks let the call through)."""
    return (f"mkdir -p {GATE_DIR} && touch {GATE_DIR}/started-{who}-{k} && sleep {LOOP_SLEEP_S} && "
            f"touch {GATE_DIR}/done-{who}-{k} && echo {who} {k}")


def _loop(who: str) -> list[list[dict]]:
    return [[_tool("Bash", {"command": loop_command(who, k), "description": f"Loop step {k} of {who}"})]
            for k in range(1, LOOP_STEPS + 1)]


def _two_sessions(who: str) -> list[list[dict]]:
    """One of two sessions the test steps through the quota's states: two waits (tw-e2e/waiting-<who>-<k>
    until tw-e2e/go-<who>-<k>), then a spawn, then a Bash call that marks tw-e2e/after-<who>."""
    def wait(k):
        return (f"mkdir -p {GATE_DIR} && touch {GATE_DIR}/waiting-{who}-{k} && "
                f"for i in $(seq 600); do [ -e {GATE_DIR}/go-{who}-{k} ] && break; sleep 0.05; done; echo go")
    return [[_tool("Bash", {"command": wait(1), "description": f"Wait for the test ({who} 1)"})],
            [_tool("Bash", {"command": wait(2), "description": f"Wait for the test ({who} 2)"})],
            [_text("Delegating now."), _agent(False)],
            [_tool("Bash", {"command": f"touch {GATE_DIR}/after-{who}", "description": "After the spawn"})],
            [_text(f"MOCK_FINAL: session {who} finished.")]]


SCRIPTS: dict[str, list[list[dict]]] = {
    "two_a": _two_sessions("a"),
    "two_b": _two_sessions("b"),
    "text": [[_text("MOCK_FINAL: plain text answer.")]],
    "bash": [
        [_text("I'll run a command."), _tool("Bash", {"command": "echo hi", "description": "Print hi"})],
        [_text("MOCK_FINAL: the command printed hi.")],
    ],
    "bash2": [
        [_tool("Bash", {"command": "echo one", "description": "Print one"})],
        [_tool("Bash", {"command": "echo two", "description": "Print two"})],
        [_text("MOCK_FINAL: two commands ran.")],
    ],
    "bash_fail": [
        [_tool("Bash", {"command": "exit 3", "description": "Fail on purpose"})],
        [_text("MOCK_FINAL: the command failed.")],
    ],
    "agent_fg": [
        [_text("Delegating to a subagent in the foreground."), _agent(False)],
        [_text("MOCK_FINAL: foreground subagent finished.")],
    ],
    "agent_bg": [
        [_text("Delegating to a subagent in the background."), _agent(True)],
        [_text("MOCK_LAUNCHED: background subagent is running.")],
    ],
    "agent_both": [  # one session, a background then a foreground spawn
        [_text("Spawning in the background first."), _agent(True)],
        [_text("Now one in the foreground."), _agent(False)],
        [_text("MOCK_LAUNCHED: both subagents spawned.")],
    ],
    "agent_mixed": [  # like agent_both, the background agent on another model (per-model totals)
        [_text("Spawning a haiku agent in the background."), _agent(True, "haiku")],
        [_text("Now one in the foreground."), _agent(False)],
        [_text("MOCK_LAUNCHED: both subagents spawned.")],
    ],
    "agent_bad": [  # an Agent call the CLI rejects -> PostToolUseFailure on Agent
        [_tool("Agent", {"description": "Bad agent type", "prompt": SUB_PROMPT,
                         "subagent_type": "no-such-agent-type", "run_in_background": False})],
        [_text("MOCK_FINAL: agent spawn failed.")],
    ],
    # a tool outside the suite's --allowedTools: the interactive UI asks for permission (PermissionRequest)
    "write": [
        [_tool("Write", {"file_path": "tw-e2e-written.txt", "content": "written by the e2e stand-in\n"})],
        [_text("MOCK_FINAL: the file was written.")],
    ],
    "skill": [
        [_text("Using the skill."), _tool("Skill", {"skill": SKILL_NAME})],
        [_text("MOCK_FINAL: the skill was used.")],
    ],
    "skill_bash": [
        [_tool("Skill", {"skill": SKILL_NAME})],
        [_tool("Bash", {"command": "echo from-skill", "description": "Print from-skill"})],
        [_text("MOCK_FINAL: the skill ran a command.")],
    ],
    # quota/budget scenarios: wait for the test's go, then spawn (the spawn gate acts on the new state)
    "gate_spawn": [
        [_tool("Bash", {"command": WAIT_GO, "description": "Wait for the test"})],
        [_text("Delegating now."), _agent(False)],
        [_text("MOCK_FINAL: the spawn was answered.")],
    ],
    # a foreground spawn that asks for opus (the downshift rule rewrites it)
    "agent_fg_opus": [
        [_text("Delegating to an opus subagent."), _agent(False, "opus")],
        [_text("MOCK_FINAL: the opus subagent finished.")],
    ],
    # a background subagent running a loop of sleeping Bash calls while the main agent runs its own
    # the main agent alone looping (interactive scenario: the TUI's Agent tool has no run_in_background)
    "loop_solo": [*_loop("main"), [_text("MOCK_FINAL: the main loop finished.")]],
    "loop_main": [
        [_text("Starting a background worker."),
         _tool("Agent", {"description": "Loop in background", "prompt": LOOP_SUB_PROMPT,
                         "subagent_type": "general-purpose", "run_in_background": True})],
        *_loop("main"),
        [_text("MOCK_FINAL: the main loop finished.")],
    ],
    # subagent scripts (selected by the marker in the Agent prompt)
    "sub": [
        [_tool("Bash", {"command": "echo from-sub", "description": "Print from-sub"})],
        [_text("SUB_FINAL: printed from-sub.")],
    ],
    "sub_text": [[_text("SUB_FINAL: nothing to run.")]],
    "loop_sub": [*_loop("sub"), [_text("SUB_FINAL: the loop finished.")]],
}

# Markers answered with an HTTP error instead of a message (StopFailure capture).
ERROR_SCRIPTS = {
    "error400": (400, "invalid_request_error", "TW_E2E scripted bad request"),
    "error401": (401, "authentication_error", "TW_E2E scripted auth failure"),
}

NOTIFICATION_REPLY = [_text("MOCK_FINAL: background subagent reported back.")]
DEFAULT_REPLY = [_text("MOCK_FINAL: no script matched.")]


# ---------------------------------------------------------------- request analysis

def _blocks(content):
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return content if isinstance(content, list) else []


def _text_of(msg) -> str:
    return "\n".join(b.get("text", "") for b in _blocks(msg.get("content")) if b.get("type") == "text")


def _system_text(body) -> str:
    s = body.get("system")
    if isinstance(s, str):
        return s
    if isinstance(s, list):
        return "\n".join(b.get("text", "") for b in s if isinstance(b, dict))
    return ""


def classify(headers, body) -> tuple[str, str | None]:
    """Returns (agent kind, agent id) for a /v1/messages request."""
    agent_id = headers.get("x-claude-code-agent-id")
    system = _system_text(body)
    if agent_id or "cc_is_subagent=true" in system:
        return "sub", agent_id
    if not body.get("tools") or (body.get("output_config") or {}).get("format"):
        return "side", None
    return "main", None


def current_prompt(messages):
    """Index and text of the last user message that is a prompt (not only tool results)."""
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if m.get("role") != "user":
            continue
        blocks = _blocks(m.get("content"))
        if any(b.get("type") == "tool_result" for b in blocks):
            continue
        text = _text_of(m)
        if "<task-notification>" in text:
            return i, text
        # Claude Code inserts pure <system-reminder> user messages; they are not prompts.
        stripped = re.sub(r"<system-reminder>.*?</system-reminder>", "", text, flags=re.S).strip()
        if not stripped:
            continue
        return i, text
    return -1, ""


def pick_reply(kind, body):
    """Returns (marker, step, blocks or ('error', status, type, msg))."""
    messages = body.get("messages") or []
    if kind == "side":
        fmt = (body.get("output_config") or {}).get("format") or {}
        if fmt.get("type") == "json_schema":
            props = (fmt.get("schema") or {}).get("properties") or {}
            obj = {k: ("E2E mock title" if (v or {}).get("type") == "string" else False)
                   for k, v in props.items()}
            return "side", 0, [_text(json.dumps(obj))]
        return "side", 0, [_text("MOCK_SIDE: ok")]
    idx, text = current_prompt(messages)
    step = sum(1 for m in messages[idx + 1:] if m.get("role") == "assistant") if idx >= 0 else 0
    found = MARKER_RE.findall(text)
    if "<task-notification>" in text and not found:
        return "notification", step, NOTIFICATION_REPLY
    if not found:
        return "none", step, DEFAULT_REPLY
    marker = found[-1][0]
    if marker in ERROR_SCRIPTS:
        return marker, step, ("error",) + ERROR_SCRIPTS[marker]
    script = SCRIPTS.get(marker)
    if script is None:
        return marker, step, DEFAULT_REPLY
    return marker, step, script[min(step, len(script) - 1)]


# ---------------------------------------------------------------- usage numbers

def _h(*parts) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def make_usage(kind, marker, step, occurrence):
    h = _h(kind, marker, step, occurrence)
    five = 1000 + (h % 4000)
    one = 200 + ((h >> 12) % 800)
    return {
        "input_tokens": 3 + ((h >> 24) % 400),
        "cache_creation_input_tokens": five + one,
        "cache_read_input_tokens": 10000 + ((h >> 36) % 20000),
        "cache_creation": {"ephemeral_5m_input_tokens": five, "ephemeral_1h_input_tokens": one},
        "output_tokens": 20 + ((h >> 48) % 300),
        "service_tier": "standard",
    }


# ---------------------------------------------------------------- server

class StandIn:
    def __init__(self, log_dir: str):
        self.log_dir = log_dir
        os.makedirs(log_dir, exist_ok=True)
        self.lock = threading.Lock()
        self.seq = 0
        # ids must be unique across sessions (tokenwarden de-duplicates on message.id), usage must
        # be deterministic: ids carry a per-server nonce, usage numbers do not.
        self.nonce = hashlib.sha256(f"{os.getpid()}-{time.time_ns()}".encode()).hexdigest()[:8]
        self.occurrences: dict[tuple, int] = {}
        # Response headers added to every /v1/messages answer, changeable while serving (e.g. the
        # anthropic-ratelimit-unified-* headers a subscriber's answers carry; see ratelimit_headers()).
        self.extra_headers: dict[str, str] = {}
        self.requests_path = os.path.join(log_dir, "requests.jsonl")
        self.usage_path = os.path.join(log_dir, "usage.jsonl")
        self.other_path = os.path.join(log_dir, "other_requests.jsonl")

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def occurrence(self, key):
        with self.lock:
            n = self.occurrences.get(key, 0)
            self.occurrences[key] = n + 1
            return n

    def append(self, path, obj):
        line = json.dumps(obj, sort_keys=False) + "\n"
        with self.lock:
            with open(path, "a", encoding="utf-8") as f:
                f.write(line)


def ratelimit_headers(five_hour_pct: float, seven_day_pct: float, five_hour_resets_in_s=3 * 3600,
                      seven_day_resets_in_s=4 * 86400) -> dict[str, str]:
    """The unified rate-limit headers of a Claude.ai subscriber's answers (fractions 0-1, unix seconds), from
    which Claude Code fills the statusline input's rate_limits."""
    now = int(time.time())
    return {
        "anthropic-ratelimit-unified-status": "allowed",
        "anthropic-ratelimit-unified-5h-utilization": f"{five_hour_pct / 100:.4f}",
        "anthropic-ratelimit-unified-5h-reset": str(now + five_hour_resets_in_s),
        "anthropic-ratelimit-unified-7d-utilization": f"{seven_day_pct / 100:.4f}",
        "anthropic-ratelimit-unified-7d-reset": str(now + seven_day_resets_in_s),
        "anthropic-ratelimit-unified-reset": str(now + five_hour_resets_in_s),
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
    }


def _sse(event, data) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tw-e2e-standin/1"
    standin: StandIn  # set on the class by serve()

    def log_message(self, fmt, *args):  # keep ctest output quiet
        if os.environ.get("TW_E2E_STANDIN_VERBOSE"):
            sys.stderr.write("standin: " + (fmt % args) + "\n")

    def _headers_dict(self):
        return {k: ("<redacted>" if k.lower() in ("x-api-key", "authorization") else v)
                for k, v in self.headers.items()}

    def _send_json(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", f"req_e2e_{self.standin.nonce}_{self.standin.seq:04d}")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return raw

    def _log_other(self, raw=b""):
        self.standin.append(self.standin.other_path, {
            "time": time.time(), "method": self.command, "path": self.path,
            "headers": self._headers_dict(), "body": raw.decode("utf-8", "replace")[:4000]})

    def do_HEAD(self):
        self._log_other()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self._log_other()
        self._send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": "stand-in"}})

    def do_POST(self):
        raw = self._read_body()
        path = self.path.split("?")[0]
        if path == "/v1/messages/count_tokens":
            self._log_other(raw)
            self._send_json(200, {"input_tokens": max(1, len(raw) // 4)})
            return
        if path != "/v1/messages":
            self._log_other(raw)
            self._send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": "stand-in"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "bad json"}})
            return
        self.handle_messages(body)

    def handle_messages(self, body):
        si = self.standin
        seq = si.next_seq()
        hdrs = {k.lower(): v for k, v in self.headers.items()}
        kind, agent_id = classify(hdrs, body)
        marker, step, reply = pick_reply(kind, body)
        model = body.get("model") or "claude-unknown"
        stream = bool(body.get("stream"))
        si.append(si.requests_path, {
            "seq": seq, "time": time.time(), "path": self.path, "agent": kind, "agent_id": agent_id,
            "marker": marker, "step": step, "stream": stream, "headers": self._headers_dict(), "body": body})
        if isinstance(reply, tuple):
            _, status, etype, msg = reply
            self._send_json(status, {"type": "error", "error": {"type": etype, "message": msg}},
                            {"x-should-retry": "false"})
            return
        occ = si.occurrence((kind, marker, step))
        usage = make_usage(kind, marker, step, occ)
        msg_id = f"msg_e2e_{si.nonce}_{seq:04d}"
        content = []
        for i, b in enumerate(reply):
            b = json.loads(json.dumps(b))
            if b["type"] == "tool_use":
                b["id"] = f"toolu_e2e_{si.nonce}_{seq:04d}_{i}"
            content.append(b)
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        message = {"id": msg_id, "type": "message", "role": "assistant", "model": model,
                   "content": content, "stop_reason": stop_reason, "stop_sequence": None, "usage": usage}
        si.append(si.usage_path, {"seq": seq, "message_id": msg_id, "model": model, "agent": kind,
                                  "agent_id": agent_id, "marker": marker, "step": step, "usage": usage})
        with si.lock:
            extra = dict(si.extra_headers)
        if stream:
            self.stream_message(message, extra)
        else:
            self._send_json(200, message, extra)

    def stream_message(self, message, extra_headers=None):
        usage = message["usage"]
        start = dict(message, content=[], stop_reason=None)
        start["usage"] = dict(usage, output_tokens=1)
        chunks = [_sse("message_start", {"type": "message_start", "message": start})]
        for i, b in enumerate(message["content"]):
            if b["type"] == "text":
                chunks.append(_sse("content_block_start", {"type": "content_block_start", "index": i,
                                                           "content_block": {"type": "text", "text": ""}}))
                chunks.append(_sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                                           "delta": {"type": "text_delta", "text": b["text"]}}))
            else:
                chunks.append(_sse("content_block_start", {"type": "content_block_start", "index": i,
                                                           "content_block": {"type": "tool_use", "id": b["id"],
                                                                             "name": b["name"], "input": {}}}))
                chunks.append(_sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                                           "delta": {"type": "input_json_delta",
                                                                     "partial_json": json.dumps(b["input"])}}))
            chunks.append(_sse("content_block_stop", {"type": "content_block_stop", "index": i}))
        final = {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens",
                                       "cache_read_input_tokens", "output_tokens")}
        chunks.append(_sse("message_delta", {"type": "message_delta",
                                             "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                             "usage": final}))
        chunks.append(_sse("message_stop", {"type": "message_stop"}))
        data = b"".join(chunks)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("request-id", message["id"].replace("msg_", "req_", 1))
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(log_dir: str, port: int = 0, host: str = "127.0.0.1"):
    """Starts the stand-in on a background thread; returns (server, port). server.shutdown() stops it."""
    standin = StandIn(log_dir)
    handler = type("BoundHandler", (Handler,), {"standin": standin})
    server = _Server((host, port), handler)
    t = threading.Thread(target=server.serve_forever, name="standin", daemon=True)
    t.start()
    return server, server.server_address[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--port-file", help="write the bound port here once listening")
    args = ap.parse_args(argv)
    server, port = serve(args.log_dir, args.port)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    print(f"standin listening on 127.0.0.1:{port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
