"""`sadeem demo` on a fresh data dir builds real bronze/silver/gold tables; the catalog,
sql, provisioning, separation and connection-test CLI verbs work on them."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest

from engine.cli.main import main
from engine.services.demo import PIPELINE, RAW_DIR


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--data-dir", str(data), "--json"]) == 0
    return data


def sql_rows(capsys, demo_dir, query: str) -> list[dict]:
    """`sadeem sql -w demo --json -e QUERY`: its rows (the command must succeed)."""
    code, out, err = run(
        capsys, "sql", "-w", "demo", "--json", "--data-dir", str(demo_dir), "-e", query
    )
    assert code == 0, err
    return json.loads(out)["rows"]


def test_demo_tables_match_the_raw_files(demo_dir, capsys):
    d = ("--data-dir", str(demo_dir))
    with open(RAW_DIR / "readings.csv") as fh:
        raw = list(csv.DictReader(fh))
    count = sql_rows(capsys, demo_dir, "SELECT count(*) AS n FROM demo_bronze.readings")
    assert count == [{"n": len(raw)}]
    rejected = sql_rows(
        capsys,
        demo_dir,
        "SELECT reason, count(*) AS n FROM demo_silver.rejected_readings "
        "GROUP BY reason ORDER BY reason",
    )
    reasons = {r["reason"]: r["n"] for r in rejected}
    assert set(reasons) == {"bad_timestamp", "missing_kwh", "negative_kwh", "unknown_meter"}
    (row,) = sql_rows(
        capsys,
        demo_dir,
        "SELECT count(*) AS n, count(DISTINCT meter_id || CAST(read_at AS VARCHAR))"
        " AS k FROM demo_silver.readings",
    )
    assert row["n"] == row["k"]  # deduplicated
    assert row["n"] + sum(reasons.values()) < len(raw)  # the duplicates went too
    _code, out, _ = run(capsys, "catalog", "ls", "--json", *d)
    assert [n["namespace"] for n in json.loads(out)] == ["demo_bronze", "demo_silver", "demo_gold"]
    _code, out, _ = run(capsys, "catalog", "ls", "demo_gold", *d)
    assert "demo_gold.daily_consumption" in out and "demo_gold.top_meters" in out
    built = {step for step, _ in PIPELINE}
    assert len(built) == 7


def test_catalog_show_sql_export_and_history(demo_dir, capsys, tmp_path):
    d = ("--data-dir", str(demo_dir))
    code, out, _ = run(
        capsys,
        "catalog",
        "show",
        "demo_gold.top_meters",
        "--snapshots",
        "--sample",
        "3",
        "--json",
        *d,
    )
    info = json.loads(out)
    assert info["total_records"] == 20 and len(info["sample"]) == 3
    assert [c["name"] for c in info["columns"]] == ["meter_id", "region", "tariff", "total_kwh"]
    target = tmp_path / "readings.parquet"
    code, out, _ = run(
        capsys,
        "sql",
        "-w",
        "demo",
        *d,
        "-e",
        "SELECT * FROM demo_silver.readings",
        "-o",
        str(target),
    )
    assert code == 0 and pq.read_table(target).num_rows > 11000
    for fmt in ("csv", "json"):
        path = tmp_path / f"top.{fmt}"
        assert (
            main(
                [
                    "sql",
                    "-w",
                    "demo",
                    *d,
                    "-e",
                    "SELECT * FROM demo_gold.top_meters",
                    "-o",
                    str(path),
                ]
            )
            == 0
        )
        text = path.read_text()
        assert text.count("\n") == (21 if fmt == "csv" else 20)
    code, out, err = run(capsys, "sql", "-w", "demo", *d, "-e", "SELEC 1")
    assert code == 6 and "line 1, column 1" in err
    code, out, _ = run(
        capsys, "sql", "-w", "demo", "--history", "--search", "SELEC 1", "--json", *d
    )
    assert json.loads(out)[0]["state"] == "failed"


def test_provision_check_and_connection_test_cli(demo_dir, capsys):
    d = ("--data-dir", str(demo_dir))
    code, out, _ = run(capsys, "workspace", "provision", "demo", "--json", *d)
    assert code == 0 and {s["state"] for s in json.loads(out)["steps"]} == {"exists"}
    code, out, _ = run(capsys, "workspace", "check", "--json", *d)
    assert code == 0 and json.loads(out) == []
    run(
        capsys,
        "sql",
        "-w",
        "demo",
        *d,
        "-e",
        "CREATE TABLE demo_gold.copy AS SELECT * FROM demo_gold.top_meters",
    )
    code, out, _ = run(capsys, "workspace", "create", "other", *d)
    code, out, _ = run(capsys, "workspace", "provision", "other", "--apply", *d)
    assert code == 0
    code, out, err = run(
        capsys, "sql", "-w", "other", *d, "-e", "SELECT * FROM demo_gold.top_meters"
    )
    # Each workspace's embedded DuckDB reads only its own workspace: admins too.
    assert code == 4 and "separation rule" in err and "'demo'" in err
    code, out, _ = run(capsys, "connection", "test", "--json", *d)
    assert code == 0 and all(h["ok"] for h in json.loads(out))
