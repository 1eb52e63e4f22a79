import pytest

from tests.bench.bench_cli_startup import commands_report, print_commands, report


@pytest.mark.bench
def test_cli_help_startup():
    figures = report(30)
    print(figures)
    assert figures["sadeem_help_median_ms"] > figures["python_pass_median_ms"]


@pytest.mark.bench
def test_cli_light_paths_beside_raw_duckdb():
    figures = commands_report(9)
    print_commands(figures)
    sql = figures["sadeem sql -e 'SELECT 1'"]
    # A figure, not a target: what was measured must be the commands themselves, run.
    assert sql["wall_ms"] > figures["anchor: raw duckdb select 1"]["wall_ms"] > 0
    assert sql["import_sqlglot_ms"] > 0  # the sandbox's parser: every statement is checked
    assert "import_sqlglot_ms" not in figures["sadeem run list"]  # listing runs parses no SQL
    assert "import_pyiceberg_ms" not in sql  # no table named: no Iceberg client
