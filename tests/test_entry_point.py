"""The README's first command as a new user runs it: the installed `sadeem --demo` in a real
terminal (tmux), the demo's gold table and its rows on the first screen, then `:q`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import service_missing

REPO = Path(__file__).resolve().parents[1]
# Building the demo runs its whole bronze -> silver -> gold pipeline: ~15 s on an idle
# 2-core box, several times that while other jobs share it.
OPEN_TIMEOUT_S = 150
QUIT_TIMEOUT_S = 30


class Terminal:
    """A tmux server of our own (its own socket: no other session's environment leaks in)."""

    def __init__(self, tmp: Path) -> None:
        self.socket = tmp / "tmux.sock"

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout

    def start(self, script: Path) -> None:
        self.tmux("new-session", "-d", "-s", "sadeem", "-x", "160", "-y", "45", str(script))

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "sadeem")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "sadeem", *keys)

    def close(self) -> None:
        self.tmux("kill-server")


def wait_for(term: Terminal, done: Path, what: str, test: re.Pattern[str], timeout: float) -> str:
    """The screen once `test` matches it; fails early if sadeem has exited."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = term.screen() or screen
        if test.search(screen):
            return screen
        if done.exists():
            screen = term.screen() or screen
            pytest.fail(f"sadeem exited ({done.read_text().strip()}) before {what}:\n{screen}")
        time.sleep(0.5)
    pytest.fail(f"{what}: not on screen after {timeout:.0f} s:\n{screen}")


def test_sadeem_demo_opens_the_console_on_the_demo_tables(tmp_path: Path) -> None:
    """`sadeem --demo` from PATH: the demo workspace, its gold table ready to query, rows on
    F5, and `:q` exits 0."""
    sadeem = shutil.which("sadeem")
    if sadeem is None:
        pytest.fail("no `sadeem` on PATH: install the checkout with `pip install -e .`")
    drive_demo(
        tmp_path,
        sadeem,
        {
            # The installed entry point, importing this checkout.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            "PATH": os.environ["PATH"],
        },
    )


def drive_demo(tmp_path: Path, sadeem: str, env: dict[str, str]) -> None:
    """Run `sadeem --demo` in tmux with `env`: the demo open, rows on F5, `:q` exits 0."""
    if shutil.which("tmux") is None:
        service_missing("tmux (the pseudo-terminal the console runs in)")
    done = tmp_path / "exit-code"
    env = {
        # The conftest's temporary XDG dirs: a first run, as on a fresh machine.
        "XDG_DATA_HOME": os.environ["XDG_DATA_HOME"],
        "XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"],
        **env,
    }
    script = tmp_path / "run.sh"
    script.write_text(
        "#!/bin/sh\n"
        + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
        + f"cd {shlex.quote(str(tmp_path))}\n"
        + f"{shlex.quote(sadeem)} --demo\n"
        + f"echo $? > {shlex.quote(str(done))}\n"
        + "sleep 60\n"  # keep the last screen (an error) readable; kill-server ends it
    )
    script.chmod(0o755)
    term = Terminal(tmp_path)
    term.start(script)
    try:
        # The header names the workspace, the first tab holds a query of its gold table,
        # and the engine has opened (so the demo has been built).
        wait_for(
            term,
            done,
            "the demo workspace open on its gold table",
            re.compile(
                r"(?s)(?=.*workspace demo\b)(?=.*demo_gold\.daily_consumption)"
                r"(?=.*engine (embedded|daemon|none)\b)"
            ),
            OPEN_TIMEOUT_S,
        )
        term.keys("F5")
        wait_for(
            term,
            done,
            "rows of demo_gold.daily_consumption",
            re.compile(r"\b[1-9][\d,]* rows\s+\d+\.\d+s"),
            OPEN_TIMEOUT_S,
        )
        term.keys(":")  # the command bar, then `q` once it has the focus
        wait_for(term, done, "the command bar", re.compile(r":runs failed\s+:jobs"), 30)
        term.keys("q")
        wait_for(term, done, "`:q` typed", re.compile(r"▊\s*q\s"), 30)
        term.keys("Enter")
        deadline = time.monotonic() + QUIT_TIMEOUT_S
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert done.exists(), f"`:q` did not close the console:\n{term.screen()}"
        assert done.read_text().strip() == "0"
    finally:
        term.close()


def test_ci_runs_the_readmes_test_command_after_the_gates() -> None:
    """`.ci/run` runs command 2 of the README exactly, with every gate before the tests."""
    readme = (REPO / "README.md").read_text()
    command = next(
        line for line in readme.splitlines() if line.startswith("python3 -m pip install uv")
    )
    ci = [  # each line without its trailing comment
        re.sub(r"\s+#.*$", "", line).strip()
        for line in (REPO / ".ci" / "run").read_text().splitlines()
    ]
    steps = [part.strip() for part in command.split(" && ")]
    assert steps[-1] == "python3 -m pytest"
    at = [ci.index(step) for step in steps]  # each step is a line of its own, as written
    assert at == sorted(at)
    gates = ["python3 -m ruff check .", "python3 -m ruff format --check .", "python3 -m mypy"]
    for gate in gates:
        assert at[-2] < ci.index(gate) < at[-1], gate
    assert '"$scripts/lint-imports"' in ci[at[-2] : at[-1]]
    # Installs into the python3 that runs it: `--system` skipped an activated venv.
    assert "--system" not in command
