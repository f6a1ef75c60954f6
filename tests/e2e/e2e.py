"""Building blocks of the tokenwarden end-to-end suite (Python 3 standard library only).

- install_cli(version): the real Claude Code CLI from npm, cached outside the repo.
- Sandbox: throwaway HOME / CLAUDE_CONFIG_DIR / project, the stand-in Messages API, the
  settings that wire tokenwarden's hooks, `claude -p` runs (blocking, or started in the background with
  start_print/wait_print) and one tmux-driven interactive run; with quota=True also the usage-endpoint
  stub (tests/quota/usage_stub.py) and a fake Claude.ai login, refresh_quota(), project_config(),
  user_config() and run_tw() for the quota and budget scenarios.

driver.py holds the scenarios and the command line; this module holds no test logic.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "quota"))
import standin  # noqa: E402
import usage_stub  # noqa: E402

SKIP_RC = 77            # ctest SKIP_RETURN_CODE
DUMMY_KEY = "sk-ant-api03-" + "e2e" * 14 + "-tokenwardenAA"  # not a real key; never leaves loopback
# The OAuth token of the fake Claude.ai login (quota scenarios); only the usage stub on loopback sees it.
FAKE_OAUTH_TOKEN = "sk-ant-oat01-E2EQUOTATOKEN-" + "5e2e" * 6
# The CLI's own OAuth token when a scenario plays a Claude.ai subscriber (CLAUDE_CODE_OAUTH_TOKEN, no API key):
# only the stand-in sees it.
FAKE_CLI_OAUTH_TOKEN = "sk-ant-oat01-E2ESUBSCRIBER-" + "c1e2" * 6
NPM_PACKAGE = "@anthropic-ai/claude-code"

# Every hook event the pinned CLI knows (claude-code-protocol.md 1.2); the recorder gets all of them.
ALL_EVENTS = [
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Notification", "UserPromptSubmit",
    "UserPromptExpansion", "SessionStart", "SessionEnd", "Stop", "StopFailure", "SubagentStart", "SubagentStop",
    "PreCompact", "PostCompact", "PermissionRequest", "PermissionDenied", "TaskCreated", "TaskCompleted",
    "InstructionsLoaded", "CwdChanged", "MessageDisplay",
]
TOOL_EVENTS = {"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied"}


class Skip(Exception):
    """The suite cannot run here (e.g. npm registry unreachable): report SKIPPED, not FAILED."""


class Failure(AssertionError):
    pass


def log(msg):
    sys.stderr.write(f"[e2e {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- CLI install

def pinned_version() -> str:
    with open(os.path.join(HERE, "CLI_VERSION"), encoding="utf-8") as f:
        return f.read().strip()


def cache_root() -> str:
    return os.environ.get("TW_E2E_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "tokenwarden-e2e")


def _registry_reachable(timeout=10.0) -> tuple[bool, str]:
    reg = os.environ.get("npm_config_registry") or "https://registry.npmjs.org/"
    try:
        out = subprocess.run(["npm", "config", "get", "registry"], capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip().startswith("http"):
            reg = out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    url = reg.rstrip("/") + "/" + NPM_PACKAGE.replace("/", "%2F")
    try:
        req = urllib.request.Request(url, method="HEAD")
        urllib.request.urlopen(req, timeout=timeout).close()
        return True, reg
    except urllib.error.HTTPError as e:  # the registry answered: reachable
        return e.code < 500, f"{reg} answered HTTP {e.code}"
    except (urllib.error.URLError, OSError) as e:
        return False, f"{reg} unreachable: {e}"


def install_cli(version: str) -> str:
    """Returns the path of the `claude` executable for `version`, installing it when missing.

    Installs with `npm install --prefix <cache>/claude-code-<version>` into a temporary folder
    that is renamed when complete, so an interrupted install is never reused. Raises Skip when
    npm or the registry is unavailable, Failure when the install itself fails.
    """
    dest = os.path.join(cache_root(), f"claude-code-{version}")
    exe = _working_exe(dest, version)
    if exe:
        return exe
    os.makedirs(cache_root(), exist_ok=True)
    # ctest -j runs scenarios in parallel: one installs, the others wait for it.
    with open(os.path.join(cache_root(), f".install-{version}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        exe = _working_exe(dest, version)
        if exe:
            return exe
        return _install_locked(version, dest)


def _working_exe(dest, version) -> str | None:
    """node_modules/.bin/claude, or the platform package's native binary itself when the
    postinstall step that copies it over the wrapper did not run (npm --ignore-scripts)."""
    nm = os.path.join(dest, "node_modules")
    candidates = [os.path.join(nm, ".bin", "claude")]
    scope = os.path.join(nm, "@anthropic-ai")
    if os.path.isdir(scope):
        candidates += sorted(os.path.join(scope, d, "claude") for d in os.listdir(scope)
                             if d.startswith("claude-code-"))
    for exe in candidates:
        if os.path.exists(exe) and _cli_works(exe, version):
            return exe
    return None


def _install_locked(version, dest) -> str:
    if shutil.which("npm") is None:
        raise Failure("npm is not installed: cannot install the Claude Code CLI")
    ok, why = _registry_reachable()
    if not ok:
        raise Skip(f"npm registry not reachable ({why}); cannot install {NPM_PACKAGE}@{version}")
    tmp = tempfile.mkdtemp(prefix=f"claude-code-{version}.", dir=cache_root())
    log(f"installing {NPM_PACKAGE}@{version} into {dest} (npm, ~250 MB)")
    t0 = time.time()
    r = subprocess.run(["npm", "install", "--prefix", tmp, "--no-audit", "--no-fund", "--loglevel=error",
                        "--include=optional", f"{NPM_PACKAGE}@{version}"], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        text = r.stdout + r.stderr
        if re.search(r"ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ECONNRESET|network", text):
            raise Skip(f"npm could not reach the registry: {text.strip()[-400:]}")
        raise Failure(f"npm install {NPM_PACKAGE}@{version} failed:\n{text[-2000:]}")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    log(f"installed in {time.time() - t0:.0f}s")
    exe = _working_exe(dest, version)
    if not exe:
        raise Failure(f"{NPM_PACKAGE}@{version} installed in {dest}, but no `claude` there runs as version {version}")
    return exe


def _cli_works(exe, version) -> bool:
    try:
        r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60,
                           env={"PATH": os.environ.get("PATH", ""), "HOME": tempfile.gettempdir(),
                                "DISABLE_AUTOUPDATER": "1"})
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and r.stdout.strip().startswith(version)


# ---------------------------------------------------------------- settings

def tokenwarden_settings(bin_dir: str) -> dict:
    """The settings the installer writes into the user's settings.json: hooks + statusline.

    For now generated from settings-templates/*.json with @BIN@ replaced by the build's bin
    directory. When `tw settings install` exists, replace the body of this one function with a
    call to it (against the sandbox's CLAUDE_CONFIG_DIR) and read the file it wrote.
    """
    merged: dict = {}
    for name in ("hooks.json", "statusline.json"):
        with open(os.path.join(REPO, "settings-templates", name), encoding="utf-8") as f:
            text = f.read().replace("@BIN@", bin_dir)
        merged.update(json.loads(text))
    return merged


def install_tokenwarden_settings(sb: "Sandbox") -> str:
    """Wires tokenwarden into the sandbox's user settings ($CLAUDE_CONFIG_DIR/settings.json) the way a
    user does: `tw settings install --scope user` when this tw has it, else from the templates.
    TW_E2E_SETTINGS=template|tw forces one way. Returns which one was used."""
    path = os.path.join(sb.config, "settings.json")
    mode = os.environ.get("TW_E2E_SETTINGS", "auto")
    if mode != "template" and sb.tw and os.path.exists(sb.tw):
        probe = subprocess.run([sb.tw, "settings", "install", "--help"], capture_output=True, text=True,
                               timeout=30, env=sb.env(), cwd=sb.proj)
        if probe.returncode == 0:
            r = subprocess.run([sb.tw, "settings", "install", "--scope", "user", "--file", path,
                                "--bin-dir", sb.bin_dir], capture_output=True, text=True, timeout=60,
                               env=sb.env(), cwd=sb.proj)
            with open(os.path.join(sb.artifacts, "tw_settings_install.txt"), "w") as f:
                f.write(f"rc={r.returncode}\n{r.stdout}\n{r.stderr}")
            if r.returncode != 0 or not os.path.exists(path):
                raise Failure(f"`tw settings install` failed (rc={r.returncode}): {r.stderr.strip()[:800]}")
            return "tw settings install"
        if mode == "tw":
            raise Failure(f"TW_E2E_SETTINGS=tw but `{sb.tw} settings install` does not exist")
    Sandbox.write_json(path, tokenwarden_settings(sb.bin_dir))
    return "settings-templates"


def recorder_settings(record_statusline: bool) -> dict:
    """Flag settings that add the recorder hook to every event (merged with the user's hooks)."""
    cmd = f"{sys.executable} {os.path.join(HERE, 'recorder.py')}"
    hooks = {}
    for ev in ALL_EVENTS:
        group = {"hooks": [{"type": "command", "command": cmd, "timeout": 10}]}
        if ev in TOOL_EVENTS:
            group["matcher"] = "*"
        hooks[ev] = [group]
    s = {"hooks": hooks}
    if record_statusline:
        s["statusLine"] = {"type": "command", "command": cmd + " --statusline", "padding": 0}
    return s


# ---------------------------------------------------------------- path rewriting for fixtures

def project_key(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", path)


# ---------------------------------------------------------------- sandbox

class Sandbox:
    """One throwaway Claude Code world: HOME, CLAUDE_CONFIG_DIR, a project, a stand-in, a DB.

    Layout: <root>/home (HOME), <root>/home/.claude (CLAUDE_CONFIG_DIR), <root>/home/proj
    (project, cwd), <root>/tw.db (TOKENWARDEN_DB). Artifacts (request/usage logs, recorded
    hook payloads, stdout, screens) go to `artifacts`, which survives cleanup.
    """

    def __init__(self, claude: str, artifacts: str, bin_dir: str | None = None, tw: str | None = None,
                 record: bool = True, record_statusline: bool = False, keep: bool = False,
                 quota: bool = False, daemon: bool = False):
        """quota=True: a usage-endpoint stub (tests/quota/usage_stub.py) on loopback and a fake Claude.ai
        login, both in the environment of claude, its hooks and `tw` (TOKENWARDEN_USAGE_URL,
        TOKENWARDEN_CREDENTIALS); unless daemon=True also TOKENWARDEN_NO_DAEMON=1, so the test drives every
        quota refresh itself."""
        self.claude = claude
        self.bin_dir = bin_dir
        self.tw = tw
        self.artifacts = os.path.abspath(artifacts)
        shutil.rmtree(self.artifacts, ignore_errors=True)
        os.makedirs(self.artifacts)
        self.root = tempfile.mkdtemp(prefix="twe2e")
        self.home = os.path.join(self.root, "home")
        self.config = os.path.join(self.home, ".claude")
        self.proj = os.path.join(self.home, "proj")
        self.db = os.path.join(self.root, "tw.db")
        self.decisions_path = os.path.join(self.root, "decisions.json")
        self.record_path = os.path.join(self.artifacts, "hooks.jsonl")
        self.keep = keep
        self.record = record
        self.record_statusline = record_statusline
        self.tmux_socket = None
        self.server = None
        self.usage_stub = None
        self.credentials = None
        self.no_daemon = quota and not daemon
        self.extra_env: dict = {}  # added to every environment env() builds (claude, hooks, daemon, tw)
        self.procs: list[subprocess.Popen] = []
        for d in (self.config, self.proj):
            os.makedirs(d)
        self.server, self.port = standin.serve(os.path.join(self.artifacts))
        self.standin = self.server.RequestHandlerClass.standin  # its extra_headers change what it answers
        if quota:
            self.usage_stub = usage_stub.serve(os.path.join(self.artifacts, "usage_endpoint.log"), FAKE_OAUTH_TOKEN)
            self.usage_stub.set_percent(five_hour=10, seven_day=20)
            self.credentials = os.path.join(self.root, "credentials.json")
            fd = os.open(self.credentials, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"claudeAiOauth": {"accessToken": FAKE_OAUTH_TOKEN,
                                             "refreshToken": "sk-ant-ort01-E2E-NEVER-USED",
                                             "expiresAt": int((time.time() + 86400) * 1000),
                                             "scopes": ["user:inference", "user:profile"],
                                             "subscriptionType": "max"}}, f)
        self._write_world()

    # -- world
    def _write_world(self):
        version = self.version()
        claude_json = {
            "hasCompletedOnboarding": True,
            "lastOnboardingVersion": version,
            "numStartups": 1,
            "theme": "dark",
            "autoUpdates": False,
            "hasSeenTasksHint": True,
            "customApiKeyResponses": {"approved": [DUMMY_KEY[-20:]], "rejected": []},
            "projects": {self.proj: {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True,
                                     "projectOnboardingSeenCount": 1, "allowedTools": []}},
        }
        self.write_json(os.path.join(self.config, ".claude.json"), claude_json)
        self.settings_source = None
        if self.bin_dir:
            self.settings_source = install_tokenwarden_settings(self)
        else:
            self.write_json(os.path.join(self.config, "settings.json"), {})
        if self.record:
            self.write_json(os.path.join(self.root, "recorder-settings.json"),
                            recorder_settings(self.record_statusline))
        skill = os.path.join(self.proj, ".claude", "skills", standin.SKILL_NAME)
        os.makedirs(skill)
        with open(os.path.join(skill, "SKILL.md"), "w", encoding="utf-8") as f:
            f.write(f"---\nname: {standin.SKILL_NAME}\ndescription: Test skill of the tokenwarden e2e suite. "
                    "Use when asked for the e2e skill.\n---\n\nTW_E2E_SKILL_BODY: say that the skill ran.\n")
        cmds = os.path.join(self.proj, ".claude", "commands")
        os.makedirs(cmds)
        with open(os.path.join(cmds, "review.md"), "w", encoding="utf-8") as f:
            f.write("---\ndescription: e2e review command\n---\n[[mock:text]] Review this: $ARGUMENTS\n")
        with open(os.path.join(cmds, "runbash.md"), "w", encoding="utf-8") as f:
            f.write("---\ndescription: e2e command that runs bash\n---\n[[mock:bash]] Run it: $ARGUMENTS\n")

    @staticmethod
    def write_json(path, obj):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2)

    def version(self) -> str:
        r = subprocess.run([self.claude, "--version"], capture_output=True, text=True, timeout=60,
                           env={"PATH": os.environ.get("PATH", ""), "HOME": self.home, "DISABLE_AUTOUPDATER": "1"})
        return r.stdout.split()[0] if r.stdout.strip() else "unknown"

    def set_decisions(self, decisions: dict | None):
        """Test-only hook decisions (TW_TEST_DECISIONS) for TW_TEST_HOOKS=ON builds."""
        if decisions is None:
            if os.path.exists(self.decisions_path):
                os.unlink(self.decisions_path)
        else:
            self.write_json(self.decisions_path, decisions)

    def env(self, extra: dict | None = None) -> dict:
        e = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home,
            "USER": os.environ.get("USER", "root"),
            "LANG": "C.UTF-8",
            "TERM": "xterm-256color",
            "SHELL": "/bin/bash",
            "TMPDIR": os.path.join(self.root),
            "CLAUDE_CONFIG_DIR": self.config,
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{self.port}",
            "ANTHROPIC_API_KEY": DUMMY_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
            "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
            # Anything that is not loopback goes to a dead proxy: the suite never touches the internet.
            "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
            "TOKENWARDEN_DB": self.db,
        }
        if self.usage_stub:
            e["TOKENWARDEN_USAGE_URL"] = self.usage_stub.url
            e["TOKENWARDEN_CREDENTIALS"] = self.credentials
        if self.no_daemon:
            e["TOKENWARDEN_NO_DAEMON"] = "1"
        if os.path.exists(self.decisions_path):
            e["TW_TEST_DECISIONS"] = self.decisions_path
        if self.record:
            e["TW_E2E_RECORD"] = self.record_path
        e.update(self.extra_env)
        e.update(extra or {})
        return {k: v for k, v in e.items() if v is not None}  # None in extra_env/extra removes a variable

    def claude_args(self, *more) -> list[str]:
        args = [self.claude, "--allowedTools", "Bash,Agent,Skill,Read"]
        if self.record:
            args += ["--settings", os.path.join(self.root, "recorder-settings.json")]
        return args + list(more)

    # -- runs
    def run_print(self, prompt: str, name: str, extra_args=(), timeout=120, env=None) -> subprocess.CompletedProcess:
        """`claude -p <prompt>` in the project; stdout/stderr saved as <name>.stdout/.stderr."""
        args = self.claude_args("-p", prompt, "--output-format", "json", *extra_args)
        t0 = time.time()
        r = subprocess.run(args, cwd=self.proj, env=self.env(env), capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        log(f"{name}: claude -p rc={r.returncode} in {time.time() - t0:.1f}s")
        with open(os.path.join(self.artifacts, f"{name}.stdout"), "w") as f:
            f.write(r.stdout)
        with open(os.path.join(self.artifacts, f"{name}.stderr"), "w") as f:
            f.write(r.stderr)
        return r

    @staticmethod
    def result_json(r) -> dict:
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise Failure(f"claude -p printed no JSON result: rc={r.returncode}\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}")

    def start_print(self, prompt: str, name: str, extra_args=(), env=None) -> subprocess.Popen:
        """`claude -p <prompt>` in the background (the test acts while it runs); finish with wait_print()."""
        args = self.claude_args("-p", prompt, "--output-format", "json", *extra_args)
        out = open(os.path.join(self.artifacts, f"{name}.stdout"), "w")
        err = open(os.path.join(self.artifacts, f"{name}.stderr"), "w")
        p = subprocess.Popen(args, cwd=self.proj, env=self.env(env), stdout=out, stderr=err, text=True,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        err.close()
        p.tw_name, p.tw_started = name, time.time()
        self.procs.append(p)
        log(f"{name}: claude -p started (pid {p.pid})")
        return p

    def wait_print(self, p: subprocess.Popen, timeout: float) -> subprocess.CompletedProcess:
        """Waits for a start_print() run; on timeout kills its process group and raises Failure."""
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(p)
            raise Failure(f"{p.tw_name}: claude -p still running after {timeout:.0f}s (killed)")
        log(f"{p.tw_name}: claude -p rc={rc} after {time.time() - p.tw_started:.1f}s")
        with open(os.path.join(self.artifacts, f"{p.tw_name}.stdout")) as f:
            stdout = f.read()
        with open(os.path.join(self.artifacts, f"{p.tw_name}.stderr")) as f:
            stderr = f.read()
        return subprocess.CompletedProcess(p.args, rc, stdout, stderr)

    # -- tokenwarden configuration and `tw`
    def project_config(self, obj: dict):
        """<project>/.tokenwarden.json"""
        self.write_json(os.path.join(self.proj, ".tokenwarden.json"), obj)
        shutil.copy2(os.path.join(self.proj, ".tokenwarden.json"), os.path.join(self.artifacts, "project.tokenwarden.json"))

    def user_config(self, obj: dict):
        """$HOME/.config/tokenwarden/config.json (XDG_CONFIG_HOME is not set in the sandbox)."""
        d = os.path.join(self.home, ".config", "tokenwarden")
        os.makedirs(d, exist_ok=True)
        self.write_json(os.path.join(d, "config.json"), obj)

    def run_tw(self, *args, env=None, timeout=60, check=True) -> subprocess.CompletedProcess:
        """`tw ARGS` with the sandbox's environment in the project; every call is logged to tw_calls.log."""
        if not self.tw:
            raise Failure("no tw binary given")
        t0 = time.time()
        r = subprocess.run([self.tw, *args], capture_output=True, text=True, timeout=timeout,
                           env=self.env(env), cwd=self.proj, stdin=subprocess.DEVNULL)
        with open(os.path.join(self.artifacts, "tw_calls.log"), "a") as f:
            f.write(f"$ tw {' '.join(args)}{'  (env ' + json.dumps(env) + ')' if env else ''}\n"
                    f"# rc={r.returncode} in {time.time() - t0:.2f}s at {time.strftime('%H:%M:%S')}\n"
                    f"{r.stdout}{('# stderr:' + chr(10) + r.stderr) if r.stderr else ''}\n")
        if check and r.returncode != 0:
            raise Failure(f"`tw {' '.join(args)}` exited {r.returncode}: {(r.stderr or r.stdout).strip()[:800]}")
        return r

    def refresh_quota(self, five_hour=None, seven_day=None) -> dict:
        """Makes the usage stub answer these utilizations, then `tw usage --refresh --json` (as the daemon
        would) so the store and guard.json have them. The refresh runs with TOKENWARDEN_TEST_INTERVALS=check=1:
        the endpoint is asked although the last ask was less than quota.check_interval ago (the hooks keep
        the configured interval, so the observation stays fresh for them). Returns `tw usage --json`."""
        if not self.usage_stub:
            raise Failure("refresh_quota needs Sandbox(quota=True)")
        self.usage_stub.set_percent(five_hour=five_hour, seven_day=seven_day)
        for attempt in range(3):
            r = self.run_tw("usage", "--refresh", "--json", env={"TOKENWARDEN_TEST_INTERVALS": "check=1"})
            try:
                doc = json.loads(r.stdout)
            except ValueError:
                raise Failure(f"`tw usage --refresh --json` printed no JSON: {r.stdout[:500]}")
            outcome = (doc.get("refresh") or {}).get("outcome")
            # The last ask was less than the 1 s test interval ago (a fast machine): ask again once it is due.
            if outcome != "not_due":
                break
            time.sleep(1.1)  # next_try_at is in whole seconds: wait the full test interval
        if outcome != "fetched":
            raise Failure(f"`tw usage --refresh` did not fetch (outcome {outcome!r}): {json.dumps(doc)[:800]}")
        return doc

    # -- tmux
    def tmux(self, *args, check=True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-S", self.tmux_socket, *args], capture_output=True, text=True,
                              timeout=30, check=check)

    def start_tui(self, extra_args=(), width=160, height=45):
        if shutil.which("tmux") is None:
            raise Failure("tmux is not installed (the interactive scenario needs it)")
        self.tmux_socket = os.path.join(self.root, "tmux.sock")  # private server, removed with the sandbox
        env = self.env()
        cmd = " ".join(_shq(a) for a in ["env", "-i"] + [f"{k}={v}" for k, v in env.items()]
                       + self.claude_args(*extra_args))
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "tw", "-x", str(width), "-y", str(height),
                  "-c", self.proj, cmd)
        self.screen_no = 0

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "tw", check=False).stdout

    def save_screen(self, label: str) -> str:
        s = self.screen()
        with open(os.path.join(self.artifacts, f"screen_{self.screen_no:02d}_{label}.txt"), "w") as f:
            f.write(s)
        self.screen_no += 1
        return s

    def wait_screen(self, pred, timeout=60, what="screen condition") -> str:
        end = time.time() + timeout
        s = ""
        while time.time() < end:
            s = self.screen()
            if pred(s):
                return s
            time.sleep(0.2)
        self.save_screen("timeout")
        raise Failure(f"timed out after {timeout}s waiting for {what}; screen:\n{s}")

    def wait_idle(self, timeout=60, settle=1.0) -> str:
        """Waits until the TUI is idle: no turn running, no background agent pending, and no new
        hook payload recorded for `settle` seconds."""
        # Only the bottom rows (prompt box, statusline, mode line, agents panel) tell the state;
        # finished turns leave "Waiting for ..." lines higher up.
        busy = ("esc to interrupt", "● main", "◯ ", "to manage")
        end = time.time() + timeout
        last_n, since = -1, time.time()
        while time.time() < end:
            s = self.screen()
            lines = [ln for ln in s.rstrip().splitlines()]
            cut = max((i for i, ln in enumerate(lines) if ln.startswith("❯")), default=0)
            bottom = "\n".join(lines[cut:])
            n = len(self.hooks())
            if n != last_n:
                last_n, since = n, time.time()
            if not any(b in bottom for b in busy) and time.time() - since >= settle:
                return s
            time.sleep(0.2)
        self.save_screen("timeout_idle")
        raise Failure(f"TUI not idle after {timeout}s; screen:\n{self.screen()}")

    def exit_tui(self, timeout=30):
        """Types /exit and waits for the SessionEnd hook (needs the recorder)."""
        self.send("/exit", literal=True)
        time.sleep(0.3)
        self.send("Enter")
        end = time.time() + timeout
        while time.time() < end:
            if any(h["event"] == "SessionEnd" for h in self.hooks()):
                return
            time.sleep(0.2)
        self.save_screen("timeout_exit")
        raise Failure(f"no SessionEnd {timeout}s after /exit; screen:\n{self.screen()}")

    def send(self, *keys, literal=False):
        self.tmux("send-keys", "-t", "tw", *(["-l"] if literal else []), *keys)

    # -- logs
    def requests(self) -> list[dict]:
        return read_jsonl(os.path.join(self.artifacts, "requests.jsonl"))

    def usage(self) -> list[dict]:
        return read_jsonl(os.path.join(self.artifacts, "usage.jsonl"))

    def hooks(self) -> list[dict]:
        return read_jsonl(self.record_path)

    def transcripts_dir(self) -> str:
        return os.path.join(self.config, "projects", project_key(self.proj))

    # -- cleanup
    def close(self):
        for p in self.procs:
            if p.poll() is None:
                _kill_group(p)
        if self.usage_stub:
            self.usage_stub.close()
            self.usage_stub = None
        if self.tmux_socket:
            subprocess.run(["tmux", "-S", self.tmux_socket, "kill-server"], capture_output=True, timeout=30)
            self.tmux_socket = None
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        # keep a copy of the transcripts and the DB with the artifacts, then drop the world
        try:
            if os.path.isdir(os.path.join(self.config, "projects")):
                shutil.copytree(os.path.join(self.config, "projects"), os.path.join(self.artifacts, "projects"),
                                dirs_exist_ok=True)
            if os.path.exists(self.db):
                shutil.copy2(self.db, os.path.join(self.artifacts, "tw.db"))
            if os.path.exists(os.path.join(self.config, "settings.json")):
                shutil.copy2(os.path.join(self.config, "settings.json"), os.path.join(self.artifacts, "settings.json"))
        except OSError as e:
            log(f"could not copy artifacts: {e}")
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _kill_group(p: subprocess.Popen):
    """Ends a process started by this suite with start_new_session=True, and its children."""
    import signal
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def _shq(s: str) -> str:
    import shlex
    return shlex.quote(s)


def read_jsonl(path) -> list[dict]:
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def wait_for(pred, timeout=30.0, interval=0.1, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise Failure(f"timed out after {timeout}s waiting for {what}")
