"""SQL jobs as the README describes them ("Jobs, schedules and runs"), run by a real engine
on DuckDB: `target_table` with mode `overwrite` replaces the table and `append` adds to
it; `{{ run_id }}` is the run's own id; a job's SQL may not touch another workspace."""

from __future__ import annotations

from tests.engine.runner.conftest import wait_for

# The run's id as a column, three rows per run.
ROWS = "SELECT CAST({{ run_id }} AS BIGINT) AS run_id, range AS n FROM range(3)"


def run_to_end(lake, admin, job: str) -> object:
    run = lake.runs.trigger(admin, "w", job)
    done = wait_for(lake, admin, run.id)
    assert done.state == "succeeded", done.error
    return done


def rows_of(lake, admin, table: str) -> list[tuple[int, int]]:
    result = lake.sql.execute(admin, "w", f"SELECT run_id, n FROM {table} ORDER BY 1, 2").fetch()
    return list(zip(*(result.column(c).to_pylist() for c in ("run_id", "n")), strict=True))


def test_overwrite_replaces_and_append_appends(lake, admin, engines):
    lake.sql.execute(
        admin, "w", f"CREATE TABLE w_silver.kept AS {ROWS.replace('{{ run_id }}', '0')}"
    ).fetch()
    lake.jobs.create(
        admin,
        "w",
        "snap",
        "sql",
        {"sql": ROWS, "target_table": "w_silver.snap", "mode": "overwrite"},
    )
    lake.jobs.create(
        admin, "w", "log", "sql", {"sql": ROWS, "target_table": "w_silver.kept", "mode": "append"}
    )
    engines()
    first, second = run_to_end(lake, admin, "snap"), run_to_end(lake, admin, "snap")
    assert rows_of(lake, admin, "w_silver.snap") == [(second.id, n) for n in range(3)]
    a, b = run_to_end(lake, admin, "log"), run_to_end(lake, admin, "log")
    assert rows_of(lake, admin, "w_silver.kept") == [
        (rid, n) for rid in (0, a.id, b.id) for n in range(3)
    ]
    assert first.id != second.id


def test_run_id_renders_the_runs_own_id(lake, admin, engines):
    lake.jobs.create(
        admin, "w", "stamp", "sql", {"sql": f"CREATE OR REPLACE TABLE w_bronze.stamp AS {ROWS}"}
    )
    engines()
    lake.runs.trigger(admin, "w", "stamp")  # a first run, so the id is not 1 by chance
    run = run_to_end(lake, admin, "stamp")
    assert run.id > 1
    assert {rid for rid, _ in rows_of(lake, admin, "w_bronze.stamp")} == {run.id}


def test_a_job_touching_another_workspace_is_refused(lake, admin, engines):
    lake.workspaces.create(admin, "hr")
    lake.provisioning.apply(admin, "hr")
    lake.sql.execute(admin, "hr", "CREATE TABLE hr_gold.salaries AS SELECT 100 AS pay").fetch()
    lake.jobs.sql = None  # job save refuses these now: saved before that rule, say
    lake.jobs.create(admin, "w", "peek", "sql", {"sql": "SELECT * FROM hr_gold.salaries"})
    lake.jobs.create(
        admin,
        "w",
        "spoil",
        "sql",
        {"sql": "SELECT 1 AS x;\nCREATE OR REPLACE TABLE hr_gold.salaries AS SELECT 0 AS pay"},
    )
    engines()
    for job in ("peek", "spoil"):
        run = wait_for(lake, admin, lake.runs.trigger(admin, "w", job).id)
        assert run.state == "failed"
        assert "hr_gold, which belongs to workspace 'hr'" in run.error
    pay = lake.sql.execute(admin, "hr", "SELECT pay FROM hr_gold.salaries").fetch()
    assert pay.column("pay").to_pylist() == [100]  # nothing of the job ran


def test_a_failed_or_cancelled_duckdb_run_keeps_the_id_of_the_statement_it_stopped_at(
    lake, admin, engines
):
    """Before the id of embedded work moved to the outcome (4b72dc5), each statement's id
    was saved when DuckDB accepted it, whatever the end: a run that fails or is cancelled
    is the one whose statement id is looked for. It is still recorded with the outcome."""
    from tests.engine.runner.conftest import until

    slow = (
        "SELECT count(*) FROM range(3000000000) a, range(1000) b WHERE (a.range * b.range) % 7 = 1"
    )
    lake.jobs.create(admin, "w", "bad", "sql", {"sql": "SELECT 1; SELECT * FROM w_silver.nope"})
    lake.jobs.create(admin, "w", "slow", "sql", {"sql": slow})
    engines()
    bad = wait_for(lake, admin, lake.runs.trigger(admin, "w", "bad").id)
    assert bad.state == "failed"
    assert bad.external_id
    run = lake.runs.trigger(admin, "w", "slow")
    until(lambda: lake.runs.get(admin, run.id).state == "running")
    text = lambda: "".join(c.text for c in lake.runs.logs(admin, run.id))  # noqa: E731
    until(lambda: "[1/1]" in text(), why=text)
    lake.runs.cancel(admin, run.id)
    stopped = wait_for(lake, admin, run.id)
    assert stopped.state == "cancelled"
    assert stopped.external_id and stopped.external_id in stopped.result["query_ids"]
