"""Job parameters are values, never SQL (README "Jobs, schedules and runs"): an injection
attempt through `job run --param` or the service runs only the intended statement, typed
values are checked when a run is triggered (one line, exit 2, nothing queued), and the
README's Spark example parses as written."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from engine.cli.main import main
from engine.errors import ValidationError
from engine.templating import render, render_sql

README = Path(__file__).resolve().parents[2] / "README.md"
VALUES = {"workspace": "w", "ds": "2026-11-24", "run_id": 7}


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def ws(tmp_path, capsys):
    """Workspace `w` (embedded DuckDB) with a table `w_bronze.keep` of 3 rows."""
    d = ("--data-dir", str(tmp_path))
    assert cli(capsys, "workspace", "create", "w", *d)[0] == 0
    assert cli(capsys, "workspace", "provision", "w", "--apply", *d)[0] == 0
    code, _, err = cli(
        capsys,
        "sql",
        "-w",
        "w",
        "-e",
        "CREATE TABLE w_bronze.keep AS SELECT range AS x FROM range(3)",
        *d,
    )
    assert code == 0, err
    return d


def keep_rows(capsys, d) -> int:
    code, out, err = cli(
        capsys, "sql", "-w", "w", "-e", "SELECT count(*) AS n FROM w_bronze.keep", "--format",
        "json", *d,
    )  # fmt: skip
    assert code == 0, err
    return json.loads(out)["rows"][0]["n"]


def job(capsys, d, name: str, sql: str, *extra: str) -> tuple[int, str, str]:
    return cli(capsys, "job", "create", "-w", "w", name, "--type", "sql", "--sql", sql, *extra, *d)


def stored_value(capsys, d, table: str) -> str:
    code, out, err = cli(
        capsys, "sql", "-w", "w", "-e", f"SELECT v FROM {table}", "--format", "json", *d
    )
    assert code == 0, err
    return json.loads(out)["rows"][0]["v"]


def test_statement_injection_through_cli_param_runs_only_the_intended_statement(ws, capsys):
    d = ws
    assert job(capsys, d, "echo", "SELECT {{ params.x }} AS v", "--param", "x=0",
               "--target-table", "w_silver.echo", "--mode", "overwrite")[0] == 0  # fmt: skip
    attack = "1; DROP TABLE w_bronze.keep"
    code, _, err = cli(capsys, "job", "run", "-w", "w", "echo", "--param", f"x={attack}",
                         "--wait", *d)  # fmt: skip
    assert code == 0, err
    assert keep_rows(capsys, d) == 3
    # The whole text arrived as one value: the data, not a statement.
    assert stored_value(capsys, d, "w_silver.echo") == attack


def test_quote_breaking_value_stays_inside_the_authors_quotes(ws, capsys):
    d = ws
    assert job(capsys, d, "quoted", "SELECT 'got: {{ params.s }}' AS v", "--param", "s=",
               "--target-table", "w_silver.quoted", "--mode", "overwrite")[0] == 0  # fmt: skip
    attack = "x' AS v; DROP TABLE w_bronze.keep; SELECT 'y"
    code, _, err = cli(capsys, "job", "run", "-w", "w", "quoted", "--param", f"s={attack}",
                       "--wait", *d)  # fmt: skip
    assert code == 0, err
    assert keep_rows(capsys, d) == 3
    assert stored_value(capsys, d, "w_silver.quoted") == f"got: {attack}"


def test_typed_value_refused_at_trigger_with_one_line_and_nothing_queued(ws, capsys):
    d = ws
    assert job(capsys, d, "lim", "SELECT * FROM w_bronze.keep LIMIT {{ params.n }}",
               "--param", "n:int=2")[0] == 0  # fmt: skip
    code, out, err = cli(capsys, "job", "run", "-w", "w", "lim", "--param",
                         "n=1; DROP TABLE w_bronze.keep", *d)  # fmt: skip
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "'n' must be a whole number" in err
    code, out, _ = cli(capsys, "run", "list", "-w", "w", "--json", *d)
    assert json.loads(out) == []
    # A good value runs and renders as a number (the log shows the statement).
    code, _, err = cli(capsys, "job", "run", "-w", "w", "lim", "--param", "n=1", "--wait", *d)
    assert code == 0, err
    run_id = json.loads(cli(capsys, "run", "list", "-w", "w", "--json", *d)[1])[0]["id"]
    assert "LIMIT 1" in cli(capsys, "run", "logs", str(run_id), *d)[1]


@pytest.mark.parametrize(
    ("decl", "bad", "message"),
    [
        ("n:int=1", "1.5", "whole number"),
        ("n:number=1.5", "1e999", "a number"),
        ("n:date=2026-01-01", "2026-02-30", "ISO date"),
        ("n:bool=true", "maybe", "true or false"),
        ("n:identifier=keep", 'keep"; DROP TABLE w_bronze.keep; --', "identifier"),
        ("n:identifier=keep", "Keep", "identifier"),
    ],
)
def test_each_type_refuses_a_bad_value(ws, capsys, decl, bad, message):
    d = ws
    assert job(capsys, d, "t", "SELECT {{ params.n }} AS v", "--param", decl)[0] == 0
    code, _, err = cli(capsys, "job", "run", "-w", "w", "t", "--param", f"n={bad}", *d)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert json.loads(cli(capsys, "run", "list", "-w", "w", "--json", *d)[1]) == []


def test_identifier_parameter_names_a_table(ws, capsys):
    d = ws
    assert job(capsys, d, "pick", "SELECT count(*) AS v FROM w_bronze.{{ params.t }}",
               "--param", "t:identifier=keep", "--target-table", "w_silver.pick",
               "--mode", "overwrite")[0] == 0  # fmt: skip
    code, _, err = cli(capsys, "job", "run", "-w", "w", "pick", "--wait", *d)
    assert code == 0, err
    assert stored_value(capsys, d, "w_silver.pick") == 3


def test_bad_default_or_unknown_type_refused_at_save(ws, capsys):
    d = ws
    code, _, err = job(capsys, d, "a", "SELECT {{ params.n }}", "--param", "n:int=ten")
    assert code == 2 and "whole number" in err
    code, _, err = job(capsys, d, "b", "SELECT {{ params.n }}", "--param", "n:integer=1")
    assert code == 2 and "unknown type" in err and "identifier" in err
    # Schedules fire with the defaults: what was saved is what a scheduled run uses.
    assert cli(capsys, "job", "list", "-w", "w", "--json", *d)[1].strip() == "[]"


def test_service_trigger_and_retry_check_types(services, admin):
    svc = services
    svc.workspaces.create(admin, "w")
    svc.jobs.create(admin, "w", "j", "sql", {
        "sql": "SELECT {{ params.n }} AS n", "params": {"n": "1"}, "param_types": {"n": "int"},
    })  # fmt: skip
    with pytest.raises(ValidationError, match="whole number"):
        svc.runs.trigger(admin, "w", "j", parameters={"n": "1 OR 1=1"})
    assert svc.runs.list(admin, "w") == []
    run = svc.runs.trigger(admin, "w", "j", parameters={"n": "2"})
    svc.runs.cancel(admin, run.id)
    # The job now takes a date: retrying the run with its old value is refused.
    svc.jobs.edit(admin, "w", "j", definition={"param_types": {"n": "date"}, "params": {
        "n": "2026-01-01"}})  # fmt: skip
    with pytest.raises(ValidationError, match="ISO date"):
        svc.runs.retry(admin, run.id)
    assert len(svc.runs.list(admin, "w")) == 1


# -- rendering, pinned from the README's rules ------------------------------------------


def test_literals_as_the_readme_says():
    sql = (
        "SELECT {{ params.s }}, {{ params.i }}, {{ params.f }}, {{ params.d }}, {{ params.b }}, "
        "{{ params.t }}, {{ ds }}, {{ run_id }} FROM {{ workspace }}_gold.x"
    )
    params = {"s": "it's", "i": "10", "f": "2.5", "d": "2026-01-31", "b": "yes", "t": "col"}
    types = {"i": "int", "f": "number", "d": "date", "b": "bool", "t": "identifier"}
    assert render_sql(sql, VALUES, params, types) == (
        "SELECT 'it''s', 10, 2.5, DATE '2026-01-31', TRUE, \"col\", '2026-11-24', 7 FROM w_gold.x"
    )


def test_templates_inside_quotes_and_comments():
    params = {"s": "a'b\"c"}
    assert render_sql("SELECT '{{ params.s }}'", VALUES, params) == "SELECT 'a''b\"c'"
    assert render_sql('SELECT 1 AS "{{ params.s }}"', VALUES, params) == 'SELECT 1 AS "a\'b""c"'
    # In a comment a value could end the comment: the template is left as written.
    text = "SELECT 1 -- {{ params.s }}\n/* {{ params.s }} */"
    assert render_sql(text, VALUES, {"s": "x\nDROP TABLE t"}) == text


def test_a_line_comment_ends_at_a_carriage_return_as_in_duckdb():
    """DuckDB ends `--` at CR as well as LF: a template after `--\\r'\\n'` is code there,
    so it must render as a literal, not as text between the author's quotes."""
    import duckdb

    sql = "SELECT --\r'\n'{{ params.s }}' AS s"
    rendered = render_sql(sql, VALUES, {"s": ", 42 AS pwned --"})
    try:
        columns = [d[0] for d in duckdb.connect().execute(rendered).description]
    except duckdb.Error:
        columns = []  # the author's stray quote is a syntax error: nothing runs
    assert "pwned" not in columns, rendered


@pytest.mark.parametrize(
    "sql", ["SELECT E'{{ params.s }}'", "SELECT $$ {{ params.s }} $$", "SELECT $q$ {{ ds }} $q$",
            "SELECT 1 /* a /* b */ {{ params.s }} */"],
)  # fmt: skip
def test_templates_where_no_quoting_is_safe_are_refused(sql):
    with pytest.raises(ValidationError, match="sql"):
        render_sql(sql, VALUES, {"s": "x"})


def test_spark_arguments_are_plain_text_checked_by_type():
    assert render("--n={{ params.n }}", VALUES, {"n": "3"}, {"n": "int"}) == "--n=3"
    assert render("{{ params.s }}", VALUES, {"s": "a b; rm -rf /"}) == "a b; rm -rf /"
    with pytest.raises(ValidationError, match="whole number"):
        render("{{ params.n }}", VALUES, {"n": "3; x"}, {"n": "int"})


def test_readme_spark_example_parses_as_written(tmp_path, capsys):
    block = README.read_text()
    m = re.search(r"sadeem job create -w demo ingest .*?\n.*?\n", block)
    assert m, "the README's Spark example is gone"
    argv = shlex.split(m.group(0).replace("\\\n", " "))[1:]
    d = ("--data-dir", str(tmp_path))
    assert cli(capsys, "workspace", "create", "demo", *d)[0] == 0
    code, _, err = cli(capsys, "connection", "create", "k8s", "--type", "spark_operator",
                       "--set", "namespace=spark", *d)  # fmt: skip
    assert code == 0, err
    code, out, err = cli(capsys, *argv, "--json", *d)
    assert code == 0, err
    definition = json.loads(out)["definition"]
    assert definition["arguments"] == ["--ds", "{{ ds }}"]
    assert definition["executor_instances"] == 4


def test_editing_parameters_keeps_the_types_of_those_left(services, admin):
    services.workspaces.create(admin, "w")
    services.jobs.create(admin, "w", "j", "sql", {
        "sql": "SELECT {{ params.n }}", "params": {"n": "1", "m": "x"}, "param_types": {"n": "int"},
    })  # fmt: skip
    view = services.jobs.edit(admin, "w", "j", definition={"params": {"n": "2"}})
    assert view.definition["param_types"] == {"n": "int"}
    with pytest.raises(ValidationError, match="whole number"):
        services.runs.trigger(admin, "w", "j", parameters={"n": "two"})


def test_injection_through_the_service_runs_only_the_intended_statement(services, admin):
    """The same attacks through RunService.trigger (the console and API path), run by the
    runner: each value lands as data and the table is still there."""
    import time

    from engine.runner.engine import Engine

    svc = services
    svc.workspaces.create(admin, "w")
    svc.provisioning.apply(admin, "w")
    svc.sql.execute(admin, "w", "CREATE TABLE w_bronze.keep AS SELECT 1 AS x").fetch()
    svc.jobs.create(admin, "w", "j", "sql", {
        "sql": "SELECT {{ params.a }} || '|' || '{{ params.b }}' AS v",
        "params": {"a": "", "b": ""}, "target_table": "w_silver.out", "mode": "overwrite",
    })  # fmt: skip
    a = "x'); DROP TABLE w_bronze.keep; --"
    b = "'; DROP TABLE w_bronze.keep; SELECT '"
    run = svc.runs.trigger(admin, "w", "j", parameters={"a": a, "b": b})
    engine = Engine(svc, poll_interval=0.05).start()
    try:
        deadline = time.monotonic() + 60
        while svc.runs.get(admin, run.id).state not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, "the run did not finish"
            time.sleep(0.05)
    finally:
        engine.stop(grace_s=2)
    assert svc.runs.get(admin, run.id).state == "succeeded"
    got = svc.sql.execute(admin, "w", "SELECT v FROM w_silver.out").fetch().to_pylist()
    assert got == [{"v": f"{a}|{b}"}]
    assert svc.sql.execute(admin, "w", "SELECT x FROM w_bronze.keep").fetch().num_rows == 1
