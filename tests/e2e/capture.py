#!/usr/bin/env python3
"""Re-captures tests/fixtures/ from the pinned (or a given) Claude Code CLI.

Runs scripted scenarios against the stand-in with the recorder hook on every event (and the
recorder statusline in the interactive run), then writes, with home/project paths rewritten
to /home/dev and /home/dev/proj:
  tests/fixtures/hooks/<Event>[.<variant>].json   {"from": scenario, "payload": <exact stdin>}
  tests/fixtures/hooks/_hook_env.json             env a hook process saw
  tests/fixtures/hooks/_subagent_meta_at_start.json  did agent-<id>.meta.json exist at SubagentStart
  tests/fixtures/hooks/_order.<scenario>.json     event order of each scenario
  tests/fixtures/statusline/{first,last}.json     statusline stdin (interactive run)
  tests/fixtures/transcripts/                     transcripts + meta.json of the fg+bg run
  tests/fixtures/api/                             selected request bodies (trimmed)
No tokenwarden binaries are involved. Usage:
  capture.py [--cli-version V] [--out DIR] [--artifacts DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e  # noqa: E402

# (scenario, [prompt, ...]); a prompt "RESUME:<text>" continues the previous session with --resume.
PRINT_SCENARIOS = [
    ("print_bash", ["[[mock:bash]] please run echo hi"]),
    ("print_bash_fail", ["[[mock:bash_fail]] run a failing command"]),
    ("print_agent_fg", ["[[mock:agent_fg]] delegate in the foreground"]),
    ("print_agent_bg", ["[[mock:agent_bg]] delegate in the background"]),
    ("print_agent_both", ["[[mock:agent_both]] delegate twice"]),
    ("print_agent_fail", ["[[mock:agent_bad]] spawn an unknown agent type"]),
    ("print_skill", ["[[mock:skill]] use the e2e skill"]),
    ("print_command", ["/review foo"]),
    ("print_resume", ["[[mock:text]] first prompt", "RESUME:[[mock:bash]] second prompt, resumed"]),
    ("print_stopfailure", ["[[mock:error401]] this request fails"]),
]
# StopFailure is fire-and-forget: `claude -p` may exit before the hook process is even started,
# so that scenario is retried until the recorder saw the event.
REQUIRED = {"print_stopfailure": "StopFailure"}


class Rewriter:
    """Rewrites sandbox paths to the /home/dev, /home/dev/proj convention of the samples."""

    def __init__(self, sb: e2e.Sandbox):
        self.pairs = [
            (e2e.project_key(sb.home), "-home-dev"),
            (e2e.project_key(sb.root), "-tmp"),
            (sb.home, "/home/dev"),
            (sb.root, "/tmp"),
        ]

    def text(self, s: str) -> str:
        for a, b in self.pairs:
            s = s.replace(a, b)
        return s

    def obj(self, o):
        return json.loads(self.text(json.dumps(o)))


def variant_name(rec, scenario, bg_agents: set, notif_prompts: set) -> str:
    p = rec["payload"]
    ev = p.get("hook_event_name") or rec["event"]
    parts = [ev]
    tool = p.get("tool_name")
    if tool:
        parts.append(tool)
        if tool == "Agent":
            rib = (p.get("tool_input") or {}).get("run_in_background")
            parts.append({True: "bg", False: "fg"}.get(rib, "default"))
    if ev == "SessionStart":
        parts.append(p.get("source", "unknown"))
    if ev == "SessionEnd":
        parts.append(p.get("reason", "unknown"))
    if ev == "StopFailure":
        parts.append(p.get("error", "unknown"))
    if ev in ("PreCompact", "PostCompact"):
        parts.append(p.get("trigger", "unknown"))
    if ev == "SubagentStop" and p.get("agent_type") == "":
        parts.append("compact")  # the compaction agent: no SubagentStart, no type
    elif ev in ("SubagentStart", "SubagentStop"):
        parts.append("bg" if p.get("agent_id") in bg_agents else "fg")
    if ev == "UserPromptSubmit":
        pr = p.get("prompt", "")
        if pr.startswith("<task-notification>"):
            parts.append("task_notification")
        elif pr.startswith("/"):
            parts.append("slash_command")
    if ev == "Stop" and p.get("prompt_id") in notif_prompts:
        parts.append("after_task_notification")
    if p.get("agent_id") and ev not in ("SubagentStart", "SubagentStop"):
        parts.append("in_subagent")
    if scenario.startswith("tui_") and ev not in ("statusline",):
        parts.append("tui")
    return ".".join(parts)


def run_print_scenario(claude, art_root, keep, name, prompts):
    sb = e2e.Sandbox(claude, os.path.join(art_root, name), keep=keep)
    try:
        session = None
        for i, prompt in enumerate(prompts):
            extra = []
            if prompt.startswith("RESUME:"):
                prompt = prompt[len("RESUME:"):]
                extra = ["--resume", session]
            r = sb.run_print(prompt, f"{name}.{i}", extra_args=extra)
            try:
                session = sb.result_json(r).get("session_id") or session
            except e2e.Failure:
                pass
    finally:
        sb.close()
    return sb


def run_print_scenarios(claude, art_root, keep):
    results = []
    for name, prompts in PRINT_SCENARIOS:
        for attempt in range(3):
            sb = run_print_scenario(claude, art_root, keep, name, prompts)
            need = REQUIRED.get(name)
            if not need or any(h["event"] == need for h in e2e.read_jsonl(sb.record_path)):
                break
            e2e.log(f"{name}: no {need} recorded (attempt {attempt + 1}), retrying")
        results.append((name, sb, Rewriter(sb)))
    return results


def run_tui_scenario(claude, art_root, keep):
    name = "tui_statusline"
    sb = e2e.Sandbox(claude, os.path.join(art_root, name), keep=keep, record_statusline=True)
    try:
        sb.start_tui(tui_permission_args())
        sb.wait_screen(lambda s: "TW_E2E_RECORDER_STATUS" in s, 60, "recorder statusline")
        sb.save_screen("start")
        # StopFailure is fire-and-forget: `claude -p` often exits before the hook runs, the TUI does not.
        for prompt, done in (("[[mock:bash]] please run echo hi", "MOCK_FINAL: the command printed hi"),
                             ("[[mock:agent_fg]] delegate in the foreground", "MOCK_FINAL: background subagent"),
                             ("[[mock:error401]] this request fails", "TW_E2E scripted auth failure")):
            sb.send(prompt, literal=True)
            sb.send("Enter")
            sb.wait_screen(lambda s: done in s, 60, done)
            sb.wait_idle()
            sb.save_screen("step")
        sb.save_screen("before_exit")
        sb.exit_tui()
    finally:
        sb.close()
    return (name, sb, Rewriter(sb))


def run_tui_compact_scenario(claude, art_root, keep):
    """Interactive: a tool call that asks for permission (PermissionRequest, approved with Enter), then
    `/compact` (PreCompact, the compaction request, PostCompact, SessionStart with source compact)."""
    name = "tui_compact"
    sb = e2e.Sandbox(claude, os.path.join(art_root, name), keep=keep)
    try:
        sb.start_tui(tui_permission_args())
        sb.wait_screen(lambda s: "❯" in s, 60, "prompt box")
        sb.send("[[mock:write]] write a file", literal=True)
        sb.send("Enter")
        e2e.wait_for(lambda: any(h["event"] == "PermissionRequest" for h in sb.hooks()), 60, what="PermissionRequest")
        time.sleep(1.0)
        sb.save_screen("permission")
        sb.send("Enter")  # the dialog's first choice: yes
        sb.wait_screen(lambda s: "MOCK_FINAL: the file was written" in s, 60, "the Write turn's answer")
        sb.wait_idle()
        sb.send("/compact", literal=True)
        time.sleep(0.3)
        sb.send("Enter")
        e2e.wait_for(lambda: any(h["event"] == "PostCompact" for h in sb.hooks()), 90, what="PostCompact")
        sb.wait_idle()
        sb.save_screen("compacted")
        sb.exit_tui()
    finally:
        sb.close()
    return (name, sb, Rewriter(sb))


def tui_permission_args():
    """Interactive 2.1.330 defaults to auto mode, whose server-side safety check cannot pass
    through a non-Anthropic base URL; use the plain prompt-for-permission mode instead."""
    return ["--permission-mode", os.environ.get("TW_E2E_TUI_PERMISSION_MODE", "default")]


def redact(key, value):
    """Per-process tokens (e.g. CLAUDE_CODE_MESSAGING_TOKEN) are not kept, even from a throwaway run."""
    return "<redacted>" if any(w in key for w in ("TOKEN", "KEY", "SECRET", "PASSWORD")) and "TOKENWARDEN" not in key else value


def write(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def trim_body(body, limit=1500):
    """Request bodies are ~100 KB of system prompt and tool schemas; keep the shape, cut long strings."""
    def cut(o):
        if isinstance(o, str):
            return o if len(o) <= limit else o[:limit] + f"... [{len(o)} chars, trimmed by capture.py]"
        if isinstance(o, list):
            return [cut(x) for x in o]
        if isinstance(o, dict):
            return {k: cut(v) for k, v in o.items()}
        return o
    b = dict(body)
    if "tools" in b:
        b["tools"] = [{"name": t.get("name"), "input_schema": t.get("input_schema") if t.get("name") in
                       ("Agent", "Skill", "Bash") else "[trimmed]"} for t in b["tools"]]
    return cut(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli-version", default=os.environ.get("TW_E2E_CLI_VERSION") or e2e.pinned_version())
    ap.add_argument("--out", default=os.path.join(e2e.REPO, "tests", "fixtures"))
    ap.add_argument("--artifacts", default=os.path.join(e2e.REPO, "build-e2e", "tests", "e2e", "artifacts", "capture"))
    ap.add_argument("--keep", action="store_true", help="keep the sandboxes in /tmp")
    args = ap.parse_args()
    claude = e2e.install_cli(args.cli_version)
    runs = run_print_scenarios(claude, args.artifacts, args.keep)
    runs.append(run_tui_scenario(claude, args.artifacts, args.keep))
    runs.append(run_tui_compact_scenario(claude, args.artifacts, args.keep))

    out = args.out
    hooks_dir = os.path.join(out, "hooks")
    shutil.rmtree(hooks_dir, ignore_errors=True)
    chosen: dict[str, dict] = {}
    meta_at_start = []
    env_sample = None
    statuslines = []
    for name, sb, rw in runs:
        recs = e2e.read_jsonl(sb.record_path)
        # an agent is "bg" when its spawn returned async_launched (interactive 2.1.330 backgrounds
        # every agent: its Agent tool has no run_in_background parameter)
        bg_agents = {((r["payload"].get("tool_response") or {}).get("agentId")) for r in recs
                     if r["payload"].get("tool_name") == "Agent" and r["event"] == "PostToolUse"
                     and (r["payload"].get("tool_response") or {}).get("status") == "async_launched"}
        notif = {r["payload"].get("prompt_id") for r in recs if r["event"] == "UserPromptSubmit"
                 and r["payload"].get("prompt", "").startswith("<task-notification>")}
        order = []
        for r in recs:
            if r["event"] == "statusline":
                statuslines.append(rw.obj(r["payload"]))
                continue
            p = r["payload"]
            v = variant_name(r, name, bg_agents, notif)
            order.append({"event": r["event"], "variant": v, "tool_name": p.get("tool_name"),
                          "agent_id": p.get("agent_id"), "prompt_id": p.get("prompt_id")})
            chosen.setdefault(v, {"from": name, "payload": rw.obj(p)})
            if r["event"] == "SubagentStart":
                meta_at_start.append(rw.obj({k: r.get(k) for k in ("meta_json_path", "meta_json_exists", "meta_json",
                                                                   "agent_transcript_exists")} | {"from": name}))
            if env_sample is None and r["event"] == "PreToolUse":
                env_sample = {"from": name, "env": rw.obj({k: redact(k, v2) for k, v2 in r["env"].items()
                                                          if not k.startswith("TW_E2E")}), "cwd": rw.text(r["cwd"])}
        write(os.path.join(hooks_dir, f"_order.{name}.json"), {"from": name, "events": order})
    for v, obj in sorted(chosen.items()):
        write(os.path.join(hooks_dir, f"{v}.json"), obj)
    write(os.path.join(hooks_dir, "_hook_env.json"), env_sample)
    write(os.path.join(hooks_dir, "_subagent_meta_at_start.json"), meta_at_start)
    if statuslines:
        write(os.path.join(out, "statusline", "first.json"), {"from": "tui_statusline", "payload": statuslines[0]})
        write(os.path.join(out, "statusline", "last.json"), {"from": "tui_statusline", "payload": statuslines[-1]})

    # transcripts + meta.json of the fg+bg run
    tdir = os.path.join(out, "transcripts")
    shutil.rmtree(tdir, ignore_errors=True)
    os.makedirs(tdir)
    for name, sb, rw in runs:
        if name != "print_agent_both":
            continue
        proj_dir = os.path.join(sb.artifacts, "projects", e2e.project_key(sb.proj))
        for dirpath, _, files in os.walk(proj_dir):
            for fn in files:
                if fn.endswith(".jsonl") or fn.endswith(".meta.json"):
                    src = os.path.join(dirpath, fn)
                    rel = os.path.relpath(src, proj_dir)
                    dst = os.path.join(tdir, rel)
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    with open(src, encoding="utf-8") as f:
                        text = rw.text(f.read())
                    with open(dst, "w", encoding="utf-8") as f:
                        f.write(text)

    # a few request bodies, trimmed
    adir = os.path.join(out, "api")
    shutil.rmtree(adir, ignore_errors=True)
    for name, sb, rw in runs:
        reqs = e2e.read_jsonl(os.path.join(sb.artifacts, "requests.jsonl"))
        for q in reqs:
            label = None
            if name == "print_bash" and q["agent"] == "main":
                label = f"main_step{q['step']}"
            elif name == "print_agent_fg" and q["agent"] == "sub" and q["step"] == 0:
                label = "subagent_first"
            elif name == "print_agent_bg" and q["marker"] == "notification":
                label = "main_task_notification"
            elif name == "print_skill" and q["step"] == 1:
                label = "main_after_skill"
            elif name == "print_command":
                label = "main_slash_command"
            elif q["agent"] == "side":
                label = f"side_{name}"
            if label:
                write(os.path.join(adir, f"{label}.json"),
                      {"from": name, "path": q["path"], "agent": q["agent"],
                       "headers": {k: v for k, v in q["headers"].items() if k.lower() not in ("host",)},
                       "body": rw.obj(trim_body(q["body"]))})
    print(f"fixtures written to {out}; {len(chosen)} hook payload files")


if __name__ == "__main__":
    try:
        main()
    except e2e.Skip as e:
        print(f"SKIPPED: {e}")
        sys.exit(e2e.SKIP_RC)
