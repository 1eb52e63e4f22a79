"""Job kinds are declared once, by their module, and everything else derives from that
declaration: a toy `echo` kind registered from a test module (tests/fakes/echo_kind.py) is
offered by `sadeem job create --type` with its own flags, validated by the job service,
shown by the console's job form and run to `succeeded` by the real dispatcher, with no
other change; once unregistered it is gone (the console's form on screen:
tests/tui/test_job_kinds.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import job_kinds
from engine.cli.main import main
from engine.errors import ValidationError
from engine.job_kinds import JobKind
from tests.engine.runner.conftest import table_rows, wait_for
from tests.fakes import echo_kind


@pytest.fixture
def echo() -> Iterator[JobKind]:
    with echo_kind.registered() as kind:
        yield kind


@pytest.fixture
def ws(services, admin):
    services.workspaces.create(admin, "w")
    services.provisioning.apply(admin, "w")
    return services


def _cli(capsys: pytest.CaptureFixture[str], data_dir: Path, *argv: str) -> tuple[int, str, str]:
    try:
        code = main([*argv, "--data-dir", str(data_dir)])
    except SystemExit as exc:  # --help and refused arguments end in argparse
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_job_create_offers_a_registered_kind_and_its_flags(
    echo: JobKind, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _cli(capsys, tmp_path, "job", "create", "--help")
    assert code == 0
    assert "echo: logs its text" in out  # --type's help: each kind's summary
    assert "--text TEXT" in out and "echo: the text its run logs" in out
    assert "--times TIMES" in out
    assert _cli(capsys, tmp_path, "workspace", "create", "w")[0] == 0
    code, _, err = _cli(
        capsys, tmp_path, "job", "create", "-w", "w", "e", "--type", "echo", "--text", "hi"
    )
    assert code == 0, err
    code, out, _ = _cli(capsys, tmp_path, "job", "show", "-w", "w", "e", "--json")
    assert code == 0 and json.loads(out)["definition"] == {"text": "hi", "params": {}}
    # Another kind's flag is not this kind's field: the service names it.
    code, _, err = _cli(
        capsys, tmp_path, "job", "create", "-w", "w", "f", "--type", "echo", "--text", "hi",
        "--app-file", "a.py",
    )  # fmt: skip
    assert code == 2 and "main_application_file: unknown field for a echo job" in err


def test_an_unregistered_kind_is_gone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with echo_kind.registered():
        assert job_kinds.find("echo") is not None
    assert job_kinds.find("echo") is None and "echo" not in job_kinds.names()
    code, out, _ = _cli(capsys, tmp_path, "job", "create", "--help")
    assert code == 0 and "echo" not in out and "--text" not in out
    code, _, err = _cli(capsys, tmp_path, "job", "create", "-w", "w", "e", "--type", "echo")
    assert code == 2 and "invalid choice: 'echo'" in err


def test_the_job_service_validates_a_registered_kind_from_its_fields(echo, ws, admin) -> None:
    before = table_rows(ws)
    with pytest.raises(ValidationError) as unknown:
        ws.jobs.create(admin, "w", "e", "echo", {"text": "hi", "sql": "SELECT 1"})
    assert unknown.value.field == "sql"
    assert "known: param_types, params, text, times" in str(unknown.value)
    with pytest.raises(ValidationError) as missing:
        ws.jobs.create(admin, "w", "e", "echo", {"times": 2})
    assert missing.value.field == "text" and "an echo job needs its text" in str(missing.value)
    with pytest.raises(ValidationError) as checked:  # the kind's own check
        ws.jobs.create(admin, "w", "e", "echo", {"text": "hi", "times": 9})
    assert checked.value.field == "times"
    assert table_rows(ws) == before  # nothing was written
    ws.connections.create(admin, "local", "spark_local", {})
    with pytest.raises(ValidationError) as role:  # a connection of its declared role only
        ws.jobs.create(admin, "w", "e", "echo", {"text": "hi"}, connection="local")
    assert role.value.field == "connection" and "cannot run on a spark_local" in str(role.value)
    view = ws.jobs.create(admin, "w", "e", "echo", {"text": "hi"})
    assert (view.type, view.definition) == ("echo", {"text": "hi", "params": {}})


def test_the_console_job_form_is_built_from_a_registered_kind(echo) -> None:
    from tui.panes.job_form import definition_of, job_fields

    fields = {f.name: f for f in job_fields("echo")}
    assert fields["text"].label == "Text to log" and not fields["text"].multiline
    assert fields["times"].value == "1"  # its declared default
    assert fields["connection"].label == "SQL connection (unused)"
    assert "sql" not in fields and "main_application_file" not in fields
    values = {name: f.value for name, f in fields.items()}
    values.update(text="  hello ", times="3")
    assert definition_of("echo", values) == {"text": "hello", "times": 3, "params": {}}
    with pytest.raises(ValidationError) as bad:
        definition_of("echo", {**values, "times": "three"})
    assert bad.value.field == "times"


def test_a_registered_kind_runs_to_succeeded_through_the_dispatcher(echo, ws, admin) -> None:
    from engine.runner.engine import Engine

    ws.jobs.create(admin, "w", "e", "echo", {"text": "hello from a toy", "times": 2})
    run = ws.runs.trigger(admin, "w", "e")
    engine = Engine(ws, poll_interval=0.05).start()
    try:
        done = wait_for(ws, admin, run.id)
    finally:
        engine.stop(grace_s=2)
    assert done.state == "succeeded", done.error
    assert done.result == {"echoed": 2}
    log = "".join(c.text for c in ws.runs.logs(admin, run.id))
    assert log.count("echo: hello from a toy") == 2
    assert "(echo job) started" in log and "finished: succeeded" in log
