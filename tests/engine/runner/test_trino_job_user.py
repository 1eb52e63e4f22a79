"""SQL jobs on Trino run as a Sadeem user Trino knows: the author of the job version (the
user whose rights Sadeem checked), whoever triggered the run, with the `batch` client tag
for Trino's resource groups (README, "Trino sees the real user")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.engine.runner.conftest import until, wait_for
from tests.fakes.trino_server import FakeTrino


@pytest.fixture
def trino(tmp_path):
    """A fake Trino with password auth for `svc`, which may impersonate only `ed`."""
    fake = FakeTrino(
        password="svc-password-3", user="svc", tls_dir=tmp_path / "tls", may_impersonate={"ed"}
    ).start()
    yield fake
    fake.stop()


@pytest.fixture
def jobs_on_trino(lake, admin, make_member, trino):
    lake.connections.create(
        admin,
        "trino",
        "trino",
        {
            "host": "127.0.0.1",
            "port": trino.port,
            "http_scheme": "https",
            "verify_tls": False,
            "user": "svc",
            "password": "svc-password-3",
        },
    )
    members = {r: make_member("w", r, name=n) for r, n in [("editor", "ed"), ("runner", "rita")]}
    members["other_editor"] = make_member("w", "editor", name="eve")
    return members


def sent(trino: FakeTrino, query_id: str) -> dict[str, str]:
    return {k.lower(): v for k, v in trino.query(query_id).headers.items()}


def test_manual_and_scheduled_runs_reach_trino_as_the_author_with_batch_tags(
    lake, admin, engines, trino, jobs_on_trino
):
    ed, rita = jobs_on_trino["editor"], jobs_on_trino["runner"]
    lake.jobs.create(ed, "w", "report", "sql", {"sql": "SELECT 1"}, connection="trino")
    lake.jobs.set_schedule(ed, "w", "report", "0 2 * * *", overlap="queue")
    manual = lake.runs.trigger(rita, "w", "report")  # triggered by someone else
    [schedule] = lake.queue.schedules()
    assert lake.queue.fire(schedule.id, [datetime(2026, 11, 20, 2, tzinfo=UTC)]) == 1
    engines()
    until(lambda: len(lake.runs.list(admin, "w", job="report")) == 2)
    runs = [wait_for(lake, admin, r.id) for r in lake.runs.list(admin, "w", job="report")]
    assert {(r.id, r.trigger) for r in runs} >= {(manual.id, manual.trigger)}
    assert "schedule" in {r.trigger for r in runs}  # created by "scheduler", not a person
    for run in runs:
        assert run.state == "succeeded", run.error
        headers = sent(trino, run.external_id)
        assert headers["x-trino-user"] == "ed"
        assert headers["x-trino-client-tags"] == "batch"
        assert headers["x-trino-source"] == "sadeem"
        assert trino.query(run.external_id).principal == "svc"
        log = "".join(c.text for c in lake.runs.logs(admin, run.id))
        assert "as ed" in log


def test_a_job_trino_will_not_run_as_its_author_fails_with_the_reason(
    lake, admin, engines, trino, jobs_on_trino
):
    eve = jobs_on_trino["other_editor"]
    lake.jobs.create(eve, "w", "denied", "sql", {"sql": "SELECT 1"}, connection="trino")
    run = lake.runs.trigger(eve, "w", "denied")
    engines()
    failed = wait_for(lake, admin, run.id)
    assert failed.state == "failed"
    assert "\n" not in failed.error
    assert "User svc cannot impersonate user eve" in failed.error
    assert "impersonation rules" in failed.error
    assert "svc-password-3" not in failed.error
