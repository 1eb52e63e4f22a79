"""Benchmarks of the command line, each side by side with its anchor in one run (not
timed tests; run them on a quiet machine, the figures are medians of interleaved rounds):

1. `sadeem --help` against `python -c pass` (target: under 150 ms);
2. the light paths (issue 17, item 6): `sadeem sql -e "SELECT 1"`, `sadeem run list` and
   `sadeem job run` on the embedded engine, against the anchor
   `python -c "import duckdb; duckdb.sql('select 1')"` (target for `sql -e`: <= 0.3 s), with
   the floor the embedded engine cannot go under (importing SQLAlchemy's ORM, pyarrow,
   sqlglot) and, from `python -X importtime`, what each command imports, by package.

Wall time is what the operator waits; CPU time (user + system of the child) is shown too:
on a shared 2-core machine it moves less with the neighbours' load than wall time does.

Run: python tests/bench/bench_cli_startup.py [--runs 30] [--skip-help] [--skip-commands]
Also collected by `pytest -m bench` (tests/bench/test_bench_cli.py).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = "import duckdb; duckdb.sql('select 1')"
# What the embedded engine imports whatever it trims: the metadata DB's ORM, the result
# sets' Arrow, the SQL sandbox's parser with DuckDB's dialect (it checks every statement).
FLOORS = {
    "floor: sqlalchemy.orm": "import sqlalchemy.orm",
    "floor: + pyarrow + duckdb": "import sqlalchemy.orm, pyarrow, duckdb",
    "floor: + sqlglot duckdb dialect": (
        "import sqlalchemy.orm, pyarrow, duckdb, sqlglot; sqlglot.parse_one('select 1', 'duckdb')"
    ),
}
PACKAGES = ("sqlalchemy", "pyarrow", "numpy", "duckdb", "sqlglot", "pyiceberg", "engine")


def _env(root: Path = ROOT) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return env


def _sadeem() -> list[str]:
    return [sys.executable, "-m", "engine.cli.main"]


def run_once(cmd: list[str], root: Path = ROOT) -> tuple[float, float]:
    """(wall ms, CPU ms of the child) of one run of `cmd` with the checkout at `root`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True, env=_env(root))
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def measure(cmd: list[str], runs: int) -> list[float]:
    subprocess.run(cmd, capture_output=True, check=True, env=_env())  # warm the page cache
    return [run_once(cmd)[0] for _ in range(runs)]


def report(runs: int = 30) -> dict[str, float]:
    sadeem = shutil.which("sadeem")
    help_cmd = [sadeem, "--help"] if sadeem else [*_sadeem(), "--help"]
    base = measure([sys.executable, "-c", "pass"], runs)
    cli = measure(help_cmd, runs)
    figures = {
        "python_pass_median_ms": statistics.median(base),
        "sadeem_help_median_ms": statistics.median(cli),
        "sadeem_help_p90_ms": sorted(cli)[int(0.9 * (runs - 1))],
    }
    figures["overhead_ms"] = figures["sadeem_help_median_ms"] - figures["python_pass_median_ms"]
    return figures


# -- the light paths ----------------------------------------------------------------------


def demo_data_dir(base: Path, root: Path) -> Path:
    """A data dir holding the demo workspace, built by the checkout at `root` (~3 s)."""
    data = base / "data"
    subprocess.run(
        [*_sadeem(), "--data-dir", str(data), "demo"],
        capture_output=True,
        check=True,
        env=_env(root),
    )
    return data


THIN = "thin client: --server sql -e"
# The thin client's Python: a clean install of Sadeem has no test extras (this machine's
# Python carries trio, which httpcore imports whenever it is there: +40 ms).
CLIENT_PYTHON = os.environ.get("SADEEM_CLIENT_PYTHON", sys.executable)


@contextmanager
def serving(data: Path, base: Path) -> Iterator[Path]:
    """`sadeem engine serve` on `data`, its socket under `base`; the socket's path."""
    sock = base / "engine.sock"
    env = {**_env(), "SADEEM_DATA_DIR": str(data)}
    proc = subprocess.Popen(
        [*_sadeem(), "engine", "serve", "--socket", str(sock)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        yield sock
    finally:
        proc.terminate()
        proc.wait(30)


def commands(data: Path, sock: Path | None = None) -> dict[str, list[str]]:
    d = ["--data-dir", str(data)]
    server = ["--server", f"unix:{sock}"]
    sql = ["sql", "-w", "demo", "-e", "SELECT 1"]
    thin = {THIN: [CLIENT_PYTHON, "-m", "engine.cli.main", *server, *sql]} if sock else {}
    return {
        "anchor: raw duckdb select 1": [sys.executable, "-c", ANCHOR],
        **{name: [sys.executable, "-c", code] for name, code in FLOORS.items()},
        "sadeem sql -e 'SELECT 1'": [*_sadeem(), *d, "sql", "-w", "demo", "-e", "SELECT 1"],
        **thin,
        "sadeem run list": [*_sadeem(), *d, "run", "list", "-w", "demo"],
        "sadeem job run (queued)": [*_sadeem(), *d, "job", "run", "-w", "demo", "bronze_meters"],
    }


def imports_by_package(cmd: list[str]) -> dict[str, float]:
    """Milliseconds of import per top-level package (self times from -X importtime)."""
    out = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True, env=_env()
    )
    total: dict[str, float] = defaultdict(float)
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \| \s*([\w.]+)", line)
        if m:
            top = m.group(2).split(".")[0]
            total[top if top in PACKAGES else "other"] += int(m.group(1)) / 1000
    total["all"] = sum(total.values())
    return dict(total)


SADEEM_ROWS = ("sadeem sql -e 'SELECT 1'", "sadeem run list", "sadeem job run (queued)")


def commands_report(runs: int = 15, compare: Path | None = None) -> dict[str, dict[str, float]]:
    """Median wall and CPU ms per command, rounds interleaved so load hits all alike.
    `compare`: another checkout (e.g. /work/main) whose Sadeem rows run in the same rounds,
    each on a demo data dir of its own, for a before/after."""
    with tempfile.TemporaryDirectory(prefix="sadeem-bench-cli-") as tmp, ExitStack() as stack:
        data = demo_data_dir(Path(tmp) / "here", ROOT)
        sock = stack.enter_context(serving(data, Path(tmp)))
        cmds = {name: (cmd, ROOT) for name, cmd in commands(data, sock).items()}
        if compare is not None:  # a data dir of its own: it may be at another schema
            theirs = commands(demo_data_dir(Path(tmp) / "compare", compare))
            for name in SADEEM_ROWS:
                cmds[f"{compare.name}: {name[7:]}"] = (theirs[name], compare)
        for cmd, root in cmds.values():
            run_once(cmd, root)  # warm: bytecode written, page cache filled
        walls: dict[str, list[float]] = defaultdict(list)
        cpus: dict[str, list[float]] = defaultdict(list)
        for _ in range(runs):
            for name, (cmd, root) in cmds.items():
                wall, cpu = run_once(cmd, root)
                walls[name].append(wall)
                cpus[name].append(cpu)
        figures = {
            name: {
                "wall_ms": statistics.median(walls[name]),
                "cpu_ms": statistics.median(cpus[name]),
            }
            for name in cmds
        }
        for name in SADEEM_ROWS:
            found = imports_by_package(cmds[name][0])
            figures[name] |= {f"import_{k}_ms": v for k, v in found.items()}
        return figures


def print_commands(figures: dict[str, dict[str, float]]) -> None:
    anchor = figures["anchor: raw duckdb select 1"]
    print(f"{'command':36s} {'wall ms':>8s} {'cpu ms':>8s} {'wall - anchor':>14s}")
    for name, f in figures.items():
        extra = f["wall_ms"] - anchor["wall_ms"]
        print(f"{name:36s} {f['wall_ms']:8.0f} {f['cpu_ms']:8.0f} {extra:+14.0f}")
    print("\nimports (ms, -X importtime self times by package):")
    for name, f in figures.items():
        parts = {k[7:-3]: v for k, v in f.items() if k.startswith("import_")}
        if parts:
            print(f"  {name:34s} " + "  ".join(f"{k} {v:.0f}" for k, v in parts.items()))
    sql = figures["sadeem sql -e 'SELECT 1'"]["wall_ms"]
    print("target: sadeem sql -e <= 300 ms:", "met" if sql <= 300 else "NOT met", f"({sql:.0f} ms)")
    if THIN in figures:
        thin = figures[THIN]["wall_ms"]
        print(
            "  on a shared site (the thin client of a running engine):",
            "met" if thin <= 300 else "NOT met",
            f"({thin:.0f} ms, client Python {CLIENT_PYTHON})",
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-help", action="store_true")
    parser.add_argument("--skip-commands", action="store_true")
    parser.add_argument("--compare", type=Path, help="another checkout, e.g. /work/main")
    opts = parser.parse_args()
    if not opts.skip_help:
        result = report(opts.runs)
        for key, value in result.items():
            print(f"{key:28s} {value:8.1f}")
        print(
            "target: sadeem --help median < 150 ms:",
            "met" if result["sadeem_help_median_ms"] < 150 else "NOT met",
        )
    if not opts.skip_commands:
        print()
        print_commands(commands_report(max(3, opts.runs // 2), opts.compare))
