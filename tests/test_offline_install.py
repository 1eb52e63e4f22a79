"""The README's offline install, as an air-gapped site does it: a wheelhouse built where an
index is reachable, then a fresh venv installed from it with `--no-index` and nothing else
(no pip config, no network), `sadeem --help`, and the console on the embedded default
(`sadeem --demo` in a real terminal, rows on F5, `:q`).

It costs 2-4 minutes on this 2-core machine (the wheelhouse ~1-2.5 min, depending on pip's
cache, the install ~70 s, the console ~15 s): marked `install`, part of the default run;
`-m 'not install'` leaves it out of a quick local run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.test_entry_point import drive_demo

REPO = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.install, pytest.mark.timeout(1200)]


def offline_env(venv: Path) -> dict[str, str]:
    """The environment of a machine with no index: pip reads no config file and no PIP_*
    variable (this machine's point at local indexes and /opt/wheels), every proxy leads
    nowhere, and nothing of the checkout is importable."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PIP_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    dead = "http://127.0.0.1:9"  # the discard port: any attempt to fetch fails at once
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        HTTP_PROXY=dead,
        HTTPS_PROXY=dead,
        http_proxy=dead,
        https_proxy=dead,
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
    )
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


def run(argv: list[str], env: dict[str, str] | None, cwd: Path, timeout: float) -> str:
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{argv[:4]} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


def test_install_from_a_wheelhouse_with_no_index_then_open_the_console() -> None:
    # Outside tmp_path: ~800 MB that pytest would otherwise keep for its last three runs.
    with tempfile.TemporaryDirectory(prefix="sadeem-offline-") as tmp:
        base = Path(tmp)
        wheelhouse, venv = base / "wheelhouse", base / "venv"
        # 1. Where an index is reachable (here: the machine's pip config), the README's step.
        run(
            [sys.executable, "-m", "pip", "wheel", str(REPO), "-w", str(wheelhouse), "-q"],
            None,
            base,
            timeout=900,
        )
        assert list(wheelhouse.glob("sadeem-*.whl"))
        # 2. On the air-gapped machine: a fresh venv, from the wheelhouse only.
        env = offline_env(venv)
        run([sys.executable, "-m", "venv", str(venv)], env, base, timeout=120)
        python = str(venv / "bin" / "python")
        install = [python, "-m", "pip", "install", "--no-index", "--find-links"]
        run([*install, str(wheelhouse), "sadeem"], env, base, timeout=600)
        # The venv's own copy runs, not this checkout (nor the machine's editable install).
        where = run([python, "-c", "import engine, tui; print(engine.__file__)"], env, base, 60)
        assert Path(where.strip()).is_relative_to(venv), where
        sadeem = str(venv / "bin" / "sadeem")
        assert "usage: sadeem" in run([sadeem, "--help"], env, base, timeout=60)
        # The embedded default needs nothing else: the console on the demo (migrations,
        # demo data and SQL all come from the wheel), driven in tmux as a user would.
        run_dir = base / "console"
        run_dir.mkdir()
        drive_demo(run_dir, sadeem, {"PATH": env["PATH"], "PYTHONPATH": ""})
        shutil.rmtree(venv)  # before the directory goes: keeps the clean-up quick
