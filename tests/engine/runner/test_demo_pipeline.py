"""`sadeem demo` leaves upstream-linked jobs whose chain an engine runs end to end."""

from __future__ import annotations

from engine.services.demo import PIPELINE
from tests.engine.runner.conftest import until


def test_demo_jobs_run_the_whole_chain(services, admin, engines):
    services.demo.run(admin, "demo")
    jobs = {j.name: j for j in services.jobs.list(admin, "demo")}
    assert set(jobs) == {step for step, _ in PIPELINE}
    assert jobs["bronze_meters"].schedule.paused
    assert set(jobs["gold_top_meters"].upstream) == {"silver_readings", "silver_meters"}
    services.runs.trigger(admin, "demo", "bronze_meters", logical_date="2026-11-23")
    engines()

    def done() -> bool:
        runs = services.runs.list(admin, "demo", limit=100)
        return len(runs) == len(PIPELINE) and all(r.state == "succeeded" for r in runs)

    until(done, timeout=120)
    runs = services.runs.list(admin, "demo", limit=100)
    assert {r.logical_date for r in runs} == {"2026-11-23"}
    assert sorted(r.trigger for r in runs).count("upstream") == len(PIPELINE) - 1
    gold = services.sql.execute(
        admin, "demo", "SELECT count(*) AS n FROM demo_gold.daily_consumption"
    ).fetch()
    assert gold.column("n")[0].as_py() == 210
