"""Scripts of several statements (issue 14, "Multi-statement SQL never runs"; README "SQL"):
`sadeem sql -e "SELECT 1; SELECT 2"` and `-f script.sql` run every statement in turn and
print each result (`--json`: one JSON object per statement, one per line); every statement
is checked (SQL rules, role, read-only) before the first one runs, so a script with one
refused statement changes nothing; one splitter for every front end keeps the semicolons
of strings, quoted names, comments and dollar quotes."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from engine.cli.main import main
from engine.errors import PermissionDenied, QueryError
from engine.sql_analysis import split_text, statement_at
from tests.engine.runner.conftest import table_rows


@pytest.mark.parametrize(
    ("script", "statements"),
    [
        ("SELECT 1; SELECT 2", ["SELECT 1", "SELECT 2"]),
        ("SELECT 'a;b' AS s;\nSELECT 2;", ["SELECT 'a;b' AS s", "SELECT 2"]),
        ('SELECT 1 AS "x;y"; SELECT 2', ['SELECT 1 AS "x;y"', "SELECT 2"]),
        ("SELECT $$a;b$$; SELECT 2", ["SELECT $$a;b$$", "SELECT 2"]),
        ("SELECT $t$ a; b $t$ AS v; SELECT 3", ["SELECT $t$ a; b $t$ AS v", "SELECT 3"]),
        ("SELECT 1 /* a; b */; SELECT 2 -- c; d\n", ["SELECT 1", "SELECT 2"]),
        # A comment heading a statement is part of it, even with a `;` inside.
        ("SELECT 1;\n-- two; the second\nSELECT 2", ["SELECT 1", "-- two; the second\nSELECT 2"]),
        ("SELECT 1;;  ; -- only a comment\n", ["SELECT 1"]),
        ("  \n-- nothing\n", []),
    ],
)
def test_one_splitter_keeps_quoted_and_commented_semicolons(script, statements):
    assert split_text(script) == statements


def test_the_statement_under_the_cursor():
    text = "SELECT 1;\nSELECT 2;\n"
    at = [text[a:b] for a, b in (statement_at(text, i) or (0, 0) for i in range(len(text) + 1))]
    # In the first statement or right after its `;`: the first; from the second on: it,
    # also after the last `;` (F5 right after typing `;` runs what was typed).
    assert at[: text.index("\n") + 1] == ["SELECT 1"] * (text.index("\n") + 1)
    assert set(at[text.index("SELECT 2") :]) == {"SELECT 2"}
    assert statement_at("", 0) is None


# -- the CLI -----------------------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("scripts")
    assert main(["workspace", "create", "w", "--data-dir", str(d)]) == 0
    assert main(["workspace", "provision", "w", "--apply", "--data-dir", str(d)]) == 0
    return d


def test_cli_e_prints_every_statement(data_dir, capsys):
    code, out, err = run(
        capsys, "sql", "-w", "w", "--data-dir", str(data_dir), "-e", "SELECT 1 AS a; SELECT 2 AS b"
    )
    assert code == 0, err
    first, second = out.split("-- statement 2 of 2")
    assert "-- statement 1 of 2: SELECT 1 AS a" in first
    assert first.split("\n")[1:3] == ["A", "1"]
    assert second.split("\n")[1:3] == ["B", "2"]
    assert err.count("1 row(s)") == 2


def test_cli_f_runs_a_script_file_in_order(data_dir, capsys, tmp_path):
    script = tmp_path / "script.sql"
    script.write_text(
        "-- build; then read\n"
        "CREATE OR REPLACE TABLE w_bronze.s AS SELECT range AS n FROM range(3);\n"
        "INSERT INTO w_bronze.s SELECT 10;\n"
        "SELECT count(*) AS n, max(n) AS top FROM w_bronze.s;\n"
    )
    code, out, err = run(
        capsys, "sql", "-w", "w", "--data-dir", str(data_dir), "--json", "-f", str(script)
    )
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["statement"] for line in lines] == [1, 2, 3]
    assert lines[0]["sql"].startswith("-- build; then read\nCREATE OR REPLACE TABLE")
    assert lines[1]["rows"] == [{"table": "w_bronze.s", "rows": 1}]
    assert lines[2]["rows"] == [{"n": 4, "top": 10}]  # ran after both writes


def test_cli_json_is_one_object_per_statement_per_line(data_dir, capsys):
    code, out, err = run(
        capsys,
        "sql",
        "-w",
        "w",
        "--data-dir",
        str(data_dir),
        "--json",
        "-e",
        "SELECT 'x;y' AS s; SELECT range AS n FROM range(2)",
    )
    assert code == 0, err
    one, two = (json.loads(line) for line in out.strip().split("\n"))
    assert (one["statement"], one["columns"], one["rows"]) == (1, ["s"], [{"s": "x;y"}])
    assert (two["statement"], two["rows"]) == (2, [{"n": 0}, {"n": 1}])
    assert not one["truncated"] and two["query_id"]


def test_cli_a_refused_statement_anywhere_runs_nothing(data_dir, capsys, tmp_path):
    target = tmp_path / "x.csv"
    code, out, err = run(
        capsys,
        "sql",
        "-w",
        "w",
        "--data-dir",
        str(data_dir),
        "-e",
        f"CREATE TABLE w_bronze.first AS SELECT 1 AS a; COPY (SELECT 1) TO '{target}'",
    )
    assert code == 4 and out == ""
    assert err.startswith("error: statement 2 of 2: refused by the statement rule: COPY")
    assert len(err.strip().splitlines()) == 1
    code, out, err = run(capsys, "catalog", "ls", "w_bronze", "--data-dir", str(data_dir))
    assert "first" not in out and not target.exists()


# -- the service: every statement judged before any runs ----------------------------------


@pytest.fixture
def lake(services, admin):
    services.workspaces.create(admin, "w")
    services.provisioning.apply(admin, "w")
    return services


def run_script(services, actor, sql: str) -> list[list[dict]]:
    return [q.fetch().to_pylist() for q in services.sql.script(actor, "w", sql)]


@pytest.mark.parametrize(
    "bad",
    [
        "COPY (SELECT 1) TO '/tmp/sadeem-copy.csv'",  # never allowed
        "SELECT * FROM read_csv('/etc/passwd')",  # outside the workspace's files
        "CREATE TABLE other_bronze.t AS SELECT 1",  # another workspace's namespace
        "ATTACH '/tmp/x.db'",
    ],
)
def test_one_refused_statement_refuses_the_script_and_changes_nothing(lake, admin, bad):
    before = table_rows(lake)
    script = (
        f"CREATE TABLE w_bronze.half AS SELECT 1 AS a;\nINSERT INTO w_bronze.half SELECT 2;\n{bad}"
    )
    with pytest.raises(PermissionDenied, match=r"^statement 3 of 3: refused"):
        lake.sql.script(admin, "w", script)
    assert table_rows(lake) == before  # no history row, no audit event
    assert "half" not in lake.catalog.tables(admin, "w_bronze")


def test_a_viewer_and_a_read_only_session_run_no_read_before_a_write(lake, admin, make_member):
    viewer = make_member("w", "viewer")
    read_only = replace(make_member("w", "runner"), read_only=True)
    for actor in (viewer, read_only):
        before = table_rows(lake)
        with pytest.raises(PermissionDenied, match=r"^statement 2 of 2: "):
            lake.sql.script(actor, "w", "SELECT 1; CREATE TABLE w_bronze.v AS SELECT 1 AS a")
        assert table_rows(lake) == before
        # Reads alone run, one result each.
        assert run_script(lake, actor, "SELECT 1 AS a; SELECT 2 AS b") == [[{"a": 1}], [{"b": 2}]]
    assert "v" not in lake.catalog.tables(admin, "w_bronze")


def test_a_statement_that_fails_stops_the_script_and_says_where(lake, admin):
    script = (
        "CREATE TABLE w_bronze.done AS SELECT 1 AS a;\n"
        "\n"
        "  SELECT nope FROM w_bronze.done;\n"
        "CREATE TABLE w_bronze.never AS SELECT 1 AS a"
    )
    queries = iter(lake.sql.script(admin, "w", script))
    next(queries).fetch()
    with pytest.raises(QueryError) as caught:
        next(queries).fetch()
    err = caught.value
    assert str(err).startswith("statement 2 of 3: ")
    # Line and column in the script, not in the statement: `nope` is on line 3, column 10.
    assert (err.line, err.column) == (3, 10)
    assert "done" in lake.catalog.tables(admin, "w_bronze")
    assert "never" not in lake.catalog.tables(admin, "w_bronze")
    history = lake.sql.history(admin, workspace="w")
    assert [h.state for h in history] == ["failed", "succeeded"]


def test_every_statement_is_its_own_history_row_and_write_event(lake, admin):
    run_script(
        lake,
        admin,
        "CREATE TABLE w_bronze.h AS SELECT 1 AS a; SELECT * FROM w_bronze.h; DROP TABLE w_bronze.h",
    )
    history = lake.sql.history(admin, workspace="w")
    assert [h.sql for h in reversed(history)] == [
        "CREATE TABLE w_bronze.h AS SELECT 1 AS a",
        "SELECT * FROM w_bronze.h",
        "DROP TABLE w_bronze.h",
    ]
    events = [e for e in lake.audit.list(admin, workspace="w") if e.action == "sql.write"]
    assert sorted(e.details["kinds"][0] for e in events) == ["create_table_as", "drop_table"]


@pytest.mark.parametrize("change", ["demoted", "removed", "deactivated"])
def test_a_role_taken_away_mid_script_stops_its_next_statement(lake, admin, make_member, change):
    """Attack: start a long script as a runner, lose the role while it runs; the checks
    made before the first statement must not carry the rest (a revoked role takes effect
    at once, at the next statement)."""
    runner = make_member("w", "runner")
    queries = iter(
        lake.sql.script(
            runner,
            "w",
            "CREATE TABLE w_bronze.first AS SELECT 1 AS a;\n"
            "CREATE TABLE w_bronze.second AS SELECT 2 AS a",
        )
    )
    next(queries).fetch()
    if change == "demoted":
        lake.workspaces.remove_member(admin, "w", runner.username)
        lake.workspaces.add_member(admin, "w", runner.username, "viewer")
    elif change == "removed":
        lake.workspaces.remove_member(admin, "w", runner.username)
    else:
        lake.users.update(admin, runner.username, active=False)
    with pytest.raises(PermissionDenied):
        next(queries).fetch()
    assert "first" in lake.catalog.tables(admin, "w_bronze")
    assert "second" not in lake.catalog.tables(admin, "w_bronze")
