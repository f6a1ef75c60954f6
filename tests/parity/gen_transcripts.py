#!/usr/bin/env python3
"""Seeded generator of realistic Claude Code transcript trees (<root>/projects/...), for the ccusage parity test
and the accounting benchmark. Python 3 standard library only.

What a tree holds: several projects and sessions, several models, assistant responses split into one line per
content block with partial usage on the early lines (streaming), tool results of realistic size, slash commands,
Skill calls, Stop-hook summaries, subagent files under <session>/subagents/ with .meta.json (and some in nested
workflow folders and the older layout beside the session file), resumed sessions that copy earlier lines,
sidechain replays (same message id, other request id, same time), 1-hour cache writes, fast mode, legacy
costUSD lines, lines without requestId, <synthetic> lines, and malformed lines of every kind the loaders skip.

Usage: gen_transcripts.py OUT_DIR [--seed N] [--size-mb M] [--days D] [--start 2026-10-01]
       gen_transcripts.py OUT_DIR --append-mb 1 [--seed N]   (appends to existing session files)
"""
import argparse
import datetime as dt
import json
import os
import random
import string
import sys
import uuid

# Models priced identically by tokenwarden and ccusage 20 (checked against 20.0.24), and two it does not know.
SHARED_MODELS = ["claude-opus-4-6", "claude-opus-4-7", "claude-sonnet-4-6", "claude-haiku-4-5-20251001",
                 "claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-fable-5-1", "claude-sonnet-5"]
UNPRICED_BY_CCUSAGE = ["claude-opus-5-5", "claude-haiku-5-5"]
AGENT_TYPES = ["general-purpose", "Explore", "code-reviewer", "test-runner", ""]
COMMANDS = ["/review", "/test", "/refactor", "/explain"]
SKILLS = ["pdf", "release-notes", "db-migrate"]
VERSION = "2.1.330"


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Gen:
    def __init__(self, rng, root, start, days):
        self.rng = rng
        self.root = root
        self.start = start
        self.days = days
        self.msg_counter = 0
        self.bytes = 0
        self.history = []  # (project, session_id, [lines]) for resumes and replays

    def rid(self, prefix, n=24):
        return prefix + "".join(self.rng.choice(string.ascii_letters + string.digits) for _ in range(n))

    def ts(self, t):
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)

    def filler(self, n):
        words = ["alpha", "beta", "gamma", "delta", "config", "return", "value", "index", "test", "build",
                 "error", "status", "tokens", "session", "agent", "module", "include", "struct", "const"]
        out, size = [], 0
        while size < n:
            w = self.rng.choice(words)
            out.append(w)
            size += len(w) + 1
        return " ".join(out)

    def envelope(self, kind, t, session, cwd, sidechain, agent_id=None, parent=None):
        d = {"parentUuid": parent, "isSidechain": sidechain}
        if agent_id:
            d["agentId"] = agent_id
        d.update({"type": kind, "uuid": str(uuid.UUID(int=self.rng.getrandbits(128))), "timestamp": self.ts(t),
                  "userType": "external", "entrypoint": "cli", "cwd": cwd, "sessionId": session,
                  "version": VERSION, "gitBranch": "main"})
        return d

    def usage(self, model, final=True, prompt_cap=None):
        r = self.rng
        inp = r.choice([1, 2, 3, 5, 8, 12, 40, 300, 2500])
        read = r.choice([0, 0, 8000, 15000, 30000, 60000, 90000, 140000])
        create = r.choice([0, 0, 500, 1200, 4000, 12000, 30000])
        if prompt_cap is not None:
            read = min(read, prompt_cap - inp - create)
        one_hour = create if r.random() < 0.2 else (create // 3 if r.random() < 0.2 else 0)
        out = r.randint(20, 4000) if final else r.randint(1, 12)
        u = {"input_tokens": inp, "cache_creation_input_tokens": create, "cache_read_input_tokens": read,
             "output_tokens": out, "output_tokens_details": {"thinking_tokens": 0},
             "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0}, "service_tier": "standard",
             "cache_creation": {"ephemeral_1h_input_tokens": one_hour, "ephemeral_5m_input_tokens": create - one_hour},
             "inference_geo": "", "iterations": [], "speed": "standard"}
        if model == "claude-opus-4-6" and r.random() < 0.05:
            u["speed"] = "fast"
        return u

    def pick_model(self):
        r = self.rng.random()
        if r < 0.05:
            return self.rng.choice(UNPRICED_BY_CCUSAGE)
        return self.rng.choice(SHARED_MODELS)

    def assistant_lines(self, t, session, cwd, sidechain, agent_id, model, blocks, parent, request_id=True,
                        legacy_cost=False):
        """One API response: one line per content block, same message id and requestId, partial usage first."""
        self.msg_counter += 1
        mid = "msg_01" + self.rid("", 22)
        req = "req_01" + self.rid("", 22)
        cap = 190000 if model.startswith("claude-sonnet-4-5") else None
        final = self.usage(model, True, cap)
        lines = []
        for i, block in enumerate(blocks):
            u = dict(final)
            if i < len(blocks) - 1 and self.rng.random() < 0.6:
                u = dict(final, output_tokens=self.rng.randint(1, 12))  # an intermediate snapshot (ccusage #888)
            d = self.envelope("assistant", t, session, cwd, sidechain, agent_id, parent)
            d["message"] = {"id": mid, "type": "message", "role": "assistant", "model": model,
                            "content": [block], "stop_reason": "tool_use" if block["type"] == "tool_use" else None,
                            "usage": u}
            if request_id:
                d["requestId"] = req
            d["requestedModel"] = model
            d["apiBlockIndex"] = i
            if legacy_cost:
                d["version"] = "1.0.30"
                d["costUSD"] = round(self.rng.uniform(0.001, 0.2), 6)
            # message before type, like Claude Code writes it
            order = ["parentUuid", "isSidechain", "agentId", "message", "requestId", "type"]
            d = {k: d[k] for k in order if k in d} | {k: v for k, v in d.items() if k not in order}
            lines.append(dumps(d))
            parent = d["uuid"]
            t += dt.timedelta(milliseconds=self.rng.randint(200, 2500))
        return lines, t, parent

    def user_line(self, t, session, cwd, sidechain, agent_id, prompt_id, content, parent, tool_result=False):
        d = {"parentUuid": parent, "isSidechain": sidechain, "promptId": prompt_id}
        if agent_id:
            d["agentId"] = agent_id
        d["type"] = "user"
        d["message"] = {"role": "user", "content": content}
        env = self.envelope("user", t, session, cwd, sidechain, agent_id, parent)
        for k, v in env.items():
            d.setdefault(k, v)
        if tool_result:
            d["toolUseResult"] = {"stdout": self.filler(200), "stderr": "", "interrupted": False}
        return dumps(d), d["uuid"]

    def malformed(self, t, session, cwd):
        base = self.envelope("assistant", t, session, cwd, False)
        base["requestId"] = "req_bad" + self.rid("", 10)
        base["message"] = {"id": "msg_bad" + self.rid("", 10), "model": "claude-sonnet-4-6", "role": "assistant",
                           "usage": {"input_tokens": 10, "output_tokens": 5}}
        kind = self.rng.randrange(7)
        if kind == 0:
            return dumps(base)[: self.rng.randint(20, 120)]  # truncated line
        if kind == 1:
            base["requestId"] = None
        elif kind == 2:
            del base["timestamp"]
        elif kind == 3:
            base["timestamp"] = "yesterday"
        elif kind == 4:
            base["version"] = "beta"
        elif kind == 5:
            base["message"]["usage"]["input_tokens"] = "10"
        else:
            base["message"]["usage"]["output_tokens"] = -5
        return dumps(base)

    def turn(self, lines, t, session, cwd, sidechain, agent_id, parent, prompt_id, model, depth, spawn):
        """A prompt and the responses to it; may spawn subagents (returns their specs)."""
        text = self.filler(self.rng.randint(40, 400))
        if self.rng.random() < 0.2:
            cmd = self.rng.choice(COMMANDS)
            text = f"<command-message>{cmd[1:]} is running</command-message>\n<command-name>{cmd}</command-name>\n<command-args>{self.filler(30)}</command-args>"
        line, parent = self.user_line(t, session, cwd, sidechain, agent_id, prompt_id, text, parent)
        lines.append(line)
        t += dt.timedelta(seconds=self.rng.randint(1, 20))
        spawned = []
        for step in range(self.rng.randint(1, 7)):
            blocks = []
            if self.rng.random() < 0.4:
                blocks.append({"type": "thinking", "thinking": self.filler(self.rng.randint(50, 800)), "signature": "sig"})
            blocks.append({"type": "text", "text": self.filler(self.rng.randint(20, 600))})
            r = self.rng.random()
            tool = None
            if r < 0.08 and depth == 0:
                tool = {"type": "tool_use", "id": "toolu_01" + self.rid("", 22), "name": "Skill",
                        "input": {"skill": self.rng.choice(SKILLS)}}
            elif r < 0.2 and depth == 0 and spawn:
                tool = {"type": "tool_use", "id": "toolu_01" + self.rid("", 22), "name": "Agent",
                        "input": {"subagent_type": self.rng.choice(AGENT_TYPES) or "general-purpose",
                                  "description": "do a part", "prompt": self.filler(200)}}
                spawned.append((tool["id"], t))
            elif r < 0.8:
                tool = {"type": "tool_use", "id": "toolu_01" + self.rid("", 22), "name": self.rng.choice(["Bash", "Read", "Edit", "Grep"]),
                        "input": {"command": self.filler(40)}}
            if tool:
                blocks.append(tool)
            alines, t, parent = self.assistant_lines(t, session, cwd, sidechain, agent_id, model, blocks, parent,
                                                     request_id=True)
            lines += alines
            if self.rng.random() < 0.003:
                lines.append(self.malformed(t, session, cwd))
            if tool:
                t += dt.timedelta(seconds=self.rng.randint(1, 60))
                content = [{"tool_use_id": tool["id"], "type": "tool_result",
                            "content": self.filler(self.rng.choice([200, 800, 3000, 12000]))}]
                line, parent = self.user_line(t, session, cwd, sidechain, agent_id, prompt_id, content, parent, True)
                lines.append(line)
            else:
                break
        if depth == 0:
            d = self.envelope("system", t, session, cwd, sidechain, agent_id, parent)
            d.update({"subtype": "stop_hook_summary", "hookCount": 1, "hookInfos": [{"command": "tw-command-end"}],
                      "hookErrors": [], "preventedContinuation": False, "stopReason": "", "hasOutput": False,
                      "level": "suggestion"})
            lines.append(dumps(d))
        return t, parent, spawned

    def write(self, path, lines, mode="w"):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = "".join(l + "\n" for l in lines)
        with open(path, mode, encoding="utf-8") as f:
            f.write(data)
        self.bytes += len(data.encode("utf-8"))

    def session(self, project_key, cwd, t):
        session = str(uuid.UUID(int=self.rng.getrandbits(128)))
        pdir = os.path.join(self.root, "projects", project_key)
        lines = []
        parent = None
        model = self.pick_model()
        # A resumed session starts with copies of an earlier session's lines (same ids, times and sessionId).
        if self.history and self.rng.random() < 0.15:
            old_project, old_session, old_lines = self.rng.choice(self.history)
            if old_project == project_key:
                lines += old_lines[: self.rng.randint(1, len(old_lines))]
        # Legacy lines with costUSD (old Claude Code).
        if self.rng.random() < 0.05:
            alines, t, parent = self.assistant_lines(t, session, cwd, False, None, "claude-sonnet-4-6",
                                                     [{"type": "text", "text": "old"}], parent, legacy_cost=True)
            lines += alines
        subagents = []
        for _ in range(self.rng.randint(1, 6)):
            prompt_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
            if self.rng.random() < 0.1:
                model = self.pick_model()
            t, parent, spawned = self.turn(lines, t, session, cwd, False, None, parent, prompt_id, model, 0, True)
            for tool_id, st in spawned:
                subagents.append((tool_id, st, prompt_id))
            if self.rng.random() < 0.03:
                d = self.envelope("assistant", t, session, cwd, False, None, parent)
                d["message"] = {"id": "msg_syn" + self.rid("", 10), "model": "<synthetic>", "role": "assistant",
                                "content": [{"type": "text", "text": "API Error"}],
                                "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                                          "cache_read_input_tokens": 0}}
                d["isApiErrorMessage"] = True
                lines.append(dumps(d))
            if self.rng.random() < 0.03:
                # Same response written twice without requestId (a proxy), at the same time.
                alines, _, _ = self.assistant_lines(t, session, cwd, False, None, model,
                                                    [{"type": "text", "text": "proxy"}], parent, request_id=False)
                # ccusage's daily report keys such lines on the timestamp too, its session report does not:
                # the generator only writes the case both agree on (docs/accounting.md).
                lines += [alines[-1], alines[-1]]
            t += dt.timedelta(minutes=self.rng.randint(1, 40))
        self.write(os.path.join(pdir, session + ".jsonl"), lines)
        self.history.append((project_key, session, lines))
        # Subagents.
        for tool_id, st, prompt_id in subagents:
            agent_id = "a" + "".join(self.rng.choice("0123456789abcdef") for _ in range(16))
            agent_type = self.rng.choice(AGENT_TYPES)
            layout = self.rng.random()
            if layout < 0.1:
                folder = pdir  # before 2.1.2: beside the session file
            elif layout < 0.2:
                folder = os.path.join(pdir, session, "subagents", "workflows", "wf_" + self.rid("", 8))
            else:
                folder = os.path.join(pdir, session, "subagents")
            alines = []
            at = st + dt.timedelta(seconds=2)
            aparent = None
            amodel = self.rng.choice(["claude-haiku-4-5-20251001", "claude-sonnet-4-6", model])
            at, aparent, _ = self.turn(alines, at, session, cwd, True, agent_id, aparent, prompt_id, amodel, 1, False)
            # A sidechain replay of a parent message: same message id, another request id, same time.
            # (Replays are a 2.1.x subagents/ thing; never in the pre-2.1.2 layout beside the session file, where
            # ccusage's session and blocks reports, reading that file first, would count them twice.)
            if self.rng.random() < 0.3 and folder != pdir:
                # The replay copies the copy of a response that is kept (the first line with the largest total): ccusage's
                # session loader compares its time, its daily loader does not (docs/accounting.md).
                kept = {}
                for l in lines:
                    if '"type":"assistant"' in l and '"requestId"' in l:
                        d = json.loads(l)
                        u = d["message"]["usage"]
                        total = sum(v for k, v in u.items() if k in ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens") and isinstance(v, int))
                        mid = d["message"]["id"]
                        if mid not in kept or total > kept[mid][0]:
                            kept[mid] = (total, l)  # the first line with the largest total
                parent_lines = [l for _, l in kept.values()]
                if parent_lines:
                    d = json.loads(self.rng.choice(parent_lines))
                    d["requestId"] = "req_01" + self.rid("", 22)
                    d["isSidechain"] = True
                    d["agentId"] = agent_id
                    alines.append(dumps(d))
            self.write(os.path.join(folder, f"agent-{agent_id}.jsonl"), alines)
            meta = {"agentType": agent_type, "description": "do a part", "toolUseId": tool_id, "spawnDepth": 1,
                    "model": amodel}
            with open(os.path.join(folder, f"agent-{agent_id}.meta.json"), "w") as f:
                f.write(dumps(meta))
        return t


def generate(out, seed, size_mb, days, start):
    rng = random.Random(seed)
    g = Gen(rng, out, start, days)
    projects = [("-home-dev-" + name, "/home/dev/" + name) for name in
                ["tokenwarden", "webapp", "infra", "ml-pipeline", "docs-site", "mobile"]]
    target = size_mb * 1024 * 1024
    t = start
    end = start + dt.timedelta(days=days)
    while g.bytes < target:
        key, cwd = rng.choice(projects)
        t = g.session(key, cwd, t)
        # Sessions through the day with idle gaps (some longer than 5 h, for block gaps).
        t += dt.timedelta(minutes=rng.choice([5, 20, 60, 90, 200, 400, 700]))
        if t > end:
            t = start + dt.timedelta(minutes=rng.randint(0, days * 1440))
    return g.bytes


def append(out, seed, size_mb):
    """Appends new turns to existing main session files (the 'after 1 MB is appended' benchmark step)."""
    rng = random.Random(seed)
    g = Gen(rng, out, None, 1)
    files = []
    for dirpath, _, names in os.walk(os.path.join(out, "projects")):
        files += [os.path.join(dirpath, n) for n in names if n.endswith(".jsonl") and not n.startswith("agent-")]
    files.sort()
    target = size_mb * 1024 * 1024
    t = dt.datetime(2026, 11, 20, 9, 0, 0)
    while g.bytes < target:
        path = rng.choice(files)
        session = os.path.basename(path)[:-6]
        lines = []
        g.turn(lines, t, session, "/home/dev/append", False, None, None, str(uuid.UUID(int=rng.getrandbits(128))),
               rng.choice(SHARED_MODELS), 0, False)
        g.write(path, lines, "a")
        t += dt.timedelta(minutes=3)
    return g.bytes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--size-mb", type=float, default=20)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--start", default="2026-10-01")
    ap.add_argument("--append-mb", type=float)
    a = ap.parse_args()
    if a.append_mb:
        n = append(a.out, a.seed, a.append_mb)
    else:
        n = generate(a.out, a.seed, a.size_mb, a.days, dt.datetime.fromisoformat(a.start + "T08:00:00"))
    print(f"wrote {n / 1048576:.1f} MB under {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
