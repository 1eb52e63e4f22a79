"""Issue 14's console traps and its error boundary, each pressed through Pilot as an
operator would: the console stays up and says what went wrong, forms take the first key,
confirmations name their verb, filters show and stay with their pane."""

from __future__ import annotations

from textual.widgets import DataTable, Static, TextArea

from tests.tui.conftest import ANA
from tests.tui.drive import (
    SIZE,
    add_run,
    console,
    notices,
    open_list,
    started,
    text_of,
    wait_until,
)


def screen_name(app) -> str:
    return app.screen.__class__.__name__


# -- one error boundary -------------------------------------------------------------------------


async def test_switching_to_a_missing_workspace_says_so_and_keeps_the_current(make_app):
    async with console(make_app) as (app, pilot):
        await pilot.press("colon", *"ws nosuchws", "enter")
        await wait_until(pilot, lambda: any("nosuchws" in n for n in notices(app)))
        await pilot.pause(0.3)
        assert app.is_running and app.session.workspace == "demo"
        await pilot.press("4")  # still usable
        jobs = app.query_one("#jobs DataTable", DataTable)
        await wait_until(pilot, lambda: jobs.row_count == 7)


async def test_starting_on_a_missing_workspace_says_so_and_opens_one_that_exists(make_app):
    app = make_app(workspace="nosuchws")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: any("nosuchws" in n for n in notices(app)))
        await started(app, pilot)
        assert app.is_running and app.session.workspace == "demo"
        assert "workspace demo" in text_of(app.query_one("#header"))


async def test_an_export_to_a_missing_directory_says_so_and_keeps_the_form(make_app, tmp_path):
    async with console(make_app) as (app, pilot):
        await pilot.press("3")
        editor = app.query_one("#editor", TextArea)
        editor.text = "SELECT 1 AS one"
        editor.focus()
        await pilot.press("f5")
        status = app.query_one("#sql-status", Static)
        await wait_until(pilot, lambda: "1 rows" in text_of(status))
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: bool(app.screen.query("#f-path")))
        target = tmp_path / "no" / "such" / "dir" / "x.csv"
        app.screen.query_one("#f-path").value = str(target)
        await pilot.press("ctrl+s")
        error = app.screen.query_one("#e-path", Static)
        await wait_until(pilot, lambda: "no such" in text_of(error).lower())
        assert app.is_running and screen_name(app) == "FormScreen" and not target.exists()
        await pilot.press("escape", "escape")  # the form, then out of the editor
        await pilot.press("4")
        jobs = app.query_one("#jobs DataTable", DataTable)
        await wait_until(pilot, lambda: jobs.row_count == 7)


async def test_a_failing_worker_becomes_a_notification(make_app):
    """Any worker, not only those that catch SadeemError: an OSError from a pane's load."""
    async with console(make_app) as (app, pilot):
        pane = app.query_one("#jobs")

        def broken():
            raise PermissionError(13, "Permission denied", "/data/sadeem.db")

        pane.load = broken
        await pilot.press("4")
        await wait_until(pilot, lambda: any("Permission denied" in n for n in notices(app)))
        await pilot.pause(0.2)
        assert app.is_running
        await pilot.press("5")
        assert app.current_key() == "runs"


# -- forms and confirmations ----------------------------------------------------------------


async def open_form(app, pilot, key: str, field: str | None = None):
    """`key` on the pane in front; the form once its widgets are there."""
    await pilot.press(key)
    await wait_until(pilot, lambda: screen_name(app) == "FormScreen")
    await wait_until(pilot, lambda: bool(app.screen.query(f"#f-{field}" if field else "#save")))
    await pilot.pause(0.1)
    return app.screen


async def test_a_form_takes_the_first_keys_and_tab_leaves_the_sql_field(make_app, services):
    async with console(make_app) as (app, pilot):
        await open_list(app, pilot, "4", "jobs", 7)
        form = await open_form(app, pilot, "n", "name")
        await pilot.press(*"daily")  # nothing clicked first
        assert form.query_one("#f-name").value == "daily"
        form.query_one("#f-sql").focus()
        await pilot.press(*"SELECT 1", "tab")
        assert form.query_one("#f-sql").text == "SELECT 1"  # no indent typed
        assert app.focused is form.query_one("#f-target_table")


async def test_an_error_under_a_field_out_of_view_is_brought_into_view(make_app, services):
    async with console(make_app) as (app, pilot):
        await open_list(app, pilot, "4", "jobs", 7)
        form = await open_form(app, pilot, "n", "name")
        await pilot.press(*"daily")
        form.query_one("#f-sql").text = "SELECT 1"
        form.query_one("#f-timeout_seconds").value = "soon"  # the last field, far below
        await pilot.press("ctrl+s")
        error = form.query_one("#e-timeout_seconds", Static)
        await wait_until(pilot, lambda: "whole number" in text_of(error))
        box = form.query_one("#form")
        await wait_until(pilot, lambda: box.region.contains_region(error.region))
        assert app.focused is form.query_one("#f-timeout_seconds")
        assert "daily" not in {j.name for j in services.jobs.list(ANA, "demo")}


async def test_every_confirmation_says_its_verb(make_app, services):
    services.connections.create(ANA, "old", "s3", {"endpoint": "http://127.0.0.1:9"})
    job_id = add_run(services, "gold_top_meters", "failed")
    seen = {}
    async with console(make_app) as (app, pilot):
        jobs = await open_list(app, pilot, "4", "jobs", 7)
        for key, field in (("n", "name"), ("S", "name"), ("e", "sql"), ("r", None)):
            jobs.move_cursor(row=jobs.get_row_index("gold_top_meters"))
            form = await open_form(app, pilot, key, field)
            seen[f"jobs {key}"] = str(form.query_one("#save").label)
            await pilot.press("escape")
        await open_list(app, pilot, "6", "connections", 1)
        form = await open_form(app, pilot, "d")
        seen["connections d"] = str(form.query_one("#save").label)
        await pilot.press("escape")
        runs = await open_list(app, pilot, "5", "runs", 1)
        runs.focus()
        for key in ("c", "R"):
            form = await open_form(app, pilot, key)
            seen[f"runs {key}"] = str(form.query_one("#save").label)
            await pilot.press("escape")
    assert seen == {
        "jobs n": "Create (ctrl+s)",
        "jobs S": "Create (ctrl+s)",
        "jobs e": "Save (ctrl+s)",
        "jobs r": "Run (ctrl+s)",
        "connections d": "Delete (ctrl+s)",
        "runs c": "Cancel run (ctrl+s)",
        "runs R": "Retry (ctrl+s)",
    }
    # Esc on each changed nothing.
    assert [c.name for c in services.connections.list(ANA)] == ["old"]
    assert services.runs.get(ANA, job_id).state == "failed"
    assert len(services.runs.list(ANA, "demo")) == 1


async def test_cancel_and_retry_ask_first_then_act(make_app, services):
    queued = add_run(services, "gold_top_meters", "queued", minute=1)
    failed = add_run(services, "gold_top_meters", "failed", minute=0)
    async with console(make_app) as (app, pilot):
        runs = await open_list(app, pilot, "5", "runs", 2)
        runs.move_cursor(row=runs.get_row_index(str(queued)))
        await pilot.press("c")
        await wait_until(pilot, lambda: screen_name(app) == "FormScreen")
        await pilot.pause(0.3)
        assert services.runs.get(ANA, queued).state == "queued"  # not before the answer
        await pilot.press("enter")  # the verb's button has the focus
        await wait_until(pilot, lambda: services.runs.get(ANA, queued).state == "cancelled")
        runs.focus()
        runs.move_cursor(row=runs.get_row_index(str(failed)))
        await pilot.press("R")
        await wait_until(pilot, lambda: screen_name(app) == "FormScreen")
        await pilot.pause(0.3)
        assert len(services.runs.list(ANA, "demo")) == 2
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(services.runs.list(ANA, "demo")) == 3)


# -- filters --------------------------------------------------------------------------------


async def test_a_filter_shows_in_its_pane_and_stays_there(make_app):
    async with console(make_app) as (app, pilot):
        audit = await open_list(app, pilot, "8", "audit", None)
        await wait_until(pilot, lambda: audit.row_count > 5)
        total = audit.row_count
        await pilot.press("slash", *"zzz", "enter")
        await wait_until(pilot, lambda: audit.row_count == 0)
        title = app.query_one("#audit .pane-title")
        assert "/zzz" in text_of(title)  # an empty list says why
        jobs = await open_list(app, pilot, "4", "jobs", 7)  # another pane: not filtered
        assert "filtered" not in text_of(app.query_one("#jobs .pane-title"))
        await pilot.press("slash")  # its own filter, empty, not Audit's
        assert app.query_one("#command").value == ""
        await pilot.press("escape")
        assert jobs.row_count == 7
        await pilot.press("8")
        await wait_until(pilot, lambda: audit.has_focus)
        assert "/zzz" in text_of(title) and audit.row_count == 0
        await pilot.press("slash")
        assert app.query_one("#command").value == "zzz"  # to edit, or Esc clears it
        await pilot.press("escape")
        await wait_until(pilot, lambda: audit.row_count == total)
        assert "filtered" not in text_of(title)


async def test_catalog_filter_shows_and_catalog_alone_clears_it(make_app):
    async with console(make_app) as (app, pilot):
        await pilot.press("colon", *"catalog demo_gold", "enter")
        tree = app.query_one("#catalog-tree")
        await wait_until(pilot, lambda: len(tree.root.children) == 1)
        title = app.query_one("#catalog .pane-title")
        await wait_until(pilot, lambda: "/demo_gold" in text_of(title))
        await pilot.press("colon", *"catalog", "enter")
        await wait_until(pilot, lambda: len(tree.root.children) == 3)
        assert "filtered" not in text_of(title)


async def test_the_audit_filters_form_shows_in_the_title(make_app):
    async with console(make_app) as (app, pilot):
        await open_list(app, pilot, "8", "audit", None)
        form = await open_form(app, pilot, "F", "user")
        form.query_one("#f-action").value = "workspace."
        await pilot.press("ctrl+s")
        title = app.query_one("#audit .pane-title")
        await wait_until(pilot, lambda: "action=workspace." in text_of(title))


# -- lists ----------------------------------------------------------------------------------


async def test_every_list_has_each_column_header_once(make_app):
    from tui.app import PANES

    async with console(make_app) as (app, pilot):
        for i, pane in enumerate(PANES):
            await pilot.press(str(i + 1))
            await pilot.pause(0.2)
            if not getattr(pane, "COLUMNS", ()):
                continue
            table = app.query_one(f"#{pane.KEY} DataTable", DataTable)
            labels = [str(c.label) for c in table.columns.values()]
            assert labels == list(pane.COLUMNS), pane.KEY


async def test_the_jobs_list_follows_changes_made_elsewhere(make_app, services):
    async with console(make_app) as (app, pilot):
        jobs = await open_list(app, pilot, "4", "jobs", 7)
        services.jobs.create(ANA, "demo", "elsewhere", "sql", {"sql": "SELECT 1"})  # the CLI
        await wait_until(pilot, lambda: jobs.row_count == 8, timeout=6)


# -- SQL ------------------------------------------------------------------------------------


async def sql_ran(app, pilot, text: str, key: str = "f5") -> Static:
    await pilot.press("3")
    editor = app.query_one("#editor", TextArea)
    editor.text = text
    editor.focus()
    editor.move_cursor(editor.document.end)
    await pilot.press(key)
    return app.query_one("#sql-status", Static)


async def test_f5_right_after_a_semicolon_runs_the_statement_before_it(make_app):
    async with console(make_app) as (app, pilot):
        status = await sql_ran(app, pilot, "SELECT 1 AS a;\nSELECT 42 AS answer, 2 AS b;")
        await wait_until(pilot, lambda: "1 rows" in text_of(status))
        assert app.query_one("#sql")._result.column_names == ["answer", "b"]
        assert "nothing to run" not in notices(app)


async def test_ctrl_at_completes_as_ctrl_space_does(make_app):
    """tmux and xterm send ctrl+space as NUL; Textual reads that as ctrl+@."""
    from textual._xterm_parser import XTermParser

    assert [e.key for e in XTermParser().feed("\x00")] == ["ctrl+@"]
    async with console(make_app) as (app, pilot):
        await sql_ran(app, pilot, "SELECT * FROM demo_gold.top", key="ctrl+@")
        editor = app.query_one("#editor", TextArea)
        await wait_until(pilot, lambda: editor.text == "SELECT * FROM demo_gold.top_meters")


async def test_enter_in_the_history_opens_the_statement(make_app):
    async with console(make_app) as (app, pilot):
        status = await sql_ran(app, pilot, "SELECT 7 AS seven")
        await wait_until(pilot, lambda: "1 rows" in text_of(status))
        for focus_table in (False, True):
            await pilot.press("ctrl+o")
            await wait_until(pilot, lambda: screen_name(app) == "HistoryScreen")
            history = app.screen.query_one("#history-table", DataTable)
            await wait_until(pilot, lambda h=history: h.row_count >= 1)
            if focus_table:
                history.focus()
            tabs = len(app.query_one("#sql")._tabs)
            await pilot.press("enter")
            await wait_until(pilot, lambda: screen_name(app) != "HistoryScreen")
            assert len(app.query_one("#sql")._tabs) == tabs + 1
            assert app.query_one("#editor", TextArea).text == "SELECT 7 AS seven"


async def test_ctrl_c_in_the_result_grid_copies_the_cell(make_app):
    async with console(make_app) as (app, pilot):
        status = await sql_ran(app, pilot, "SELECT 42 AS answer, 'x' AS b")
        await wait_until(pilot, lambda: "1 rows" in text_of(status))
        app.query_one("#sql").focus_results()
        await pilot.press("ctrl+c")
        assert app.clipboard == "42"
        assert any("copied 1 cell" in n for n in notices(app))


async def test_export_and_log_save_default_to_the_current_directory(
    make_app, services, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    run_id = add_run(services, "gold_top_meters", "failed", log=["one", "two"])
    async with console(make_app) as (app, pilot):
        status = await sql_ran(app, pilot, "SELECT 1 AS one")
        await wait_until(pilot, lambda: "1 rows" in text_of(status))
        form = await open_form(app, pilot, "ctrl+e", "path")
        assert form.query_one("#f-path").value == str(tmp_path / "sadeem-results.csv")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: (tmp_path / "sadeem-results.csv").exists())
        await pilot.press("escape")  # out of the editor
        runs = await open_list(app, pilot, "5", "runs", 1)
        runs.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(getattr(app.screen, "lines", [])) == 2)
        await pilot.press("s")
        saved = tmp_path / f"sadeem-run-{run_id}.log"
        await wait_until(pilot, lambda: saved.exists())
        assert saved.read_text() == "one\ntwo\n"
