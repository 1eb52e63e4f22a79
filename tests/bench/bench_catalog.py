"""Benchmark: SQL completion's first load and the catalog tree's first data over 10 and
2,000 tables (issue 17, item 7), the way the console did it before (every table's metadata
read through the service, one authorization per table) beside the listing it does now,
in one run. Each figure is from a fresh process (imports count, as in a new console).

Run: python tests/bench/bench_catalog.py [--tables 10,2000]
Also collected by `pytest -m bench` (tests/bench/test_bench_tui.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WS = "wide"


def build(data: Path, tables: int) -> None:
    """A workspace with `tables` tables in its gold layer: one made by pyiceberg, its catalog
    row copied for the others (what register_table writes; creating each is ~20 ms)."""
    import pyarrow as pa
    from sqlalchemy import text

    from engine.context import Actor
    from engine.settings import Settings
    from engine.wiring import open_services

    admin = Actor("admin", "bench")
    svc = open_services(Settings(data_dir=data))
    svc.users.register(admin)
    svc.workspaces.create(admin, WS)
    svc.provisioning.apply(admin, WS)
    catalog = svc.lakehouse.embedded_catalog()
    catalog.create_table(f"{WS}_gold.t0000", pa.schema([pa.field("x", pa.int64())]))
    cols = "catalog_name, table_namespace, table_name, metadata_location, "
    cols += "previous_metadata_location, iceberg_type"
    copy = cols.replace("table_name,", ":name,")
    with catalog.pyiceberg_catalog().engine.begin() as conn:
        for i in range(1, tables):
            conn.execute(
                text(
                    f"INSERT INTO iceberg_tables ({cols}) SELECT {copy} FROM iceberg_tables "
                    "WHERE table_name = 't0000'"
                ),
                {"name": f"t{i:04d}"},
            )
    svc.close()


def child(data: str, how: str) -> None:
    t0 = time.perf_counter()
    from engine.context import Actor
    from engine.settings import Settings
    from engine.wiring import open_services

    svc = open_services(Settings(data_dir=Path(data)))
    actor = Actor("admin", "bench")
    svc.users.register(actor)
    opened = time.perf_counter()
    cat = svc.catalog
    names: list[str] = []
    if how == "completion_before":  # tui/panes/sql.py before the listing
        for ns in cat.namespaces(actor, WS):
            names.append(ns)
            for table in cat.tables(actor, ns):
                names.append(f"{ns}.{table}")
                names += [c.name for c in cat.table(actor, f"{ns}.{table}").columns]
    elif how == "completion_now":
        for ns, found in cat.listing(actor, WS).items():
            names += [ns, *(f"{ns}.{t}" for t in found)]
    elif how == "completion_now_plus_one_table":  # then the completed table's columns
        listing = cat.listing(actor, WS)
        names += [f"{WS}_gold.{t}" for t in listing[f"{WS}_gold"]]
        names += [c.name for c in cat.columns(actor, names[0], listing[f"{WS}_gold"]["t0000"])]
    elif how == "tree_before":  # the pane's first data, then a namespace expanded
        names += cat.namespaces(actor, WS)
        names += cat.tables(actor, f"{WS}_gold")
    elif how == "tree_now":
        names += list(cat.listing(actor, WS))
        names += list(cat.namespace_listing(actor, f"{WS}_gold"))
    done = time.perf_counter()
    svc.close()
    print(
        "RESULT "
        + json.dumps(
            {"load_ms": (done - opened) * 1000, "all_ms": (done - t0) * 1000, "names": len(names)}
        )
    )


def measure(data: Path, how: str) -> dict:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(data), how],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[7:])


HOWS = (
    "completion_before",
    "completion_now",
    "completion_now_plus_one_table",
    "tree_before",
    "tree_now",
)


def report(sizes: list[int], runs: int = 3) -> dict[str, dict[int, dict]]:
    import statistics

    figures: dict[str, dict[int, dict]] = {how: {} for how in HOWS}
    with tempfile.TemporaryDirectory(prefix="sadeem-bench-catalog-") as tmp:
        for n in sizes:
            data = Path(tmp) / f"t{n}"
            build(data, n)
            for how in HOWS:
                found = [measure(data, how) for _ in range(runs)]
                figures[how][n] = {
                    "load_ms": statistics.median(f["load_ms"] for f in found),
                    "names": found[0]["names"],
                }
    return figures


def print_report(figures: dict[str, dict[int, dict]]) -> None:
    sizes = sorted(next(iter(figures.values())))
    print(f"{'first load (fresh process), ms':34s}" + "".join(f"{n:>12,} tables" for n in sizes))
    for how, by in figures.items():
        print(f"{how:34s}" + "".join(f"{by[n]['load_ms']:>19.0f}" for n in sizes))
    best = max(figures["completion_now"][n]["load_ms"] for n in sizes)
    print(
        "target: completion's first load <= 300 ms at any size:",
        "met" if best <= 300 else "NOT met",
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.path.insert(0, str(ROOT))
        child(sys.argv[2], sys.argv[3])
        sys.exit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", default="10,2000")
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    print_report(report([int(n) for n in opts.tables.split(",")], opts.runs))
