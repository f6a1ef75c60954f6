#!/usr/bin/env python3
"""Builds installer/demo/ (the session `tw demo` replays) from the real payloads the e2e engineer captured from
Claude Code 2.1.330 (tests/fixtures/hooks, statusline, transcripts). Developer tool: run it again after the
fixtures change; `tw demo` and the installer only read its output.

One coherent session: a slash command that uses a skill and a Bash call, a turn that spawns a background and a
foreground subagent (each running Bash), the background agent's task notification, statusline inputs, and the
session's end. Payloads from different captured runs are given the ids of the one run whose transcripts ship
with the demo, so spawns link to their agents (tool_response.agentId and the agents' .meta.json toolUseId).
Paths become @DEMO@/..., replaced by tw demo with its throwaway directory.
"""
import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OUT = pathlib.Path(__file__).resolve().parent

SESSION = "554f9e50-2548-4f9e-a4c6-c695fb344bf8"  # the run whose transcripts we ship
P_REVIEW = "3edd6cbe-a36d-4933-b7c6-962bb8600c2e"
P_DELEGATE = "9199f0b0-43f4-4e61-a4a4-ae5a721e1452"
P_NOTIFY = "b97c2bcc-a03f-4026-8440-560115a7e60f"
BG, BG_TOOL = "a1e1e5a16b947c48b", "toolu_e2e_d704412d_0001_1"
FG, FG_TOOL = "ad70cd2e10728598d", "toolu_e2e_d704412d_0003_1"

# Every id and path the captured runs used, mapped onto the demo session's.
REWRITE = [
    ("/tmp/claude-0/-home-dev-proj", "@DEMO@/tmp/-demo-project"),
    ("/home/dev/.claude/projects/-home-dev-proj", "@DEMO@/claude/projects/-demo-project"),
    ("/home/dev/proj", "@DEMO@/project"),
    ("[[mock:sub]] Please run `echo from-sub` and report.", "List every caller of parse_header() in src/ and report file:line."),
    ("Run echo in background", "Find parse_header callers"),
    ("Run echo in foreground", "Check parse_header tests"),
    ("echo from-sub", "grep -rn parse_header src/"),
    ("tw-e2e-skill", "review-checklist"),
]
IDS = {
    # sessions of other captured runs
    "a37c9120-e3bf-4fdd-92c5-e331b96858dd": SESSION, "f5167487-c7f4-4993-a900-78f578260e6f": SESSION,
    "80fb818e-b71b-4101-a6c0-b5b25a92dc3e": SESSION, "1b3c68bb-9a29-4b0e-8d88-772086c88337": SESSION,
    "ff400e66-a1ec-4ccb-82a4-4b7706ea1f7d": SESSION, "ba71bccc-d127-441e-824f-1c315f227577": SESSION,
    # agents and their spawning tool calls
    "a86cbf91876aac22d": BG, "toolu_e2e_d3bad657_0001_1": BG_TOOL,
    "aac145733dc113d73": FG, "toolu_e2e_9daeb017_0001_1": FG_TOOL,
}


def payload(name, prompt_id=None, agent=None, **fields):
    text = json.dumps(json.loads((FIXTURES / name).read_text())["payload"])
    for old, new in REWRITE:
        text = text.replace(old, new)
    for old, new in IDS.items():
        text = text.replace(old, new)
    doc = json.loads(text)
    if prompt_id:
        old = doc.get("prompt_id")
        doc["prompt_id"] = prompt_id
        if old:  # the task notification names its own prompt in nothing else
            doc = json.loads(json.dumps(doc).replace(old, prompt_id))
    if agent:
        doc["agent_id"] = agent
    doc.update(fields)
    return doc


def main():
    steps = []

    def step(hook, doc, after_ms=30):
        steps.append({"hook": hook, "after_ms": after_ms, "payload": doc})

    def pre_tool(name, prompt_id, agent=None, after_ms=30, **fields):
        doc = payload(name, prompt_id, agent, **fields)
        if doc["tool_name"] in ("Agent", "Task", "Skill"):
            step("tw-pre-spawn", doc, after_ms)  # matcher Agent|Task|Skill
        step("tw-stop", doc, 5)                  # matcher * (every tool): records nothing, must stay fast

    step("tw-command-start", payload("hooks/SessionStart.startup.json", model="claude-opus-5-5"))
    step("tw-statusline", payload("statusline/first.json", P_REVIEW))
    # Turn 1: a slash command that loads a skill and runs a command.
    step("tw-command-start", payload("hooks/UserPromptSubmit.slash_command.json", P_REVIEW, prompt="/review src/parser.cpp"), 120)
    step("tw-command-start", payload("hooks/UserPromptExpansion.json", P_REVIEW, prompt="/review src/parser.cpp",
                                     command_args="src/parser.cpp"), 10)
    pre_tool("hooks/PreToolUse.Skill.json", P_REVIEW, after_ms=350)
    step("tw-post-task", payload("hooks/PostToolUse.Skill.json", P_REVIEW), 40)
    pre_tool("hooks/PreToolUse.Bash.json", P_REVIEW, after_ms=400,
             tool_input={"command": "git diff --stat src/parser.cpp", "description": "Show the change"})
    step("tw-command-end", payload("hooks/Stop.json", P_REVIEW), 900)
    # Turn 2: one subagent in the background, one in the foreground.
    step("tw-command-start", payload("hooks/UserPromptSubmit.json", P_DELEGATE,
                                     prompt="Who calls parse_header()? Search in the background and check the tests meanwhile."), 1500)
    pre_tool("hooks/PreToolUse.Agent.bg.json", P_DELEGATE, after_ms=600)
    step("tw-post-task", payload("hooks/PostToolUse.Agent.bg.json", P_DELEGATE), 30)
    step("tw-post-task", payload("hooks/SubagentStart.bg.json", P_DELEGATE), 10)
    pre_tool("hooks/PreToolUse.Bash.in_subagent.json", P_DELEGATE, BG, after_ms=300)
    pre_tool("hooks/PreToolUse.Agent.fg.json", P_DELEGATE, after_ms=200)
    step("tw-post-task", payload("hooks/SubagentStart.fg.json", P_DELEGATE), 10)
    pre_tool("hooks/PreToolUse.Bash.in_subagent.json", P_DELEGATE, FG, after_ms=300)
    step("tw-post-task", payload("hooks/SubagentStop.bg.json", P_DELEGATE), 500)
    step("tw-post-task", payload("hooks/SubagentStop.fg.json", P_DELEGATE), 300)
    step("tw-post-task", payload("hooks/PostToolUse.Agent.fg.json", P_DELEGATE), 10)
    step("tw-command-end", payload("hooks/Stop.json", P_DELEGATE), 700)
    # Turn 3: the background agent reports back.
    step("tw-command-start", payload("hooks/UserPromptSubmit.task_notification.json", P_NOTIFY), 400)
    step("tw-command-end", payload("hooks/Stop.after_task_notification.json", P_NOTIFY), 800)
    step("tw-statusline", payload("statusline/last.json", P_NOTIFY), 50)
    step("tw-stop", payload("hooks/SessionEnd.other.json", P_NOTIFY), 200)

    with open(OUT / "session.jsonl", "w") as out:
        for s in steps:
            out.write(json.dumps(s, ensure_ascii=False) + "\n")

    # The transcripts of the run the ids come from (the agents' .meta.json link spawns to agents).
    src = FIXTURES / "transcripts"
    dst = OUT / "claude" / "projects" / "-demo-project"
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    shutil.copy(src / f"{SESSION}.jsonl", dst)
    shutil.copytree(src / SESSION, dst / SESSION)
    print(f"wrote {len(steps)} steps to {OUT / 'session.jsonl'} and the transcripts to {dst}")


if __name__ == "__main__":
    main()
