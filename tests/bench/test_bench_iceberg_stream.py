"""Benchmark (issue 17, items 3 and 4): streaming Iceberg reads and writes of the embedded
engine, each measured in a fresh child process (time of the statement, peak RSS = VmHWM),
anchor and Sadeem side by side in one run. Never timed assertions.

- `SELECT count(*)` (and a scan of every column) on a 6M-row table in an S3 + REST catalog
  workspace (SeaweedFS on loopback), at 1x and 3x the size; anchor: the same table on local
  files. Target: peak RSS <= 300 MB and the same within 10% at 1x and 3x; time <= 1.5x local.
- CTAS of a 6M-row result into Iceberg; anchor: raw pyarrow + pyiceberg append of the same
  result. Target: time <= 1.1x, peak RSS <= 0.3x.

Run: python3 -m pytest tests/bench/test_bench_iceberg_stream.py -m bench -s
(BENCH_ROWS=... to change the 6M rows; BENCH_ROUNDS=... rounds, 3 by default: each round
runs the anchor and Sadeem one after the other, and the medians are printed, time ratios
as the median of each round's own ratio, since a shared machine's load drifts.)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.fixtures.seaweed import seaweed  # noqa: F401 - the S3 + REST catalog server

ROOT = Path(__file__).resolve().parents[2]
ROWS = int(os.environ.get("BENCH_ROWS", "6000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CHUNK = 1_000_000  # rows per load append: several files, as a table fed over time has
# ~165 bytes of Arrow a row, like the table (992 MiB for 6M rows).
DATA = (
    "SELECT range AS id, range % 5000 AS meter, (range % 97) * 0.25 AS kwh, "
    "TIMESTAMP '2026-01-01' + to_seconds(range) AS ts, 'site-' || (range % 300) AS site, "
    "repeat(md5((range % 5000)::VARCHAR), 3) AS note FROM range({start}, {stop})"
)

PRELUDE = """
import json, sys, time
cfg = json.loads(sys.argv[1])
from engine.backends.iceberg import IcebergCatalog
def catalog():
    if cfg["kind"] == "rest":
        return IcebergCatalog.rest(cfg["uri"], warehouse=cfg["warehouse"],
            credential=cfg["credential"], s3_endpoint=cfg["endpoint"], s3_region=cfg["region"],
            s3_access_key=cfg["key"], s3_secret_key=cfg["secret"])
    return IcebergCatalog.embedded(__import__("pathlib").Path(cfg["dir"]))
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

LOAD = """
import duckdb, pyarrow as pa
cat = catalog()
if cfg.get("location"):
    cat.create_namespace(("bench",), {"location": cfg["location"]})
elif not cat.pyiceberg_catalog().namespace_exists(("bench",)):
    cat.create_namespace(("bench",), {})
table = None
for start in range(0, cfg["rows"], cfg["chunk"]):
    stop = min(cfg["rows"], start + cfg["chunk"])
    data = duckdb.sql(cfg["data"].format(start=start, stop=stop)).to_arrow_table()
    if table is None:
        table = cat.create_table(cfg["table"], data.schema)
    table.append(data.cast(table.schema().as_arrow()))
print(json.dumps({"location": table.location()}))
"""

QUERY = """
from engine.backends.base import QueryContext
from engine.backends.duckdb import DuckDBBackend
backend = DuckDBBackend(catalog().pyiceberg_catalog(), workspace_uri=cfg["root"])
start = time.perf_counter()
out = backend.execute(cfg["sql"], QueryContext(user="bench")).fetch()
seconds = time.perf_counter() - start
result = out.to_pylist()[0]
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "result": result}, default=str))
"""

CTAS_RAW = """
import duckdb
cat = catalog()
start = time.perf_counter()
result = duckdb.sql(cfg["data"].format(start=0, stop=cfg["rows"])).to_arrow_table()
txn = cat.pyiceberg_catalog().create_table_transaction(("bench", cfg["name"]), schema=result.schema)
txn.append(result)
txn.commit_transaction()
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb()}))
"""

CTAS_SADEEM = """
from engine.backends.base import QueryContext
from engine.backends.duckdb import DuckDBBackend
backend = DuckDBBackend(catalog().pyiceberg_catalog(), workspace_uri=cfg["root"])
sql = "CREATE TABLE bench." + cfg["name"] + " AS " + cfg["data"].format(start=0, stop=cfg["rows"])
start = time.perf_counter()
out = backend.execute(sql, QueryContext(user="bench")).fetch()
seconds = time.perf_counter() - start
result = out.to_pylist()[0]
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "result": result}, default=str))
"""


def child(code: str, cfg: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", PRELUDE + code, json.dumps(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def rounds(*runs: tuple[str, dict]) -> list[dict]:
    """Each (code, cfg) run ROUNDS times, interleaved: one of each per round (a run that
    creates a table, named by cfg["name"], names it after its round)."""
    got: list[list[dict]] = [[] for _ in runs]
    for i in range(ROUNDS):
        for out, (code, cfg) in zip(got, runs, strict=True):
            out.append(child(code, {**cfg, "name": f"{cfg['name']}{i}"} if "name" in cfg else cfg))
    return [
        {
            "seconds": statistics.median(r["seconds"] for r in each),
            "peak_mb": statistics.median(r["peak_mb"] for r in each),
            "result": each[0].get("result"),
            "all": each,
        }
        for each in got
    ]


def row(label: str, r: dict, anchor: dict | None = None) -> None:
    ratio = ""
    if anchor:
        times = [a["seconds"] / b["seconds"] for a, b in zip(r["all"], anchor["all"], strict=True)]
        ratio = f"  time {statistics.median(times):.2f}x"
        ratio += f"  rss {r['peak_mb'] / anchor['peak_mb']:.2f}x"
    print(f"{label:<52} {r['seconds']:7.2f} s  peak {r['peak_mb']:7.0f} MB{ratio}")


@pytest.mark.bench
def test_streaming_reads_and_writes(seaweed, tmp_path):  # noqa: F811
    warehouse = f"tb{uuid.uuid4().hex[:8]}"
    seaweed.s3_client("s3tables").create_table_bucket(name=warehouse)
    rest = {
        "kind": "rest",
        "uri": seaweed.iceberg_uri,
        "warehouse": warehouse,
        "credential": f"{seaweed.access_key}:{seaweed.secret_key}",
        "endpoint": seaweed.endpoint,
        "region": seaweed.region,
        "key": seaweed.access_key,
        "secret": seaweed.secret_key,
    }
    local = {"kind": "local", "dir": str(tmp_path / "cat")}
    store = tmp_path / "store"
    base = {"data": DATA, "chunk": CHUNK}
    local_loc = child(
        LOAD, {**local, **base, "rows": ROWS, "table": "bench.t1", "location": store.as_uri()}
    )["location"]
    s3_1 = child(LOAD, {**rest, **base, "rows": ROWS, "table": "bench.t1"})["location"]
    s3_3 = child(LOAD, {**rest, **base, "rows": 3 * ROWS, "table": "bench.t3"})["location"]
    assert local_loc.startswith(store.as_uri())
    s3_root = "s3://" + s3_1.split("/")[2] + "/"
    assert s3_3.startswith(s3_root)
    count = "SELECT count(*) AS n FROM bench.{t}"
    scan = "SELECT count(*) AS n, sum(kwh) AS kwh, max(length(note)) AS note FROM bench.{t}"
    print(
        f"\nstreaming Iceberg reads, {ROWS:,} rows (3x: {3 * ROWS:,}), fresh process each, "
        f"medians of {ROUNDS} rounds"
    )
    for title, sql in (("count(*)", count), ("every column", scan)):
        anchor, one, three = rounds(
            (QUERY, {**local, "root": store.as_uri(), "sql": sql.format(t="t1")}),
            (QUERY, {**rest, "root": s3_root, "sql": sql.format(t="t1")}),
            (QUERY, {**rest, "root": s3_root, "sql": sql.format(t="t3")}),
        )
        assert anchor["result"]["n"] == one["result"]["n"] == ROWS
        assert three["result"]["n"] == 3 * ROWS
        row(f"anchor: {title}, local files (1x)", anchor)
        row(f"Sadeem: {title}, S3 + REST catalog (1x)", one, anchor)
        row(f"Sadeem: {title}, S3 + REST catalog (3x)", three, anchor)
        print(f"{'':<52} peak 3x / 1x: {three['peak_mb'] / one['peak_mb']:.2f}")
    print(
        f"\nCTAS of a {ROWS:,}-row result into Iceberg (local files), fresh process each, "
        f"medians of {ROUNDS} rounds"
    )
    cfg = {**local, **base, "rows": ROWS, "root": store.as_uri()}
    raw, ours = rounds((CTAS_RAW, {**cfg, "name": "raw"}), (CTAS_SADEEM, {**cfg, "name": "ours"}))
    assert all(r["result"]["rows"] == ROWS for r in ours["all"])
    row("anchor: pyarrow result + pyiceberg append", raw)
    row("Sadeem: CREATE TABLE ... AS SELECT (streamed)", ours, raw)
