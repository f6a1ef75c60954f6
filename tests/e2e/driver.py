#!/usr/bin/env python3
"""tokenwarden end-to-end scenarios against the real Claude Code CLI (one ctest each).

  driver.py [--cli-version V] --bin-dir DIR --tw PATH [--artifacts DIR] [--keep] SCENARIO...
  driver.py --list

Exit status: 0 passed, 1 failed, 77 skipped (the CLI is not cached and the npm registry is
unreachable; nothing else skips). A scenario marked xfail prints "XFAIL: <why>" when it fails as expected and
"XPASS" (exit 1) when it unexpectedly passes. The CLI version is, in order: --cli-version,
$TW_E2E_CLI_VERSION, tests/e2e/CLI_VERSION.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e  # noqa: E402
import standin  # noqa: E402
from e2e import Failure, Sandbox  # noqa: E402

SCENARIOS = {}


def scenario(name, xfail=None, tui=False):
    def deco(fn):
        SCENARIOS[name] = {"fn": fn, "xfail": xfail, "tui": tui, "doc": (fn.__doc__ or "").strip().splitlines()[0]}
        return fn
    return deco


class ExpectedFailure(Failure):
    """A failure inside the part of an xfail scenario that is expected to fail."""


class xfail_zone:
    """Failures inside this block are the expected ones of an xfail scenario; failures before it
    (the CLI did not run, the stand-in served nothing, ...) stay real failures."""

    def __enter__(self):
        return self

    def __exit__(self, typ, val, tb):
        if typ is not None and issubclass(typ, Failure) and not issubclass(typ, ExpectedFailure):
            raise ExpectedFailure(str(val)) from val
        return False


def check(cond, msg):
    if not cond:
        raise Failure(msg)


# ---------------------------------------------------------------- helpers over one run

class Ctx:
    def __init__(self, args, name):
        self.args = args
        self.name = name
        self.claude = e2e.install_cli(args.cli_version)
        self.artifacts = os.path.join(args.artifacts, name)

    def sandbox(self, **kw) -> Sandbox:
        return Sandbox(self.claude, self.artifacts, bin_dir=self.args.bin_dir, tw=self.args.tw,
                       keep=self.args.keep, **kw)


def db_rows(sb: Sandbox, sql, params=()):
    check(os.path.exists(sb.db), f"tokenwarden wrote no database at {sb.db}")
    con = sqlite3.connect(f"file:{sb.db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    finally:
        con.close()


def tw_json(sb: Sandbox, *args) -> dict:
    r = subprocess.run([sb.tw, *args, "--json"], capture_output=True, text=True, timeout=60,
                       env=sb.env(), cwd=sb.proj)
    with open(os.path.join(sb.artifacts, f"tw_{args[0]}.json"), "w") as f:
        f.write(r.stdout + ("\n# stderr:\n" + r.stderr if r.stderr else ""))
    check(r.returncode == 0, f"`tw {' '.join(args)} --json` exited {r.returncode}: {r.stderr.strip()[:500]}")
    try:
        return json.loads(r.stdout)
    except ValueError:
        raise Failure(f"`tw {' '.join(args)} --json` printed no JSON: {r.stdout[:500]}")


def run_ok(sb: Sandbox, prompt, name, **kw) -> dict:
    r = sb.run_print(prompt, name, **kw)
    res = sb.result_json(r)
    check(r.returncode == 0 and not res.get("is_error"),
          f"claude -p failed: rc={r.returncode} result={json.dumps(res)[:800]}\nstderr: {r.stderr[-800:]}")
    return res


def hook_events(sb: Sandbox, event=None, **match):
    out = []
    for h in sb.hooks():
        p = h["payload"]
        if event and h["event"] != event:
            continue
        if all(p.get(k) == v for k, v in match.items()):
            out.append(p)
    return out


def wait_hooks_settled(sb: Sandbox, want_event="SessionEnd", timeout=15):
    """claude -p can exit before its last hook processes finish writing; wait for them. Only the
    recorder's view: a missing payload is logged, not failed (SessionEnd hooks get ~1.5 s, and a
    slow python start on a loaded machine can miss that); the DB checks judge tokenwarden."""
    try:
        e2e.wait_for(lambda: hook_events(sb, want_event), timeout, what=f"{want_event} hook payload")
    except Failure as e:
        e2e.log(f"recorder: {e}")
    n = -1
    while n != len(sb.hooks()):
        n = len(sb.hooks())
        time.sleep(0.3)


def find_nodes(node, kind=None, id=None):
    out = []
    if (kind is None or node.get("kind") == kind) and (id is None or node.get("id") == id):
        out.append(node)
    for c in node.get("children") or []:
        out += find_nodes(c, kind, id)
    return out


def path_to(node, target_id, trail=()):
    trail = trail + ((node.get("kind"), node.get("id")),)
    if node.get("id") == target_id:
        return trail
    for c in node.get("children") or []:
        t = path_to(c, target_id, trail)
        if t:
            return t
    return None


# ---------------------------------------------------------------- scenario 1: hooks and hierarchy

def _spawn_scenario(ctx: Ctx, background: bool):
    marker = "agent_bg" if background else "agent_fg"
    with ctx.sandbox() as sb:
        res = run_ok(sb, f"[[mock:{marker}]] delegate", "run")
        sid = res["session_id"]
        wait_hooks_settled(sb)
        reqs = sb.requests()
        spawn_req = [q for q in reqs if q["agent"] == "main" and q["marker"] == marker and q["step"] == 0]
        check(spawn_req, "the stand-in never served the Agent call")
        pre = hook_events(sb, "PreToolUse", tool_name="Agent")
        check(len(pre) == 1, f"expected one PreToolUse(Agent), got {len(pre)}")
        tool_use_id = pre[0]["tool_use_id"]
        prompt_id = hook_events(sb, "UserPromptSubmit")[0]["prompt_id"]
        starts = hook_events(sb, "SubagentStart")
        check(len(starts) == 1, f"expected one SubagentStart, got {len(starts)}")
        agent_id = starts[0]["agent_id"]
        check(any(q["agent"] == "sub" and q["agent_id"] == agent_id for q in reqs),
              "no subagent request carried the SubagentStart agent_id")
        post = hook_events(sb, "PostToolUse", tool_name="Agent")
        status = (post[0].get("tool_response") or {}).get("status") if post else None
        check(status == ("async_launched" if background else "completed"),
              f"PostToolUse(Agent) status {status!r}")

        # every binary wired by the settings ran and recorded something for this session
        hooks_seen = {r["hook"] for r in db_rows(sb, "SELECT DISTINCT hook FROM events WHERE session_id=?", (sid,))}
        for b in ("tw-command-start", "tw-pre-spawn", "tw-post-task", "tw-command-end", "tw-stop"):
            check(b in hooks_seen, f"no event recorded by {b} (recorded by: {sorted(hooks_seen)})")

        sessions = db_rows(sb, "SELECT * FROM sessions WHERE session_id=?", (sid,))
        check(len(sessions) == 1, f"session {sid} not in the sessions table")
        check(sessions[0]["ended_ms"] is not None, "session has no end (SessionEnd not recorded)")
        check(os.path.realpath(sessions[0]["project_dir"] or "") == os.path.realpath(sb.proj),
              f"session project_dir {sessions[0]['project_dir']!r} != {sb.proj!r}")

        ev = db_rows(sb, "SELECT * FROM events WHERE session_id=? ORDER BY id", (sid,))
        types = [(e["event_type"], e["natural_key"]) for e in ev]

        def has(event_type, **cols):
            return [e for e in ev if e["event_type"] == event_type and all(e.get(k) == v for k, v in cols.items())]

        check(has("session_start"), f"no session_start event; events: {types}")
        check(has("command_start", natural_key=prompt_id), f"no command_start for prompt {prompt_id}; events: {types}")
        check(has("command_end", prompt_id=prompt_id) or has("command_end", natural_key=prompt_id),
              f"no command_end (turn end) for prompt {prompt_id}; events: {types}")
        check(has("agent_spawn_start", tool_use_id=tool_use_id, prompt_id=prompt_id),
              f"no agent_spawn_start for {tool_use_id} under prompt {prompt_id}; events: {types}")
        end = has("agent_spawn_end", tool_use_id=tool_use_id)
        check(end and end[0]["status"] == status, f"agent_spawn_end for {tool_use_id} missing or status != {status}")
        check(has("subagent_start", natural_key=agent_id), f"no subagent_start for {agent_id}; events: {types}")
        check(has("subagent_stop", natural_key=agent_id), f"no subagent_stop for {agent_id}; events: {types}")
        check(has("session_end"), f"no session_end event; events: {types}")

        agents = db_rows(sb, "SELECT * FROM agents WHERE session_id=? AND agent_id=?", (sid, agent_id))
        check(len(agents) == 1, f"agent {agent_id} not in the agents table")
        a = agents[0]
        check(a["spawn_tool_use_id"] == tool_use_id, f"agent spawn_tool_use_id {a['spawn_tool_use_id']!r} != {tool_use_id}")
        check(a["prompt_id"] == prompt_id, f"agent prompt_id {a['prompt_id']!r} != {prompt_id}")
        check(a["agent_type"] == "general-purpose", f"agent_type {a['agent_type']!r}")
        check(not a["parent_agent_id"], f"top-level agent has parent {a['parent_agent_id']!r}")
        check(a["stopped_ms"] is not None, "agent has no stop time")

        # the hierarchy as `tw events` shows it: session > command > spawn > agent
        tree = tw_json(sb, "events", "--session", sid)
        sess = [s for s in tree.get("sessions", []) if s.get("id") == sid]
        check(sess, f"tw events has no session {sid}")
        trail = path_to(sess[0], agent_id)
        kinds = [k for k, _ in trail] if trail else None
        check(trail and kinds[:2] == ["session", "command"] and ("spawn", tool_use_id) in trail and kinds[-1] == "agent",
              f"agent {agent_id} not under session > command > spawn {tool_use_id}: {trail}")
        check(dict(trail).get("command") == prompt_id, f"spawn not under command {prompt_id}: {trail}")
        if background:
            notif = hook_events(sb, "UserPromptSubmit")
            notif = [p for p in notif if p.get("prompt", "").startswith("<task-notification>")]
            check(notif, "no <task-notification> UserPromptSubmit for the background agent")
            nid = notif[0]["prompt_id"]
            # After the spawning turn ended, the notification is a turn of its own with a new prompt_id;
            # when it arrives while that turn still runs, the CLI folds it into the turn (same prompt_id).
            if nid != prompt_id:
                check(find_nodes(sess[0], id=nid), f"task-notification turn {nid} not in tw events")
            else:
                e2e.log("the task-notification arrived inside the spawning turn (same prompt_id)")


@scenario("hooks_fg")
def s_hooks_fg(ctx):
    """Every hook fires; session, command, foreground spawn, subagent and turn end are recorded with their hierarchy."""
    _spawn_scenario(ctx, background=False)


@scenario("hooks_bg")
def s_hooks_bg(ctx):
    """Every hook fires; session, command, background spawn, subagent, task-notification and turn end are recorded."""
    _spawn_scenario(ctx, background=True)


@scenario("hooks_skill_command")
def s_hooks_skill_command(ctx):
    """A Skill call and a slash command (/review) are recorded under their command."""
    with ctx.sandbox() as sb:
        res = run_ok(sb, "[[mock:skill]] use the e2e skill", "skill")
        sid = res["session_id"]
        wait_hooks_settled(sb)
        pre = hook_events(sb, "PreToolUse", tool_name="Skill")
        check(len(pre) == 1, f"expected one PreToolUse(Skill), got {len(pre)}")
        tuid = pre[0]["tool_use_id"]
        ev = db_rows(sb, "SELECT * FROM events WHERE session_id=?", (sid,))
        check([e for e in ev if e["event_type"] == "skill_invoke_start" and e["tool_use_id"] == tuid],
              f"no skill_invoke_start for {tuid}")
        check([e for e in ev if e["event_type"] == "skill_invoke_end" and e["tool_use_id"] == tuid],
              f"no skill_invoke_end for {tuid}")
        res2 = run_ok(sb, "/review foo", "command")
        sid2 = res2["session_id"]
        e2e.wait_for(lambda: len(hook_events(sb, "SessionEnd")) >= 2, 15, what="second SessionEnd")
        exp = hook_events(sb, "UserPromptExpansion")
        check(exp, "no UserPromptExpansion for /review")
        ev2 = db_rows(sb, "SELECT * FROM events WHERE session_id=? AND event_type='command_start'", (sid2,))
        check(any("review" in (e["name"] or "") for e in ev2),
              f"command_start of /review does not carry its name: {[(e['natural_key'], e['name']) for e in ev2]}")


# ---------------------------------------------------------------- scenarios 2-4: decisions

@scenario("pretool_deny")
def s_pretool_deny(ctx):
    """A PreToolUse deny with a reason from our binary reaches the model as the tool error."""
    with ctx.sandbox() as sb:
        sb.set_decisions({"PreToolUse:Bash": {"permissionDecision": "deny", "reason": "TW_TEST deny"}})
        run_ok(sb, "[[mock:bash]] please run echo hi", "run")
        check(not hook_events(sb, "PostToolUse", tool_name="Bash"), "Bash ran although our hook denied it")
        nxt = [q for q in sb.requests() if q["agent"] == "main" and q["marker"] == "bash" and q["step"] == 1]
        check(nxt, "no follow-up request after the denied tool call")
        last = nxt[0]["body"]["messages"][-1]
        results = [b for b in last["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
        check(results, f"the next request carries no tool_result: {json.dumps(last)[:600]}")
        tr = results[0]
        content = tr.get("content")
        text = content if isinstance(content, str) else " ".join(c.get("text", "") for c in content or [])
        check(tr.get("is_error") is True, f"tool_result is not an error: {json.dumps(tr)[:600]}")
        check("TW_TEST deny" in text, f"the deny reason is not in the tool error: {text!r}")


@scenario("continue_false")
def s_continue_false(ctx):
    """continue:false from our binary ends the run: no further API call, the stop reason is reported."""
    with ctx.sandbox() as sb:
        sb.set_decisions({"PreToolUse:Bash": {"continue": False, "stopReason": "TW_TEST stop"}})
        r = sb.run_print("[[mock:bash]] please run echo hi", "run")
        res = sb.result_json(r)
        reqs = [q for q in sb.requests() if q["agent"] == "main"]
        check([q["step"] for q in reqs] == [0], f"the run went on after continue:false: steps {[q['step'] for q in reqs]}")
        # NB: 2.1.330 still runs the tool whose PreToolUse said continue:false (PostToolUse fires),
        # then stops before the next model call. We assert the stop, not the tool.
        check(res.get("terminal_reason") == "hook_stopped" or "TW_TEST stop" in json.dumps(res),
              f"result does not say the hook stopped it: {json.dumps(res)[:800]}")


@scenario("prompt_block")
def s_prompt_block(ctx):
    """A UserPromptSubmit block from our binary stops the prompt before any API call."""
    with ctx.sandbox() as sb:
        sb.set_decisions({"UserPromptSubmit": {"decision": "block", "reason": "TW_TEST block"}})
        r = sb.run_print("[[mock:bash]] please run echo hi", "run")
        res = sb.result_json(r)
        # (Not asserted through the recorder: a blocking UserPromptSubmit hook can cut the parallel
        # recorder hook short, so its payload is sometimes missing.)
        msgs = [q for q in sb.requests() if q["agent"] != "side"]
        check(not msgs, f"{len(msgs)} Messages API call(s) although the prompt was blocked")
        text = res.get("result") or ""
        check("blocked by hook" in text and "TW_TEST block" in text,
              f"the result does not report our block: {json.dumps(res)[:800]}")
        check(res.get("num_turns") == 0, f"num_turns {res.get('num_turns')} after a blocked prompt")


# ---------------------------------------------------------------- scenario 5: statusline in the TUI

def tui_permission_args():
    # Interactive 2.1.330 starts in auto mode, whose server-side safety check cannot pass a
    # non-Anthropic base URL; the classic permission mode with --allowedTools runs our tools.
    return ["--permission-mode", os.environ.get("TW_E2E_TUI_PERMISSION_MODE", "default")]


def statusline_row(screen: str) -> str:
    """The row(s) under the prompt box: between the second horizontal rule and the mode line."""
    lines = screen.rstrip().splitlines()
    rules = [i for i, ln in enumerate(lines) if ln.strip().startswith("────")]
    if len(rules) < 2:
        return ""
    return "\n".join(ln.strip() for ln in lines[rules[-1] + 1:] if ln.strip())


def prompt_box(screen: str) -> str:
    """The input box: the rows between the last two horizontal rules."""
    lines = screen.rstrip().splitlines()
    rules = [i for i, ln in enumerate(lines) if ln.strip().startswith("────")]
    return "\n".join(lines[rules[-2] + 1:rules[-1]]) if len(rules) >= 2 else ""


@scenario("statusline_tui", tui=True)
def s_statusline_tui(ctx):
    """Our statusline runs in the interactive UI and its text is on the screen."""
    with ctx.sandbox() as sb:
        sb.start_tui(tui_permission_args())
        first = sb.wait_screen(lambda s: "❯" in s and statusline_row(s), 60, "prompt box and statusline")
        sb.save_screen("start")
        sb.send("[[mock:bash]] please run echo hi", literal=True)
        sb.send("Enter")
        sb.wait_screen(lambda s: "MOCK_FINAL: the command printed hi" in s, 60, "the scripted answer")
        sb.wait_idle()

        def status_in_db():
            try:
                rows = db_rows(sb, "SELECT * FROM statusline")
            except (Failure, sqlite3.Error):
                return None
            return [r for r in rows if r["context_used_pct"] is not None] or None

        rows = e2e.wait_for(status_in_db, 20, what="a statusline snapshot with context usage in the DB")
        snap = rows[0]
        want = f"{snap['model_name']} | ctx "
        screen = sb.wait_screen(lambda s: want in statusline_row(s), 20, f"statusline text {want!r}")
        sb.save_screen("statusline")
        row = statusline_row(screen)
        check("⚠" not in row, f"statusline shows a tokenwarden warning: {row!r}")
        check(" session" in row, f"statusline lacks the session cost: {row!r}")
        e2e.log(f"statusline on screen: {row.splitlines()[0]!r} (at start: {statusline_row(first).splitlines()[0]!r})")
        sb.exit_tui()


# ---------------------------------------------------------------- scenario 6: token totals

REPORT_FIELDS = ("input_tokens", "output_tokens", "cache_creation_5m_input_tokens",
                 "cache_creation_1h_input_tokens", "cache_read_input_tokens")


def served_totals(usage_log) -> dict:
    """{(agent: 'main' or the subagent's id, model): {field: sum}} of what the stand-in served
    (side requests such as title generation excluded: they are in no transcript)."""
    out: dict = {}
    for u in usage_log:
        if u["agent"] not in ("main", "sub"):
            continue
        us = u["usage"]
        who = "main" if u["agent"] == "main" else (u.get("agent_id") or "sub")
        t = out.setdefault((who, u["model"]), dict.fromkeys(REPORT_FIELDS, 0))
        t["input_tokens"] += us["input_tokens"]
        t["output_tokens"] += us["output_tokens"]
        t["cache_creation_5m_input_tokens"] += us["cache_creation"]["ephemeral_5m_input_tokens"]
        t["cache_creation_1h_input_tokens"] += us["cache_creation"]["ephemeral_1h_input_tokens"]
        t["cache_read_input_tokens"] += us["cache_read_input_tokens"]
    return out


def reported_totals(report: dict) -> dict:
    """The same shape from `tw report --session ID --by agent,model --json` (interface in README.md)."""
    out: dict = {}
    for row in report.get("rows", []):
        key = ("main" if not row.get("agent_id") else row["agent_id"], row["model"])
        t = out.setdefault(key, dict.fromkeys(REPORT_FIELDS, 0))
        for f in REPORT_FIELDS:
            t[f] += int(row.get(f) or 0)
    return out


@scenario("token_totals")
def s_token_totals(ctx):
    """Token counts tokenwarden stores equal the usage the stand-in served, per model, main agent and subagents."""
    with ctx.sandbox() as sb:
        res = run_ok(sb, "[[mock:agent_mixed]] delegate twice", "run")
        sid = res["session_id"]
        wait_hooks_settled(sb)
        served = served_totals(sb.usage())
        check(any(k[0] == "main" for k in served), "the stand-in served no main-thread usage")
        subs = {k[0] for k in served if k[0] != "main"}
        check(len(subs) == 2, f"expected usage from 2 subagents (one fg, one bg), got {sorted(subs)}")
        check(len({k[1] for k in served}) == 2, f"expected two models (main + a haiku subagent): {sorted(served)}")
        # Ground truth first: Claude Code's own session totals must match the stand-in, or the
        # comparison below would prove nothing.
        cc = {m: v for m, v in (res.get("modelUsage") or {}).items()}
        for model in {k[1] for k in served}:
            tot = {f: sum(served[k][f] for k in served if k[1] == model) for f in REPORT_FIELDS}
            if model in cc:
                check(cc[model].get("inputTokens") == tot["input_tokens"] and
                      cc[model].get("outputTokens") == tot["output_tokens"],
                      f"Claude Code's own totals for {model} differ from what was served: {cc[model]} vs {tot}")
        with open(os.path.join(sb.artifacts, "served_totals.json"), "w") as f:
            json.dump({f"{a}/{m}": v for (a, m), v in served.items()}, f, indent=2)
        with xfail_zone():
            # Stop/SubagentStop hand the transcripts to a detached `tw ingest`; run one here too so the
            # report never races it (the ingest is incremental and takes a lock: the second one adds nothing).
            tw_json(sb, "ingest")
            report = tw_json(sb, "report", "breakdown", "--session", sid, "--by", "agent,model")
            got = reported_totals(report)
            check(got == served, "tokenwarden's totals differ from the served usage:\n"
                  f"  served:   {json.dumps({f'{a}/{m}': v for (a, m), v in served.items()})}\n"
                  f"  recorded: {json.dumps({f'{a}/{m}': v for (a, m), v in got.items()})}")


# ---------------------------------------------------------------- scenarios 7-: plan quota and budgets
# The usage endpoint is tests/quota/usage_stub.py on loopback (Sandbox(quota=True)); the test moves the quota
# with sb.refresh_quota(), i.e. `tw usage --refresh` as the daemon would run it (TOKENWARDEN_NO_DAEMON=1 keeps
# the real daemon out, so every refresh is the test's). The scripted turns wait for the test at a Bash call
# (standin.WAIT_GO) or loop with marker files (standin.loop_command) so the flip lands at a known point.

def gate_file(sb: Sandbox, name: str) -> str:
    return os.path.join(sb.proj, standin.GATE_DIR, name)


def wait_gate(sb: Sandbox, proc, name: str, timeout=45):
    """Waits for the scripted Bash call to create tw-e2e/<name>; fails early when claude -p exits first."""
    def ready():
        if proc.poll() is not None:
            raise Failure(f"claude -p exited (rc={proc.returncode}) before the scripted turn reached "
                          f"{standin.GATE_DIR}/{name}; see {sb.artifacts}/{proc.tw_name}.stdout")
        return os.path.exists(gate_file(sb, name))
    e2e.wait_for(ready, timeout, interval=0.05, what=f"the scripted tool call to create {standin.GATE_DIR}/{name}")


def open_gate(sb: Sandbox):
    with open(gate_file(sb, "go"), "w"):
        pass


def tool_results(request: dict) -> list[tuple[dict, str]]:
    """(block, text) of every tool_result after the request's last assistant message (2.1.330 may append
    hook context as further messages after the one that holds the tool results)."""
    msgs = request["body"]["messages"]
    last_assistant = max((i for i, m in enumerate(msgs) if m.get("role") == "assistant"), default=-1)
    out = []
    for m in msgs[last_assistant + 1:]:
        for b in m.get("content") if isinstance(m.get("content"), list) else []:
            if isinstance(b, dict) and b.get("type") == "tool_result":
                c = b.get("content")
                text = c if isinstance(c, str) else " ".join(x.get("text", "") for x in c or [] if isinstance(x, dict))
                out.append((b, text))
    return out


def guard_events(sb: Sandbox, name: str, session_id=None):
    sql = "SELECT * FROM events WHERE event_type='warning' AND name=?"
    params = [name]
    if session_id:
        sql += " AND session_id=?"
        params.append(session_id)
    return db_rows(sb, sql, tuple(params))


def check_no_token_leak(sb: Sandbox):
    """The fake OAuth token is in the credentials file only: not in the DB, usage-cache.json, guard.json, logs,
    transcripts, screens or any artifact."""
    needle = e2e.FAKE_OAUTH_TOKEN.encode()
    hits = []
    for top in (sb.root, sb.artifacts):
        for d, _, files in os.walk(top):
            for name in files:
                path = os.path.join(d, name)
                if path == sb.credentials or os.path.islink(path) or not os.path.isfile(path):
                    continue
                try:
                    with open(path, "rb") as f:
                        if needle in f.read():
                            hits.append(path)
                except OSError:
                    pass
    check(not hits, f"the OAuth token leaked into {hits}")


def quota_state(sb: Sandbox) -> dict:
    r = sb.run_tw("usage", "--json")
    with open(os.path.join(sb.artifacts, "tw_usage.json"), "w") as f:
        f.write(r.stdout)
    return json.loads(r.stdout)


@scenario("quota_statusline_tui", tui=True)
def s_quota_statusline_tui(ctx):
    """The plan quota from the usage endpoint (stub) is on the interactive statusline and in `tw usage --json`, and follows a refresh."""
    with ctx.sandbox(quota=True) as sb:
        sb.refresh_quota(five_hour=42, seven_day=63)
        doc = quota_state(sb)
        check((doc.get("five_hour") or {}).get("utilization") == 42 and (doc.get("seven_day") or {}).get("utilization") == 63,
              f"`tw usage --json` does not show 42 % / 63 %: {json.dumps(doc)[:800]}")
        check(doc.get("state") == "ok" and doc.get("source") == "endpoint" and not doc.get("stale"),
              f"`tw usage --json`: state {doc.get('state')!r}, source {doc.get('source')!r}, stale {doc.get('stale')!r}")
        sb.start_tui(tui_permission_args())
        # render.cpp's quota segment: "5h 42% (2h59m) · 7d 63% (3d23h)" (compact form without the resets).
        screen = sb.wait_screen(lambda s: "5h 42%" in statusline_row(s) and "7d 63%" in statusline_row(s), 60,
                                "the quota segment `5h 42% ... 7d 63%` on the statusline")
        sb.save_screen("quota")
        row = statusline_row(screen)
        check("quota ?" not in row and "⚠" not in row, f"statusline quota segment is unknown or stale: {row!r}")
        e2e.log(f"statusline on screen: {row.splitlines()[0]!r}")
        # A refresh moves the figures; the statusline shows them at its next render (after an answer).
        sb.refresh_quota(five_hour=85, seven_day=64)
        sb.send("[[mock:text]] say something", literal=True)
        sb.send("Enter")
        sb.wait_screen(lambda s: "MOCK_FINAL: plain text answer." in s, 60, "the scripted answer")
        screen = sb.wait_screen(lambda s: "5h 85%" in statusline_row(s) and "7d 64%" in statusline_row(s), 30,
                                "the refreshed quota `5h 85% ... 7d 64%` on the statusline")
        sb.save_screen("quota_refreshed")
        e2e.log(f"after the refresh: {statusline_row(screen).splitlines()[0]!r}")
        doc = quota_state(sb)
        check((doc.get("five_hour") or {}).get("utilization") == 85 and doc.get("state") == "warn",
              f"`tw usage --json` after the refresh: {json.dumps(doc)[:800]}")
        sb.wait_idle()
        sb.exit_tui()
        check_no_token_leak(sb)


@scenario("quota_ratelimits_tui", tui=True)
def s_quota_ratelimits_tui(ctx):
    """A subscriber (OAuth, no API key): the quota comes from the answers' rate-limit headers via the statusline input; at 95 % the next prompt is blocked."""
    with ctx.sandbox(quota=True) as sb:  # quota=True only for TOKENWARDEN_NO_DAEMON: the endpoint is never asked
        sb.extra_env = {"CLAUDE_CODE_OAUTH_TOKEN": e2e.FAKE_CLI_OAUTH_TOKEN, "ANTHROPIC_API_KEY": None}
        sb.standin.extra_headers = standin.ratelimit_headers(37, 12)
        sb.start_tui(tui_permission_args())
        sb.wait_screen(lambda s: "❯" in s and statusline_row(s), 60, "prompt box and statusline")
        sb.save_screen("start")
        sb.send("[[mock:text]] hello", literal=True)
        sb.send("Enter")
        sb.wait_screen(lambda s: "MOCK_FINAL: plain text answer." in s, 60, "the scripted answer")
        auth = {k.lower(): v for k, v in sb.requests()[0]["headers"].items()}
        check("authorization" in auth and "x-api-key" not in auth,
              f"the CLI did not authenticate as a subscriber (Bearer): headers {sorted(auth)}")
        screen = sb.wait_screen(lambda s: "5h 37%" in statusline_row(s) and "7d 12%" in statusline_row(s), 30,
                                "the quota from the rate-limit headers (`5h 37% ... 7d 12%`) on the statusline")
        sb.save_screen("quota_from_headers")
        e2e.log(f"statusline: {statusline_row(screen).splitlines()[0]!r}")
        doc = quota_state(sb)
        check(doc.get("source") == "statusline" and (doc.get("five_hour") or {}).get("utilization") == 37,
              f"`tw usage --json` does not show 37 % from the statusline: {json.dumps(doc)[:600]}")
        check(not sb.usage_stub.requests(), f"the usage endpoint was asked: {sb.usage_stub.requests()}")
        # The answers now say 95 %: after the next one the statusline stores CRITICAL, and the prompt after
        # that is blocked before any API call.
        sb.standin.extra_headers = standin.ratelimit_headers(95, 12)
        sb.wait_idle()
        sb.send("[[mock:text]] one more", literal=True)
        sb.send("Enter")
        e2e.wait_for(lambda: (quota_state(sb).get("five_hour") or {}).get("utilization") == 95, 30,
                     what="`tw usage --json` to show 95 % from the statusline")
        sb.wait_screen(lambda s: "5h 95%" in statusline_row(s), 30, "`5h 95%` on the statusline")
        sb.wait_idle()
        n = len([q for q in sb.requests() if q["agent"] != "side"])
        sb.send("[[mock:text]] and again", literal=True)
        sb.send("Enter")
        sb.wait_screen(lambda s: "prompt was not sent" in s.replace("\n", " "), 30, "the prompt block reason on the screen")
        sb.save_screen("blocked")
        time.sleep(1.0)
        check(len([q for q in sb.requests() if q["agent"] != "side"]) == n, "the blocked prompt reached the Messages API")
        sb.send("C-u")
        sb.wait_screen(lambda s: prompt_box(s).strip() == "❯", 10, "an empty prompt box")
        sb.exit_tui()
        check_no_token_leak(sb)


@scenario("quota_stop_tui", tui=True)
def s_quota_stop_tui(ctx):
    """Interactive: the quota turns CRITICAL during a turn; tw-stop ends the turn at the next tool call, the user sees why, the next prompt is blocked."""
    with ctx.sandbox(quota=True) as sb:
        sb.refresh_quota(five_hour=10, seven_day=20)
        sb.start_tui(tui_permission_args())
        sb.wait_screen(lambda s: "❯" in s and "5h 10%" in statusline_row(s), 60, "prompt box and the quota on the statusline")
        sb.send("[[mock:loop_solo]] loop for a while", literal=True)
        sb.send("Enter")

        def in_sleep():
            m = loop_markers(sb)["started"]["main"]
            if not m:
                return None
            k = max(m)
            done = loop_markers(sb)["done"]["main"]
            return k if k not in done and time.time() - m[k] < standin.LOOP_SLEEP_S - 1.5 else None
        k_flip = e2e.wait_for(in_sleep, 60, interval=0.05, what="the interactive turn inside a loop step")
        seq_at_flip = max((q["seq"] for q in sb.requests()), default=0)
        t_flip = time.time()
        sb.refresh_quota(five_hour=95, seven_day=20)
        e2e.log(f"flipped to 95 % at loop step {k_flip} (request seq {seq_at_flip})")
        screen = sb.wait_screen(lambda s: "quota is critical" in s.replace("\n", " "), 30,
                                "tokenwarden's stop reason on the screen")
        sb.wait_idle()
        sb.save_screen("stopped")
        late = [q for q in sb.requests() if q["seq"] > seq_at_flip and q["agent"] != "side"]
        after = sorted(k for k in loop_markers(sb)["started"]["main"] if k > k_flip)
        check(not after, f"loop steps {after} ran after the quota turned critical")
        check(len(late) <= 1, f"{len(late)} requests after the flip (want at most 1): {[(q['marker'], q['step']) for q in late]}")
        e2e.log(f"stopped {time.time() - t_flip:.1f}s after the flip")
        # The next prompt is blocked before any API call, with the reason on the screen.
        n = len(sb.requests())
        sb.send("[[mock:text]] are we done?", literal=True)
        sb.send("Enter")
        screen = sb.wait_screen(lambda s: "prompt was not sent" in s.replace("\n", " "), 30, "the prompt block reason on the screen")
        sb.save_screen("blocked")
        time.sleep(1.0)
        check(len([q for q in sb.requests()[n:] if q["agent"] != "side"]) == 0, "the blocked prompt reached the Messages API")
        sb.wait_screen(lambda s: "5h 95%" in statusline_row(s), 20, "the statusline showing 5h 95%")
        # The TUI puts a blocked prompt back into the input box: clear it before /exit.
        sb.send("C-u")
        sb.wait_screen(lambda s: prompt_box(s).strip() == "❯", 10, "an empty prompt box")
        sb.exit_tui()


@scenario("quota_critical_spawn_denied")
def s_quota_critical_spawn_denied(ctx):
    """Plan quota turns CRITICAL mid-turn: tw-pre-spawn denies the next Agent call, its reason reaches the model."""
    with ctx.sandbox(quota=True) as sb:
        # Only the spawn gate may act: with auto_stop_on_critical tw-stop would stop the session on this very
        # Agent call. (The prompt gate blocks at CRITICAL, so the quota turns critical after the prompt.)
        sb.user_config({"quota": {"auto_stop_on_critical": False}})  # a project may not loosen enforcement
        sb.refresh_quota(five_hour=10, seven_day=20)
        proc = sb.start_print("[[mock:gate_spawn]] wait for the test, then delegate", "run")
        wait_gate(sb, proc, "waiting")
        doc = sb.refresh_quota(five_hour=95, seven_day=20)
        check(doc.get("state") == "critical", f"`tw usage` state at 95 % is {doc.get('state')!r}, not critical: {doc}")
        open_gate(sb)
        r = sb.wait_print(proc, 60)
        res = sb.result_json(r)
        wait_hooks_settled(sb)
        check(r.returncode == 0 and not res.get("is_error"),
              f"claude -p failed: rc={r.returncode} result={json.dumps(res)[:800]}")
        check(res.get("terminal_reason") != "hook_stopped",
              f"the session was stopped although auto_stop_on_critical is false: {json.dumps(res)[:800]}")
        pre = hook_events(sb, "PreToolUse", tool_name="Agent")
        check(len(pre) == 1, f"expected one PreToolUse(Agent), got {len(pre)}")
        tuid = pre[0]["tool_use_id"]
        check(not hook_events(sb, "SubagentStart"), "a subagent started although the spawn was denied")
        reqs = sb.requests()
        check(not [q for q in reqs if q["agent"] == "sub"], "the stand-in served a subagent request")
        nxt = [q for q in reqs if q["agent"] == "main" and q["marker"] == "gate_spawn" and q["step"] == 2]
        check(nxt, f"no request after the Agent call (steps seen: {[q['step'] for q in reqs if q['agent'] == 'main']})")
        results = tool_results(nxt[0])
        check(results, "the request after the Agent call carries no tool_result: "
              f"{json.dumps(nxt[0]['body']['messages'][-3:])[:1500]}")
        block, text = results[0]
        check(block.get("is_error") is True, f"the Agent tool_result is not an error: {json.dumps(block)[:600]}")
        check("tokenwarden:" in text and "quota" in text[text.find("tokenwarden:"):],
              f"the Agent tool error does not carry tokenwarden's quota reason: {text!r}")
        e2e.log(f"the model was told: {text!r}")
        sid = res["session_id"]
        spawn = db_rows(sb, "SELECT * FROM events WHERE session_id=? AND event_type='agent_spawn_start' AND tool_use_id=?",
                        (sid, tuid))
        check(spawn and spawn[0]["status"] == "denied",
              f"agent_spawn_start for {tuid} is not recorded as denied: {spawn}")
        check(guard_events(sb, "spawn_denied", sid), "no spawn_denied warning event recorded")
        check(not guard_events(sb, "session_stopped", sid), "tw-stop recorded session_stopped with auto_stop_on_critical off")
        check_no_token_leak(sb)


@scenario("quota_critical_prompt_blocked")
def s_quota_critical_prompt_blocked(ctx):
    """Plan quota CRITICAL before the prompt: tw-command-start blocks it, no Messages API call, the reason names the quota."""
    with ctx.sandbox(quota=True) as sb:
        doc = sb.refresh_quota(five_hour=30, seven_day=93)
        check(doc.get("state") == "critical", f"`tw usage` state at 7d 93 % is {doc.get('state')!r}, not critical")
        r = sb.run_print("[[mock:bash]] please run echo hi", "run")
        res = sb.result_json(r)
        msgs = [q for q in sb.requests() if q["agent"] != "side"]
        check(not msgs, f"{len(msgs)} Messages API call(s) although the quota is critical")
        text = res.get("result") or ""
        check("blocked by hook" in text and "tokenwarden:" in text and "quota" in text and "93%" in text,
              f"the result does not report tokenwarden's quota block (7-day window at 93 %): {json.dumps(res)[:800]}")
        check(res.get("num_turns") == 0, f"num_turns {res.get('num_turns')} after a blocked prompt")
        e2e.log(f"result: {text[:300]!r}")
        check(guard_events(sb, "prompt_blocked", res.get("session_id")), "no prompt_blocked warning event recorded")
        r = sb.run_print("[[mock:text]] hello", "ignore_usage", env={"TOKENWARDEN_IGNORE_USAGE": "1"})
        check(r.returncode == 0 and [q for q in sb.requests() if q["agent"] != "side"],
              "no Messages API call with TOKENWARDEN_IGNORE_USAGE=1 at CRITICAL")
        check_no_token_leak(sb)


@scenario("budget_prompt_blocked")
def s_budget_prompt_blocked(ctx):
    """A day budget with enforcement block, over its limit after `tw ingest`: the next prompt is blocked before any API call."""
    with ctx.sandbox() as sb:
        sb.project_config({"budgets": [{"name": "tiny", "window": "day", "tokens": 100, "enforcement": "block"}]})
        res1 = run_ok(sb, "[[mock:text]] spend some tokens", "first")
        wait_hooks_settled(sb)
        served = sum(u["usage"]["input_tokens"] + u["usage"]["output_tokens"] + u["usage"]["cache_creation_input_tokens"]
                     + u["usage"]["cache_read_input_tokens"] for u in sb.usage() if u["agent"] == "main")
        check(served > 100, f"the first run was served only {served} tokens")
        sb.run_tw("ingest")
        spent = db_rows(sb, "SELECT COALESCE(SUM(input_tokens + output_tokens + cache_5m_tokens + cache_1h_tokens + "
                            "cache_read_tokens), 0) AS t FROM usage_records WHERE session_id=?", (res1["session_id"],))
        check(spent[0]["t"] > 100, f"`tw ingest` stored {spent[0]['t']} tokens for the first session (served {served})")
        before = len([q for q in sb.requests() if q["agent"] != "side"])
        r = sb.run_print("hello", "second")
        res = sb.result_json(r)
        msgs = [q for q in sb.requests() if q["agent"] != "side"]
        check(len(msgs) == before, f"{len(msgs) - before} Messages API call(s) although the budget blocks the prompt")
        text = res.get("result") or ""
        check("tiny" in text and "tokenwarden:" in text,
              f"the result does not report tokenwarden's block naming the budget: {json.dumps(res)[:800]}")
        check(res.get("num_turns") == 0, f"num_turns {res.get('num_turns')} after a blocked prompt")
        e2e.log(f"second run: rc={r.returncode}, result {text!r}")
        check(guard_events(sb, "prompt_blocked", res.get("session_id")), "no prompt_blocked warning event recorded")
        budgets = sb.run_tw("budget", "--json").stdout
        with open(os.path.join(sb.artifacts, "tw_budget.json"), "w") as f:
            f.write(budgets)
        tiny = [b for b in json.loads(budgets).get("budgets", []) if b.get("name") == "tiny"]
        check(tiny and tiny[0].get("level") == "critical" and tiny[0].get("spent", 0) > 100,
              f"`tw budget --json` does not show budget tiny over its limit: {budgets[:600]}")

        def calls():
            return len([q for q in sb.requests() if q["agent"] != "side"])
        # The emergency overrides: `tw override` for a while, and TOKENWARDEN_IGNORE_USAGE=1 for one process.
        sb.run_tw("override", "--minutes", "5", "--reason", "e2e emergency")
        run_ok(sb, "[[mock:text]] hello during the override", "override")
        check(calls() == before + 1, f"{calls() - before} Messages API call(s) during `tw override` (want 1)")
        sb.run_tw("override", "--clear")
        res = sb.result_json(sb.run_print("hello after the override", "cleared"))
        check(calls() == before + 1 and "tiny" in (res.get("result") or ""),
              f"the block is not back after `tw override --clear`: {json.dumps(res)[:600]}")
        run_ok(sb, "[[mock:text]] hello again", "ignore_usage", env={"TOKENWARDEN_IGNORE_USAGE": "1"})
        check(calls() == before + 2, "no Messages API call with TOKENWARDEN_IGNORE_USAGE=1 (the block stayed)")


def count_in_messages(request: dict, needle: str) -> int:
    """How many content blocks (or string contents) of the request's messages contain `needle`."""
    n = 0
    for m in request["body"].get("messages") or []:
        c = m.get("content")
        blocks = [c] if isinstance(c, str) else c or []
        for b in blocks:
            n += needle in (b if isinstance(b, str) else json.dumps(b, ensure_ascii=False))
    return n


@scenario("quota_critical_switches_off")
def s_quota_critical_switches_off(ctx):
    """block_spawns_on_critical and auto_stop_on_critical off: at CRITICAL mid-turn the spawn runs and nothing is stopped."""
    with ctx.sandbox(quota=True) as sb:
        sb.user_config({"quota": {"block_spawns_on_critical": False, "auto_stop_on_critical": False}})
        sb.refresh_quota(five_hour=10, seven_day=20)
        proc = sb.start_print("[[mock:gate_spawn]] wait for the test, then delegate", "run")
        wait_gate(sb, proc, "waiting")
        doc = sb.refresh_quota(five_hour=95, seven_day=20)
        check(doc.get("state") == "critical", f"`tw usage` state at 95 % is {doc.get('state')!r}, not critical")
        open_gate(sb)
        r = sb.wait_print(proc, 60)
        res = sb.result_json(r)
        wait_hooks_settled(sb)
        check(r.returncode == 0 and not res.get("is_error") and res.get("terminal_reason") != "hook_stopped",
              f"claude -p failed or was stopped: rc={r.returncode} result={json.dumps(res)[:800]}")
        check(len(hook_events(sb, "SubagentStart")) == 1, "the spawn did not run although block_spawns_on_critical is false")
        check(hook_events(sb, "PostToolUse", tool_name="Bash", agent_id=hook_events(sb, "SubagentStart")[0]["agent_id"]),
              "the subagent's Bash call did not run although auto_stop_on_critical is false")
        sid = res["session_id"]
        for name in ("spawn_denied", "session_stopped"):
            check(not guard_events(sb, name, sid), f"a {name} event although the switch is off")


@scenario("quota_warn_notice")
def s_quota_warn_notice(ctx):
    """Plan quota crosses WARN mid-turn: the spawn is allowed and the main agent is told once, as hook context."""
    with ctx.sandbox(quota=True) as sb:
        sb.refresh_quota(five_hour=10, seven_day=20)
        proc = sb.start_print("[[mock:gate_spawn]] wait for the test, then delegate", "run")
        wait_gate(sb, proc, "waiting")
        doc = sb.refresh_quota(five_hour=85, seven_day=20)
        check(doc.get("state") == "warn", f"`tw usage` state at 85 % is {doc.get('state')!r}, not warn: {doc}")
        open_gate(sb)
        r = sb.wait_print(proc, 60)
        res = sb.result_json(r)
        wait_hooks_settled(sb)
        check(r.returncode == 0 and not res.get("is_error") and res.get("terminal_reason") != "hook_stopped",
              f"claude -p failed or was stopped: rc={r.returncode} result={json.dumps(res)[:800]}")
        starts = hook_events(sb, "SubagentStart")
        check(len(starts) == 1, f"expected the spawn to run at WARN (one SubagentStart), got {len(starts)}")
        post = hook_events(sb, "PostToolUse", tool_name="Agent")
        check(post and (post[0].get("tool_response") or {}).get("status") == "completed",
              f"the Agent call did not complete: {json.dumps(post)[:600]}")
        reqs = sb.requests()
        final = [q for q in reqs if q["agent"] == "main" and q["marker"] == "gate_spawn" and q["step"] == 2]
        check(final, f"no request after the Agent call (steps seen: {[q['step'] for q in reqs if q['agent'] == 'main']})")
        block, text = (tool_results(final[-1]) or [({}, "")])[0]
        check(block.get("is_error") is not True, f"the Agent tool_result is an error at WARN: {text!r}")
        needle = "85%"
        blocks_with = [b for b in (json.dumps(m, ensure_ascii=False) for m in final[-1]["body"]["messages"])
                       if "tokenwarden:" in b and needle in b]
        check(blocks_with, "the main agent was never told that the quota is at WARN (no message with "
              f"'tokenwarden:' and {needle!r} in the last request)")
        n = count_in_messages(final[-1], "tokenwarden:")
        check(n == 1, f"the WARN notice reached the main agent {n} times (want once): "
              f"{[b[:300] for b in blocks_with]}")
        e2e.log(f"notice as the model saw it: {blocks_with[0][:400]}")
        for q in reqs:
            if q["agent"] == "sub":
                check(count_in_messages(q, "tokenwarden:") == 0, f"a subagent request carries a tokenwarden notice (seq {q['seq']})")
        check(not guard_events(sb, "spawn_denied"), "a spawn_denied event at WARN")


def wait_file(sb: Sandbox, name: str, timeout=45):
    e2e.wait_for(lambda: os.path.exists(gate_file(sb, name)), timeout, interval=0.05,
                 what=f"the scripted tool call to create {standin.GATE_DIR}/{name}")


def open_named_gate(sb: Sandbox, name: str):
    with open(gate_file(sb, name), "w"):
        pass


@scenario("quota_two_sessions", tui=True)
def s_quota_two_sessions(ctx):
    """Two sessions open (one interactive, one claude -p). The quota crosses 80 %: both main agents are told
    once. Then 95 % and the usage endpoint answers 429: past twice check_interval the reading still holds, a
    spawn is denied, the tool call stops each session, the statusline shows the reading's age. A refresh
    that returns 50 % reopens the gates."""
    with ctx.sandbox(quota=True) as sb:
        sb.extra_env["TOKENWARDEN_TEST_INTERVALS"] = "check=2"  # stale after 4 s (hooks, statusline, tw)
        sb.refresh_quota(five_hour=10, seven_day=20)
        sb.start_tui(tui_permission_args())
        sb.wait_screen(lambda s: "❯" in s and "5h 10%" in statusline_row(s), 60, "prompt box and the quota on the statusline")
        proc_a = sb.start_print("[[mock:two_a]] step through the quota states", "a")
        sb.send("[[mock:two_b]] step through the quota states", literal=True)
        sb.send("Enter")
        for who in ("a", "b"):
            wait_file(sb, f"waiting-{who}-1")
        doc = sb.refresh_quota(five_hour=85, seven_day=20)
        check(doc.get("state") == "warn", f"`tw usage` state at 85 % is {doc.get('state')!r}, not warn")
        for who in ("a", "b"):
            open_named_gate(sb, f"go-{who}-1")
        for who in ("a", "b"):
            wait_file(sb, f"waiting-{who}-2")
        # CRITICAL, then the endpoint fails: the reading ages past twice check_interval.
        sb.refresh_quota(five_hour=95, seven_day=20)
        sb.usage_stub.retry_after = "2"
        sb.usage_stub.mode = "429"
        r = sb.run_tw("usage", "--refresh", "--json", env={"TOKENWARDEN_TEST_INTERVALS": "check=1"}, check=False)
        check('"fetched"' not in r.stdout, f"the 429 was taken for an answer: {r.stdout[:400]}")
        time.sleep(5)
        seq_at_go = max((q["seq"] for q in sb.requests()), default=0)
        for who in ("a", "b"):
            open_named_gate(sb, f"go-{who}-2")
        r_a = sb.wait_print(proc_a, 60)
        res_a = sb.result_json(r_a)
        check(res_a.get("terminal_reason") == "hook_stopped" or "quota is critical" in json.dumps(res_a),
              f"session a was not stopped at its tool call: {json.dumps(res_a)[:800]}")
        sb.wait_screen(lambda s: "quota is critical" in s.replace("\n", " "), 30, "session b's stop reason on the screen")
        sb.wait_idle()
        sb.save_screen("stopped")
        # Both main agents were told the WARN crossing once: it rode on their second tool call, so the request
        # after it (step 2) carries it.
        for who in ("a", "b"):
            reqs = [q for q in sb.requests() if q["agent"] == "main" and q["marker"] == f"two_{who}" and q["step"] == 2]
            check(reqs, f"session {who}: no request after its second tool call")
            n = count_in_messages(reqs[-1], "85%")
            check(n == 1, f"session {who}: the WARN notice (85%) reached its main agent {n} times (want once)")
        check(not hook_events(sb, "SubagentStart"), "a subagent started although the quota reading held at 95 %")
        for who in ("a", "b"):
            check(not os.path.exists(gate_file(sb, f"after-{who}")), f"session {who} ran a tool call after its stop")
        late_subs = [q for q in sb.requests() if q["seq"] > seq_at_go and q["agent"] == "sub"]
        check(not late_subs, "the stand-in served a subagent request after the stop")
        stops = guard_events(sb, "session_stopped")
        check(len({e["session_id"] for e in stops}) == 2, f"want both sessions stopped, got {len(stops)} stop events")
        reason = json.loads(stops[0]["detail"] or "{}").get("reason", "")
        check("held as a lower bound" in reason and "tw usage --refresh" in reason,
              f"the stop reason does not say the reading is held and how to refresh: {reason!r}")
        # The statusline shows the reading's age.
        sb.wait_screen(lambda s: "5h 95%" in statusline_row(s) and "old" in statusline_row(s), 30,
                       "the statusline showing the 95 % reading with its age")
        e2e.log(f"statusline: {statusline_row(sb.screen()).strip()!r}")
        held = quota_state(sb)
        check(held.get("stale") is True and held.get("held") is True and held.get("state") == "critical",
              f"`tw usage` does not show the stale 95 % reading held as critical: {json.dumps(held)[:600]}")
        # A fresher, lower reading reopens the gates (after the Retry-After the endpoint asked for).
        sb.usage_stub.set_percent(five_hour=50, seven_day=20)
        time.sleep(2.2)
        doc = sb.refresh_quota(five_hour=50, seven_day=20)
        check(doc.get("state") == "ok", f"`tw usage` state at 50 % is {doc.get('state')!r}, not ok")
        res_c = run_ok(sb, "[[mock:agent_fg]] delegate in the foreground", "c")
        check(res_c.get("terminal_reason") != "hook_stopped", f"session c was stopped at 50 %: {json.dumps(res_c)[:600]}")
        wait_hooks_settled(sb)
        check(len(hook_events(sb, "SubagentStart")) == 1, "the spawn at 50 % did not run")
        sb.exit_tui()
        check_no_token_leak(sb)


@scenario("budget_spawn_denied")
def s_budget_spawn_denied(ctx):
    """A block budget under its threshold lets the prompt through, but spend + the spawn's estimate crosses it: tw-pre-spawn denies the Agent call."""
    with ctx.sandbox() as sb:
        # ~29,000 tokens spent by the first run (29 %: the prompt passes); + 70,000 expected for a spawn = 99 %.
        sb.project_config({"spawn_estimate": 70000,
                           "budgets": [{"name": "spawns", "window": "day", "tokens": 100000, "enforcement": "block"}]})
        run_ok(sb, "[[mock:text]] spend some tokens", "first")
        wait_hooks_settled(sb)
        sb.run_tw("ingest")
        res = run_ok(sb, "[[mock:agent_fg]] delegate", "second")
        e2e.wait_for(lambda: len(hook_events(sb, "SessionEnd")) >= 2, 15, what="second SessionEnd")
        check(not hook_events(sb, "SubagentStart"), "a subagent started although the budget denies the spawn")
        check(not [q for q in sb.requests() if q["agent"] == "sub"], "the stand-in served a subagent request")
        nxt = [q for q in sb.requests() if q["agent"] == "main" and q["marker"] == "agent_fg" and q["step"] == 1]
        check(nxt, "no request after the Agent call (the prompt itself was blocked?): "
              f"result {json.dumps(res)[:600]}")
        block, text = (tool_results(nxt[0]) or [({}, "")])[0]
        check(block.get("is_error") is True and "tokenwarden:" in text and "spawns" in text,
              f"the Agent tool error does not carry tokenwarden's budget reason naming `spawns`: {text!r}")
        e2e.log(f"the model was told: {text!r}")
        check(guard_events(sb, "spawn_denied", res["session_id"]), "no spawn_denied warning event recorded")


@scenario("budget_downshift")
def s_budget_downshift(ctx):
    """A warn budget past its threshold plus a downshift rule: a spawn asking for opus runs on haiku, and the model is told why."""
    with ctx.sandbox() as sb:
        sb.project_config({"budgets": [{"name": "soft", "window": "day", "tokens": 100, "enforcement": "warn"}],
                           "downshift": [{"from": "opus", "to": "haiku"}]})
        run_ok(sb, "[[mock:text]] spend some tokens", "first")
        wait_hooks_settled(sb)
        sb.run_tw("ingest")
        res = run_ok(sb, "[[mock:agent_fg_opus]] delegate to opus", "second")
        e2e.wait_for(lambda: len(hook_events(sb, "SessionEnd")) >= 2, 15, what="second SessionEnd")
        sid = res["session_id"]
        pre = hook_events(sb, "PreToolUse", tool_name="Agent")
        check(len(pre) == 1 and (pre[0].get("tool_input") or {}).get("model") == "opus",
              f"expected one PreToolUse(Agent) asking for opus: {json.dumps(pre)[:600]}")
        subs = [q for q in sb.requests() if q["agent"] == "sub"]
        check(subs, "the subagent never ran (no subagent request)")
        models = sorted({q["body"].get("model", "") for q in subs})
        check(all("haiku" in m for m in models), f"the subagent ran on {models}, not on haiku")
        post = hook_events(sb, "PostToolUse", tool_name="Agent")
        check(post and (post[0].get("tool_response") or {}).get("status") == "completed",
              f"the Agent call did not complete: {json.dumps(post)[:600]}")
        final = [q for q in sb.requests() if q["agent"] == "main" and q["marker"] == "agent_fg_opus" and q["step"] == 1]
        check(final, "no main request after the Agent call")
        texts = [json.dumps(m, ensure_ascii=False) for m in final[-1]["body"]["messages"]]
        told = [t for t in texts if "tokenwarden:" in t and "haiku" in t and "opus" in t]
        check(told, "the main agent was not told that the subagent runs on haiku instead of opus")
        e2e.log(f"the model was told: {told[0][:400]}")
        check(guard_events(sb, "model_downshift", sid), "no model_downshift warning event recorded")
        check(not guard_events(sb, "spawn_denied", sid), "the spawn was denied (the budget only warns)")


def loop_markers(sb: Sandbox) -> dict:
    """{'started': {who: {k: mtime}}, 'done': {who: {k: mtime}}} of the loop scripts' marker files."""
    out = {"started": {"main": {}, "sub": {}}, "done": {"main": {}, "sub": {}}}
    d = os.path.join(sb.proj, standin.GATE_DIR)
    for name in os.listdir(d) if os.path.isdir(d) else []:
        parts = name.split("-")
        if len(parts) == 3 and parts[0] in out and parts[1] in ("main", "sub") and parts[2].isdigit():
            try:
                out[parts[0]][parts[1]][int(parts[2])] = os.path.getmtime(os.path.join(d, name))
            except OSError:
                pass
    return out


FIXTURES_E2E = os.path.join(e2e.REPO, "tests", "fixtures", "e2e")


def save_fixture(ctx, sb: Sandbox, name: str, obj: dict):
    """Writes a redacted record of what the CLI did to the artifacts, and with --save-fixtures to
    tests/fixtures/e2e/<name>.json (paths rewritten like capture.py, per-process tokens redacted)."""
    import capture
    rw = capture.Rewriter(sb)

    def clean(o):
        if isinstance(o, dict):
            return {k: (capture.redact(k, v) if isinstance(v, str) and k.isupper() else clean(v)) for k, v in o.items()}
        if isinstance(o, list):
            return [clean(x) for x in o]
        return o
    doc = rw.obj(clean(obj))
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    check(e2e.FAKE_OAUTH_TOKEN not in text and e2e.DUMMY_KEY not in text, "a token would end up in the fixture")
    with open(os.path.join(sb.artifacts, f"fixture_{name}.json"), "w", encoding="utf-8") as f:
        f.write(text)
    if ctx.args.save_fixtures:
        os.makedirs(FIXTURES_E2E, exist_ok=True)
        with open(os.path.join(FIXTURES_E2E, f"{name}.json"), "w", encoding="utf-8") as f:
            f.write(text)
        e2e.log(f"fixture written: {os.path.join(FIXTURES_E2E, name + '.json')}")


def rerun_hook(sb: Sandbox, binary: str, payload: dict) -> dict:
    """Runs one of our hook binaries on a recorded payload with the sandbox's environment (what it answers
    now, e.g. for the fixture); returns {rc, stdout, stderr}."""
    r = subprocess.run([os.path.join(sb.bin_dir, binary)], input=json.dumps(payload), capture_output=True, text=True,
                       timeout=30, env=sb.env({"CLAUDE_PROJECT_DIR": sb.proj}), cwd=sb.proj)
    try:
        out = json.loads(r.stdout) if r.stdout.strip() else None
    except ValueError:
        out = r.stdout
    return {"rc": r.returncode, "stdout": out, "stderr": r.stderr}


def trim_request(q: dict, last=3) -> dict:
    import capture
    msgs = q["body"].get("messages") or []
    return {"seq": q["seq"], "agent": q["agent"], "marker": q["marker"], "step": q["step"],
            "messages_total": len(msgs), "last_messages": capture.trim_body({"messages": msgs[-last:]}, 1200)["messages"]}


def _stop_all_agents(ctx, sb: Sandbox, flip, what: str, fixture_name: str | None, stopper: str):
    """A main agent and a background subagent each loop over sleeping Bash calls; while both are inside one,
    flip() changes the state; then both must stop at their next tool call: no tool call starts after the
    flip, at most one more request per agent reaches the stand-in, claude -p exits within 10 s."""
    # The flip happens with at least 1 s left in both agents' sleeps. Both loops have the same period P (sleep +
    # ~1 s of request and hooks), so some moment has both within P/2 of their step's start: slack >= P/2.
    slack = standin.LOOP_SLEEP_S - 1.0
    proc = sb.start_print("[[mock:loop_main]] start a background worker, then loop", "run")

    def both_sleeping():
        if proc.poll() is not None:
            raise Failure(f"claude -p exited (rc={proc.returncode}) before both loops ran; see {sb.artifacts}/run.stdout")
        m, now, at = loop_markers(sb), time.time(), {}
        for who, min_k in (("main", 1), ("sub", 2)):  # the subagent has made a few requests by then
            started = m["started"][who]
            if not started:
                return None
            k = max(started)
            if k < min_k or k in m["done"][who] or now - started[k] > slack:
                return None
            at[who] = k
        return at
    at_flip = e2e.wait_for(both_sleeping, 60, interval=0.05,
                           what="the main agent and the subagent both inside a loop step (sub at step 2+)")
    # Flip 1 s before the first of the two sleeps ends (time enough to arm the state, little of the 10 s exit
    # budget spent waiting for the sleeps in flight).
    m = loop_markers(sb)
    first_end = min(m["started"][who][k] for who, k in at_flip.items()) + standin.LOOP_SLEEP_S
    time.sleep(max(0.0, first_end - 1.0 - time.time()))
    seq_at_flip = max((q["seq"] for q in sb.requests()), default=0)
    t_flip = time.time()
    flip()
    t_armed = time.time()
    e2e.log(f"flipped ({what}) at steps {at_flip} (request seq {seq_at_flip}); armed in {t_armed - t_flip:.2f}s")
    m = loop_markers(sb)
    early = {who: round(t_armed - m["done"][who][k], 2) for who, k in at_flip.items()
             if k in m["done"][who] and m["done"][who][k] < t_armed}
    check(not early, f"inconclusive: the flip took {t_armed - t_flip:.2f}s and {early} finished the step it was "
          "in before the state was armed (machine overloaded?)")
    try:
        r = sb.wait_print(proc, 30)
    except Failure as e:
        raise Failure(f"{e}: the loops went on after the flip ({what}) "
                      f"(markers: {json.dumps(loop_markers(sb)['started'])})")
    t_exit = time.time()
    time.sleep(1.0)  # a tool call let through at the end would have created its marker by now
    res = sb.result_json(r)
    wait_hooks_settled(sb)
    markers = loop_markers(sb)
    after = {who: sorted(k for k in markers["started"][who] if k > at_flip[who]) for who in ("main", "sub")}
    reqs = sb.requests()
    late = [q for q in reqs if q["seq"] > seq_at_flip and q["agent"] != "side"]
    per_agent: dict = {}
    for q in late:
        per_agent.setdefault("main" if q["agent"] == "main" else f"sub:{q['agent_id']}", []).append(q)
    sid = res.get("session_id")
    stopped = guard_events(sb, "session_stopped") if os.path.exists(sb.db) else []
    post_flip_pre = [h for h in sb.hooks() if h["event"] == "PreToolUse" and h["time"] >= t_armed]

    fixture = {
        "what": f"{fixture_name}: `claude -p` (CLI {ctx.args.cli_version}) with a main agent and a background "
                f"subagent each looping over `sleep` Bash calls; flipped while both are inside a Bash call: {what}.",
        "flip": {"loop_step_at_flip": at_flip, "request_seq_at_flip": seq_at_flip,
                 "exit_after_flip_s": round(t_exit - t_flip, 2)},
        "result": res,
        "tool_calls_started_after_flip": after,
        "requests_after_flip": [trim_request(q) for q in late],
        "pretooluse_payloads_after_flip": [{"time_after_flip_s": round(h["time"] - t_flip, 2),
                                            "payload": h["payload"]} for h in post_flip_pre],
        "session_stopped_events": [{k: e.get(k) for k in ("hook", "agent_id", "name", "detail")} for e in stopped],
    }
    for h in post_flip_pre:  # what tw-stop answers to those calls (re-run on the recorded stdin)
        who = "sub" if h["payload"].get("agent_id") else "main"
        fixture.setdefault("tw_stop_answer_now", {}).setdefault(who, rerun_hook(sb, "tw-stop", h["payload"]))
    if fixture_name:
        save_fixture(ctx, sb, fixture_name, fixture)
    else:
        with open(os.path.join(sb.artifacts, "what_the_cli_did.json"), "w") as f:
            json.dump(fixture, f, indent=2)

    check(not after["main"] and not after["sub"],
          f"tool calls ran after the quota turned critical: started after the flip {after}")
    check(t_exit - t_flip <= 10, f"claude -p exited {t_exit - t_flip:.1f}s after the flip (limit 10 s)")
    too_many = {a: [(q["seq"], q["marker"], q["step"]) for q in qs] for a, qs in per_agent.items() if len(qs) > 1}
    check(not too_many, f"more than one request per agent after the flip: {too_many}")
    check(res.get("terminal_reason") == "hook_stopped" or stopper in json.dumps(res),
          f"the result does not say a hook stopped the run: {json.dumps(res)[:800]}")
    if stopper == "tokenwarden:":
        check(stopped, "no session_stopped warning event recorded by tw-stop")
    e2e.log(f"after the flip: requests {[(a, len(q)) for a, q in per_agent.items()]}, exit after {t_exit - t_flip:.1f}s, "
            f"terminal_reason {res.get('terminal_reason')!r}")


@scenario("quota_stop_all_agents")
def s_quota_stop_all_agents(ctx):
    """Quota goes CRITICAL while a main agent and a background subagent loop over Bash: tw-stop stops both at their next tool call."""
    with ctx.sandbox(quota=True) as sb:
        sb.refresh_quota(five_hour=10, seven_day=20)

        def flip():
            doc = sb.refresh_quota(five_hour=95, seven_day=20)
            check(doc.get("state") == "critical", f"`tw usage` state at 95 % is {doc.get('state')!r}: {doc}")
        _stop_all_agents(ctx, sb, flip, "plan quota 10 % -> 95 % by `tw usage --refresh`", "quota_stop_all_agents",
                         "tokenwarden:")


@scenario("budget_stop_running")
def s_budget_stop_running(ctx):
    """A block budget with stop_running goes over while a main agent and a background subagent loop: after `tw ingest` tw-stop stops both."""
    with ctx.sandbox(quota=True) as sb:  # quota=True for TOKENWARDEN_NO_DAEMON: only the test ingests
        sb.refresh_quota(five_hour=10, seven_day=20)
        # 20,000 tokens: the prompt (nothing spent yet) and the spawn (estimate 1,000) pass; the first few
        # requests (each 11k-36k tokens, see standin.make_usage) put it over once ingested.
        sb.project_config({"spawn_estimate": 1000,
                           "budgets": [{"name": "runaway", "window": "day", "tokens": 20000, "enforcement": "block",
                                        "stop_running": True}]})

        def flip():
            sb.run_tw("ingest")
            doc = json.loads(sb.run_tw("budget", "--json").stdout)
            b = [x for x in doc.get("budgets", []) if x.get("name") == "runaway"]
            check(b and b[0].get("level") == "critical",
                  f"budget runaway is not over its block threshold after `tw ingest`: {json.dumps(doc)[:600]}")
        _stop_all_agents(ctx, sb, flip, "budget runaway (stop_running) over its limit by `tw ingest`", None,
                         "tokenwarden:")


@scenario("budget_stop_running_daemon")
def s_budget_stop_running_daemon(ctx):
    """No test action: the usage watchdog (started by the hooks, fast test intervals) ingests while two agents loop, and the project's stop_running budget stops them."""
    _budget_stop_running_daemon(ctx, "project")


@scenario("budget_stop_running_daemon_user")
def s_budget_stop_running_daemon_user(ctx):
    """As budget_stop_running_daemon with the budget in the user config."""
    _budget_stop_running_daemon(ctx, "user")


def _budget_stop_running_daemon(ctx, where):
    with ctx.sandbox(quota=True, daemon=True) as sb:
        # The watchdog ingests every second and asks the usage stub every 5 s (so the quota stays fresh at 10 %).
        sb.extra_env = {"TOKENWARDEN_TEST_INTERVALS": "check=5,ingest=1,tick_ms=200"}
        sb.refresh_quota(five_hour=10, seven_day=20)
        # 100,000 tokens: the prompt and the spawn (estimate 1,000) pass; 4-8 requests put it over.
        (sb.project_config if where == "project" else sb.user_config)(
            {"spawn_estimate": 1000, "budgets": [{"name": "runaway", "window": "day", "tokens": 100000,
                                                  "enforcement": "block", "stop_running": True}]})
        try:
            proc = sb.start_print("[[mock:loop_main]] start a background worker, then loop", "run")
            r = sb.wait_print(proc, 90)
        finally:
            sb.run_tw("daemon", "status", check=False)
            sb.run_tw("daemon", "stop", check=False)
            for name in ("daemon.log", "guard.json"):
                path = os.path.join(os.path.dirname(sb.db), name)
                if os.path.exists(path):
                    shutil.copy2(path, os.path.join(sb.artifacts, name))
            sb.run_tw("budget", "--json", check=False)  # with the project config, for comparison (tw_calls.log)
        res = sb.result_json(r)
        wait_hooks_settled(sb)
        m = loop_markers(sb)
        ran = {who: len(m["started"][who]) for who in ("main", "sub")}
        spent = db_rows(sb, "SELECT COALESCE(SUM(input_tokens + output_tokens + cache_5m_tokens + cache_1h_tokens + "
                            "cache_read_tokens), 0) AS t FROM usage_records")[0]["t"]
        e2e.log(f"loop steps run {ran} of {standin.LOOP_STEPS}; {spent:.0f} tokens ingested; "
                f"terminal_reason {res.get('terminal_reason')!r}")
        check(spent > 0, "the watchdog ingested nothing (is it running? see daemon.log / tw_calls.log)")
        check(ran["main"] < standin.LOOP_STEPS and ran["sub"] < standin.LOOP_STEPS,
              f"the loops ran to the end ({ran}) although budget runaway went over ({spent:.0f} of 100,000 tokens "
              "ingested by the watchdog): nothing stopped them")
        check("runaway" in json.dumps(res) or guard_events(sb, "session_stopped"),
              f"the run did not end on budget runaway: {json.dumps(res)[:800]}")


@scenario("stop_all_agents_switch")
def s_stop_all_agents_switch(ctx):
    """The CLI mechanism quota_stop_all_agents relies on, from the test switch: PreToolUse deny+continue:false and a UserPromptSubmit block stop a main agent and its background subagent."""
    with ctx.sandbox() as sb:
        sb.set_decisions({})  # present from the start (TW_TEST_DECISIONS is in claude's env), acting after the flip
        reason = "TW_TEST stop all"

        def flip():
            sb.set_decisions({
                "PreToolUse": {"permissionDecision": "deny", "reason": reason, "continue": False, "stopReason": reason},
                # the background agent's <task-notification> re-enters as a prompt: block it too
                "UserPromptSubmit": {"decision": "block", "reason": reason},
            })
        _stop_all_agents(ctx, sb, flip, "TW_TEST_DECISIONS: PreToolUse deny + continue:false, UserPromptSubmit block",
                         None, reason)


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--cli-version", default=os.environ.get("TW_E2E_CLI_VERSION") or e2e.pinned_version())
    ap.add_argument("--bin-dir", default=os.environ.get("TW_E2E_BIN_DIR"), help="directory of the hook binaries")
    ap.add_argument("--tw", default=os.environ.get("TW_E2E_TW"), help="path of the tw binary")
    ap.add_argument("--artifacts", default=os.environ.get("TW_E2E_ARTIFACTS") or os.path.join(os.getcwd(), "artifacts"))
    ap.add_argument("--keep", action="store_true", help="keep the sandbox (HOME, project, DB) in /tmp")
    ap.add_argument("--install-only", action="store_true", help="install the CLI into the cache and exit")
    ap.add_argument("--save-fixtures", action="store_true",
                    help="scenarios that record what the CLI did also write it to tests/fixtures/e2e/")
    args = ap.parse_args(argv)
    if args.list:
        for n, s in SCENARIOS.items():
            print(f"{n:34} {'[xfail] ' if s['xfail'] else ''}{s['doc']}")
        return 0
    try:
        if args.install_only:
            print(e2e.install_cli(args.cli_version))
            return 0
        if not args.bin_dir or not args.tw:
            ap.error("--bin-dir and --tw are required (or TW_E2E_BIN_DIR / TW_E2E_TW)")
        args.bin_dir = os.path.abspath(args.bin_dir)
        args.tw = os.path.abspath(args.tw)
        names = args.scenarios or list(SCENARIOS)
        unknown = [n for n in names if n not in SCENARIOS]
        if unknown:
            ap.error(f"unknown scenario(s) {unknown}; see --list")
        failed = 0
        for n in names:
            failed += run_one(args, n)
        return 1 if failed else 0
    except e2e.Skip as e:
        print(f"SKIPPED: {e}")
        sys.stderr.write(f"SKIPPED: {e}\n")
        return e2e.SKIP_RC


def run_one(args, name) -> int:
    s = SCENARIOS[name]
    t0 = time.time()
    ctx = Ctx(args, name)  # may raise Skip
    print(f"=== {name} (Claude Code {args.cli_version}; artifacts: {ctx.artifacts})", flush=True)
    try:
        s["fn"](ctx)
    except e2e.Skip:
        raise
    except Exception as e:  # noqa: BLE001
        msg = f"{type(e).__name__}: {e}" if not isinstance(e, Failure) else str(e)
        if s["xfail"] and isinstance(e, ExpectedFailure):
            print(f"XFAIL: {name}: expected failure ({s['xfail']}): {msg}")
            return 0
        if not isinstance(e, Failure):
            traceback.print_exc()
        print(f"FAILED: {name} after {time.time() - t0:.1f}s: {msg}")
        return 1
    if s["xfail"]:
        print(f"XPASS: {name} passed although marked xfail ({s['xfail']}): remove the xfail mark")
        return 1
    print(f"PASSED: {name} in {time.time() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
