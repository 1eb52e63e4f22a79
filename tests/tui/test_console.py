"""The console driven by keys through Textual's Pilot, on a real engine and real tables."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager

from textual.widgets import DataTable, Static, TextArea, Tree

from tests.tui.conftest import ANA
from tests.tui.drive import SIZE, console_with_runner, open_list, started, text_of, wait_until


async def open_jobs(app, pilot, rows: int):
    return await open_list(app, pilot, "4", "jobs", rows)


async def run_now(app, pilot, jobs, name: str) -> None:
    """`r` on the job's row, then the parameters form as it is."""
    jobs.move_cursor(row=jobs.get_row_index(name))
    await pilot.press("r")
    await wait_until(pilot, lambda: app.screen.__class__.__name__ == "FormScreen")
    await pilot.press("ctrl+s")


async def test_frame_navigation_help_and_command_bar(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await wait_until(pilot, lambda: "ana" in text_of(app.query_one("#header", Static)))
        header = text_of(app.query_one("#header", Static))
        assert "workspace demo" in header
        await pilot.press("1")
        table = app.query_one("#workspaces DataTable", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        await pilot.press("question_mark")
        assert app.screen.__class__.__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.press("colon", *"runs failed", "enter")
        assert app.current_key() == "runs"
        assert app.query_one("#runs").state == "failed"
        await pilot.press("colon", *"jobs", "enter")
        jobs = app.query_one("#jobs DataTable", DataTable)
        await wait_until(pilot, lambda: jobs.row_count == 7)
        await pilot.press("slash", *"gold")
        await wait_until(pilot, lambda: jobs.row_count == 2)
        await pilot.press("escape")
        await wait_until(pilot, lambda: jobs.row_count == 7)
        await pilot.press("escape")
        assert app.current_key() == "runs"


async def test_catalog_tree_table_snapshots_and_insert(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("2")
        tree = app.query_one(Tree)
        await wait_until(pilot, lambda: len(tree.root.children) == 3)
        assert [str(n.label) for n in tree.root.children] == [
            "demo_bronze",
            "demo_silver",
            "demo_gold",
        ]
        gold = tree.root.children[2]
        gold.expand()
        await wait_until(pilot, lambda: len(gold.children) == 2)
        tree.move_cursor(gold.children[0])
        await pilot.press("enter")
        snaps = app.query_one("#snapshots", DataTable)
        await wait_until(pilot, lambda: snaps.row_count >= 1)
        assert "demo_gold.daily_consumption" in text_of(app.query_one("#table-info", Static))
        snaps.focus()
        await pilot.press("s")
        await pilot.pause(0.3)
        tree.focus()
        await pilot.press("i")
        editor = app.query_one("#editor", TextArea)
        assert "demo_gold.daily_consumption" in editor.text
        assert app.current_key() == "sql"


# The README's promise, pinned by value: "a result still arriving after 150 ms shows its
# first 10,000 rows; the rest, up to 1,000,000, follow".
FIRST_ROWS = 10_000
MAX_ROWS = 1_000_000


async def open_sql(app, pilot) -> Static:
    """Key 3; the SQL pane's status line."""
    await pilot.press("3")
    return app.query_one("#sql-status", Static)


@asynccontextmanager
async def sql_console(make_app):
    """A started console on its SQL pane: (app, pilot, the pane's status line)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        yield app, pilot, await open_sql(app, pilot)


async def run_sql(app, pilot, sql: str) -> None:
    editor = app.query_one("#editor", TextArea)
    editor.text = sql
    editor.focus()
    await pilot.press("f5")


async def test_sql_run_cancel_export_history(make_app, tmp_path):
    async with sql_console(make_app) as (app, pilot, status):
        await run_sql(
            app,
            pilot,
            "SELECT region, count(*) AS n FROM demo_silver.meters GROUP BY region ORDER BY region",
        )
        await wait_until(pilot, lambda: "rows" in text_of(status) and "5 rows" in text_of(status))
        await run_sql(
            app,
            pilot,
            "SELECT sum(a.range * b.range) FROM range(3000000000) a, "
            "range(1000) b WHERE a.range % 1000 = b.range",
        )
        await wait_until(
            pilot, lambda: "running" in text_of(status) or "submitting" in text_of(status)
        )
        await pilot.pause(0.5)
        await pilot.press("ctrl+k")
        await wait_until(pilot, lambda: "cancelled" in text_of(status))
        await run_sql(app, pilot, "SELEC 1")
        await wait_until(pilot, lambda: "error" in text_of(status))
        await run_sql(app, pilot, "SELECT * FROM demo_gold.top_meters")
        await wait_until(pilot, lambda: "20 rows" in text_of(status))
        target = tmp_path / "top.parquet"
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: bool(app.screen.query("#f-path")))
        field = app.screen.query_one("#f-path")
        field.value = str(target)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: target.exists())
        import pyarrow.parquet as pq

        assert pq.read_table(target).num_rows == 20
        await pilot.press("ctrl+o")
        history = app.screen.query_one("#history-table", DataTable)
        await wait_until(pilot, lambda: history.row_count >= 4)
        await pilot.press("escape")


async def test_completion_loads_the_catalog_names_on_first_use(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await open_sql(app, pilot)
        pane = app.query_one("#sql")
        editor = app.query_one("#editor", TextArea)
        editor.text = "SELECT * FROM demo_gold.top"
        editor.focus()
        editor.move_cursor(editor.document.end)
        await pilot.pause(0.3)
        assert pane._names is None  # opening the pane reads no table metadata
        await pilot.press("ctrl+space")  # loads the names, then completes the word
        await wait_until(pilot, lambda: editor.text == "SELECT * FROM demo_gold.top_meters")
        editor.insert(" WHERE meter_")
        await pilot.press("ctrl+space")  # a column of the table, from the names now held
        await wait_until(pilot, lambda: editor.text.endswith("WHERE meter_id"))


async def test_tabs_survive_a_restart(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("3")
        app.query_one("#editor", TextArea).text = "SELECT 'first tab'"
        await pilot.press("ctrl+t")
        app.query_one("#editor", TextArea).text = "SELECT 'second tab'"
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        await started(again, pilot)
        await pilot.press("3")
        await pilot.pause(0.2)
        assert again.query_one("#sql")._tabs == ["SELECT 'first tab'", "SELECT 'second tab'"]


async def test_create_workspace_with_plan_then_apply(make_app, services):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await open_list(app, pilot, "1", "workspaces", 1)
        await pilot.press("n")
        await wait_until(pilot, lambda: bool(app.screen.query("#f-name")))
        app.screen.query_one("#f-name").value = "finance"
        await pilot.press("ctrl+s")
        await wait_until(
            pilot,
            lambda: (
                "Provision finance" in str(app.screen.query_one(".form-title").render())
                if app.screen.query(".form-title")
                else False
            ),
        )
        intro = text_of(app.screen.query_one("#form-intro", Static))
        assert "finance_bronze" in intro and "missing" in intro
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: services.provisioning.plan(ANA, "finance").complete)


async def test_read_only_refuses_every_change(make_app, services):
    app = make_app(read_only=True)
    before = len(services.audit.list(ANA, limit=10000))
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await wait_until(pilot, lambda: "READ-ONLY" in text_of(app.query_one("#header", Static)))
        for pane, key in (
            ("1", "n"),
            ("1", "x"),
            ("4", "r"),
            ("4", "n"),
            ("4", "p"),
            ("6", "n"),
            ("6", "d"),
            ("5", "c"),
        ):
            await pilot.press(pane)
            await pilot.pause(0.2)
            await pilot.press(key)
            await pilot.pause(0.1)
            assert app.screen is app.screen_stack[0], "a form opened in read-only mode"
    assert len(services.audit.list(ANA, limit=10000)) == before


async def test_run_job_follow_log_and_retry(make_app, services):
    services.jobs.create(ANA, "demo", "broken", "sql", {"sql": "SELECT * FROM demo_gold.nope"})
    async with console_with_runner(make_app, services) as (app, pilot):
        jobs = await open_jobs(app, pilot, 8)
        await run_now(app, pilot, jobs, "broken")
        await wait_until(
            pilot, lambda: any(r.state == "failed" for r in services.runs.list(ANA, "demo"))
        )
        await pilot.press("5")
        runs = app.query_one("#runs DataTable", DataTable)
        await wait_until(pilot, lambda: runs.row_count >= 1)
        runs.focus()
        await pilot.press("enter")
        log = app.screen.query_one("#run-log")
        await wait_until(pilot, lambda: any("finished: failed" in ln for ln in app.screen.lines))
        assert len(log.lines) > 0
        # Search jumps to the match and highlights it; n moves on, Esc leaves the bar.
        await pilot.press("slash", *"finished", "enter")
        hit = log.hits[log.current]
        assert "finished: failed" in log.lines[hit] and not log.follow
        assert "1/1 match 'finished'" in text_of(app.screen.query_one("#log-status"))
        strip = log.render_line(log._row_of(hit) - log.scroll_offset.y)
        assert any(seg.text == "finished" and seg.style.bgcolor for seg in strip)
        await pilot.press("w", "T")
        assert log.wrap and log.timestamps
        await pilot.press("R")  # asks first; ctrl+s says yes
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "FormScreen")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(services.runs.list(ANA, "demo")) == 2)
        assert services.runs.list(ANA, "demo")[0].attempt == 2


async def test_connection_test_inline_and_audit_filter(make_app, services):
    services.connections.create(ANA, "nowhere", "s3", {"endpoint": "http://127.0.0.1:9"})
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        # The header's health summary comes from a background check of every connection.
        header = app.query_one("#header", Static)
        await wait_until(pilot, lambda: re.search(r"health (\d+)/(\d+) ok", text_of(header)))
        ok, total = map(int, re.search(r"health (\d+)/(\d+) ok", text_of(header)).groups())
        assert total >= 2 and ok == total - 1
        await pilot.press("6")
        conns = app.query_one("#connections DataTable", DataTable)
        await wait_until(pilot, lambda: conns.row_count == 1)
        conns.focus()
        await pilot.press("t")
        await wait_until(pilot, lambda: "refused" in str(conns.get_row_at(0)[-1]))
        await pilot.press("8")
        audit = app.query_one("#audit DataTable", DataTable)
        await wait_until(pilot, lambda: audit.row_count > 5)
        await pilot.press("F")
        await wait_until(pilot, lambda: bool(app.screen.query("#f-action")))
        app.screen.query_one("#f-action").value = "connection.create"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: audit.row_count == 1)


async def test_spark_job_form_edit_and_field_errors(make_app, services):
    services.connections.create(
        ANA, "spark", "spark_operator", {"namespace": "jobs", "api_server": "http://127.0.0.1:9"}
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        jobs = await open_jobs(app, pilot, 7)
        await pilot.press("S")
        await wait_until(pilot, lambda: bool(app.screen.query("#f-main_application_file")))
        form = app.screen
        fill = {
            "name": "ingest",
            "main_application_file": "local:///opt/jobs/Ingest.jar",
            "executor_instances": "two",
            "spark_conf": "spark.sql.shuffle.partitions=8",
            "arguments": "--day '{{ ds }}'",
            "connection": "spark",
        }
        for name, value in fill.items():
            form.query_one(f"#f-{name}").value = value
        await pilot.press("ctrl+s")
        # Bad input lands under its field and loses nothing typed.
        err = form.query_one("#e-executor_instances", Static)
        await wait_until(pilot, lambda: "whole number" in text_of(err))
        form.query_one("#f-executor_instances").value = "2"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "main class" in text_of(form.query_one("#e-main_class")))
        assert form.query_one("#f-name").value == "ingest"
        form.query_one("#f-main_class").value = "lake.Ingest"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: jobs.row_count == 8)
        job = services.jobs.get(ANA, "demo", "ingest")
        assert job.type == "spark" and job.connection == "spark"
        assert job.definition["executor_instances"] == 2
        assert job.definition["arguments"] == ["--day", "{{ ds }}"]
        assert job.definition["spark_conf"] == {"spark.sql.shuffle.partitions": "8"}
        # Edit: a changed definition is a new version; a cleared field goes away.
        jobs.move_cursor(row=jobs.get_row_index("ingest"))
        await pilot.press("e")
        await wait_until(pilot, lambda: bool(app.screen.query("#f-executor_memory")))
        assert app.screen.query_one("#f-main_class").value == "lake.Ingest"
        app.screen.query_one("#f-executor_memory").value = "2g"
        app.screen.query_one("#f-spark_conf").value = ""
        app.screen.query_one("#f-cron").value = "0 3 * * *"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: services.jobs.get(ANA, "demo", "ingest").version == 2)
        job = services.jobs.get(ANA, "demo", "ingest")
        assert job.definition["executor_memory"] == "2g" and not job.definition["spark_conf"]
        assert job.schedule is not None and job.schedule.cron == "0 3 * * *"


async def test_runs_filter_by_time_state_and_job(make_app, services):
    from datetime import timedelta

    from engine.models import Run, utcnow

    services.jobs.create(ANA, "demo", "ping", "sql", {"sql": "SELECT 1"})
    old, new = (services.runs.trigger(ANA, "demo", "ping") for _ in range(2))
    with services.db.session() as s:  # one run from three days ago
        s.get(Run, old.id).queued_at = utcnow() - timedelta(days=3)
        s.commit()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("colon", *"runs queued 24h job=ping", "enter")
        runs = app.query_one("#runs DataTable", DataTable)
        await wait_until(pilot, lambda: runs.row_count == 1)
        assert runs.coordinate_to_cell_key((0, 0)).row_key.value == str(new.id)
        assert "last 24h" in text_of(app.query_one("#runs .pane-title"))
        await pilot.press("t")  # 24h -> 7d
        await wait_until(pilot, lambda: runs.row_count == 2)
        await pilot.press("colon", *"runs yesterday", "enter")
        await pilot.pause(0.2)
        assert runs.row_count == 2  # a bad filter is refused and changes nothing


async def test_archive_asks_first_and_esc_keeps_the_workspace(make_app, services):
    services.workspaces.create(ANA, "scratch")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        table = await open_list(app, pilot, "1", "workspaces", 2)
        table.move_cursor(row=table.get_row_index("scratch"))
        await pilot.press("x")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "FormScreen")
        assert "Archive scratch?" in text_of(app.screen.query_one(".form-title"))
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert not services.workspaces.get(ANA, "scratch").archived
        await pilot.press("x")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "FormScreen")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: services.workspaces.get(ANA, "scratch").archived)
        await wait_until(pilot, lambda: table.row_count == 1)  # the list shows active ones


async def test_palette_offers_the_panes_and_the_verbs_of_the_pane_in_front(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await open_jobs(app, pilot, 7)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette")
        await pilot.press(*"new spark job")
        await pilot.pause(0.5)  # the palette searches after a short debounce
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(app.screen.query("#f-main_application_file")))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.screen_stack[0])
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette")
        await pilot.press(*"go to audit")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.current_key() == "audit")


async def test_new_sql_job_from_the_form_runs_and_its_log_follows_to_the_end(make_app, services):
    async with console_with_runner(make_app, services) as (app, pilot):
        jobs = await open_jobs(app, pilot, 7)
        await pilot.press("n")
        await wait_until(pilot, lambda: bool(app.screen.query("#f-sql")))
        app.screen.query_one("#f-name").value = "meter_count"
        sql = "SELECT count(*) AS meters FROM {{ workspace }}_silver.meters"
        app.screen.query_one("#f-sql", TextArea).text = sql
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: jobs.row_count == 8)
        await run_now(app, pilot, jobs, "meter_count")
        await wait_until(pilot, lambda: app.screen is app.screen_stack[0])
        # Enter on the job lists its runs; Enter on the run follows its log.
        await pilot.press("enter")
        runs = app.query_one("#runs DataTable", DataTable)
        await wait_until(pilot, lambda: app.current_key() == "runs" and runs.row_count == 1)
        runs.focus()
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: any("finished: succeeded" in ln for ln in getattr(app.screen, "lines", [])),
        )
        log = app.screen.query_one("#run-log")
        assert log.follow and log.scroll_offset.y == log.max_scroll_y
        assert "succeeded" in text_of(app.screen.query_one("#run-info"))
        [run] = services.runs.list(ANA, "demo", job="meter_count")
        assert run.state == "succeeded" and run.trigger == "manual"


async def test_panes_answer_keys_before_the_background_has_mounted_them(make_app):
    # No workspace named: the console opens on Workspaces and composes only that pane
    # before its first frame; the command bar is used at once, before the others mount.
    app = make_app(workspace=None)
    async with app.run_test(size=SIZE) as pilot:
        assert app.current_key() == "workspaces"
        await pilot.press("colon", *"catalog demo_gold", "enter")
        await wait_until(pilot, lambda: app.current_key() == "catalog")
        tree = app.query_one(Tree)
        await wait_until(pilot, lambda: [str(n.label) for n in tree.root.children] == ["demo_gold"])
        await started(app, pilot)
        assert "workspace demo" in text_of(app.query_one("#header"))
        gold = tree.root.children[0]
        gold.expand()
        await wait_until(pilot, lambda: len(gold.children) == 2)
        tree.move_cursor(gold.children[1])
        tree.focus()
        await pilot.press("i")
        await wait_until(pilot, lambda: app.current_key() == "sql")
        assert "demo_gold." in app.query_one("#editor", TextArea).text


async def test_a_slow_result_shows_its_first_rows_while_the_rest_is_fetched(make_app):
    async with sql_console(make_app) as (app, pilot, status):
        # The first 100,000 rows come at once; the last one needs a scan of 10^11 more.
        await run_sql(
            app,
            pilot,
            "SELECT range AS n FROM range(100000000000) "
            "WHERE range < 100000 OR range = 99999999999",
        )
        await wait_until(pilot, lambda: getattr(app.query_one("#results"), "row_count", 0) > 0)
        shown = app.query_one("#results").row_count
        assert app.query_one("#sql")._query is not None  # still running
        await pilot.press("ctrl+k")  # before asserting: a failed test must not leave it running
        await wait_until(pilot, lambda: "cancelled" in text_of(status))
        assert shown == FIRST_ROWS
        assert f"({FIRST_ROWS:,} rows shown)" in text_of(status)


async def test_results_stream_in_and_a_narrower_result_replaces_a_wider_one(make_app):
    async with sql_console(make_app) as (app, pilot, status):
        await run_sql(
            app, pilot, "SELECT range AS a, range * 2 AS b, 'x' AS c FROM range(3 * 10000 + 7)"
        )
        await wait_until(pilot, lambda: text_of(status).startswith("30,007 rows"))
        grid = app.query_one("#results")
        assert grid.row_count == 30_007 > FIRST_ROWS and len(grid.ordered_columns) == 3
        # Fewer columns than the grid had: it used to crash the console on render.
        await run_sql(app, pilot, "SELECT 42 AS answer")
        await wait_until(pilot, lambda: text_of(status).startswith("1 rows"))
        await pilot.pause(0.2)
        grid = app.query_one("#results")
        assert grid.row_count == 1 and [c.label.plain for c in grid.ordered_columns] == ["answer"]


async def test_a_result_stops_at_a_million_rows(make_app):
    async with sql_console(make_app) as (app, pilot, status):
        await run_sql(app, pilot, f"SELECT range AS n FROM range({MAX_ROWS + 500})")
        await wait_until(pilot, lambda: "rows" in text_of(status) and "MiB" in text_of(status), 60)
        assert text_of(status).startswith("1,000,000 rows")
        assert "(first 1,000,000 rows)" in text_of(status)
        assert app.query_one("#results").row_count == MAX_ROWS


async def test_a_selection_of_statements_runs_them_all_and_shows_the_last(make_app):
    """Issue 14 "Scripts run": a selection of several statements used to fail with DuckDB's
    "connection has an open result"; now they run in turn, the grid shows the last result
    and the status line what the others gave."""
    async with sql_console(make_app) as (app, pilot, status):
        editor = app.query_one("#editor", TextArea)
        editor.text = (
            "SELECT 'a;b' AS s;\n"
            "SELECT region FROM demo_silver.meters GROUP BY region;\n"
            "SELECT range AS n FROM range(2)"
        )
        editor.focus()
        editor.select_all()
        await pilot.press("f5")
        await wait_until(pilot, lambda: "statements" in text_of(status))
        assert text_of(status).startswith("3 statements: #1 1 rows, #2 5 rows; last: 2 rows")
        grid = app.query_one("#results")
        assert grid.row_count == 2 and [c.label.plain for c in grid.ordered_columns] == ["n"]


async def test_a_failing_statement_of_a_selection_says_which_and_points_at_it(make_app):
    async with sql_console(make_app) as (app, pilot, status):
        editor = app.query_one("#editor", TextArea)
        editor.text = "-- first the count\nSELECT 1 AS a;\n  SELECT nope FROM demo_silver.meters"
        editor.focus()
        from textual.widgets.text_area import Selection

        editor.selection = Selection((1, 0), (2, 37))  # both statements, not the comment
        await pilot.press("f5")
        await wait_until(pilot, lambda: "error" in text_of(status))
        assert text_of(status).startswith("error: statement 2 of 2: ")
        assert "(ran before it: #1 1 rows)" in text_of(status)
        # `nope` is on the editor's third line (row 2), at column 9 (0-based).
        assert editor.cursor_location == (2, 9)
