"""The console against a server vs embedded, side by side in one run (not timed tests).

`SELECT * FROM range(1000000)` from F5 to the first rows shown, the time to all rows, and
the client's peak memory (the console process only; the engine's is shown beside it):
embedded (`sadeem --data-dir DIR`: DuckDB in the console's own process) against `sadeem
--server unix:...` (the rows come from `sadeem engine serve` as an Arrow IPC stream).
Target (issue 16): server <= 1.5x embedded to first rows, client memory no higher.

Each measurement runs in a fresh child process, headless, driven as tests/bench/bench_tui.py
drives the console (the same first-rows hook), with the same Python for both modes.
Run: python tests/bench/bench_console_server.py [--runs 3]
BENCH_PROFILE=1 (and BENCH_PROFILE_FILTER=regex) prints a child's profile of the UI thread
from F5 to first rows, on stderr (run a child by hand: `... child server SOCKET`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_tui import QUERY, SIZE, _first_frame, _report, _until  # noqa: E402


def child_query(mode: str, target: str) -> None:
    """mode "embedded": target is the data dir; "server": target is the socket path."""
    import asyncio
    import re

    from textual.widgets import TextArea

    from engine.cli.main import build_parser
    from engine.cli.runtime import Cli
    from tui.main import build_console
    from tui.panes.sql import SqlPane

    argv = ["--data-dir", target] if mode == "embedded" else ["--server", f"unix:{target}"]
    cli = Cli(build_parser().parse_args([*argv, "-w", "demo"]))
    app, opened = build_console(cli)

    async def main() -> None:
        frame = _first_frame(app)
        async with app.run_test(size=SIZE) as pilot:
            await frame
            await _until(pilot, lambda: app.sql_warm, "the SQL engine to load")
            await _until(pilot, lambda: app.health_summary is not None, "the health check")
            editor = app.query_one("#editor", TextArea)
            editor.text = QUERY
            editor.focus()
            status = app.query_one("#sql-status")
            prof = None
            if os.environ.get("BENCH_PROFILE"):
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
            start = time.perf_counter()
            app.query_one(SqlPane).action_run()
            await _until(
                pilot,
                lambda: any(getattr(g, "row_count", 0) for g in app.query("#results")),
                "rows",
            )
            await pilot.pause()
            first_rows_s = time.perf_counter() - start
            if prof is not None:
                import pstats

                prof.disable()
                pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(
                    os.environ.get("BENCH_PROFILE_FILTER", ""), 40
                )
            done = re.compile(r"^[\d,]+ rows  |error|cancelled")
            await _until(pilot, lambda: done.search(str(status.render())), "the result")
            if not str(status.render())[0].isdigit():
                raise SystemExit(f"query failed: {status.render()}")
            await pilot.pause()
            grid = app.query_one("#results")
            _report(
                first_rows_s=first_rows_s,
                all_rows_s=time.perf_counter() - start,
                rows_shown=grid.row_count,
            )

    asyncio.run(main())
    if opened.get("engine") is not None:
        opened["engine"].stop(grace_s=2)
    cli.close()


def spawn(*args: str, env: dict) -> dict:
    import json

    full = {**env, "BENCH_T0": repr(time.time())}
    out = subprocess.run(
        [sys.executable, str(HERE), "child", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=600,
        cwd=ROOT,
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise RuntimeError(f"{args}: no result\n{out.stderr[-3000:]}")


def _hwm_mb(pid: int) -> float:
    """The engine process's peak resident memory so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def engine_serve(data_dir: Path, sock: Path, env: dict):
    log = data_dir.parent / "engine.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "--data-dir", str(data_dir),
             "engine", "serve", "--socket", str(sock)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"engine serve exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.connect(str(sock))
                break
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="sadeem-bench-server-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SADEEM_")}
    env.update({"XDG_DATA_HOME": str(base), "XDG_CONFIG_HOME": str(base),
                "PYTHONPATH": str(ROOT)})  # fmt: skip
    embedded_dir, server_dir = base / "embedded", base / "server"
    for d in (embedded_dir, server_dir):
        subprocess.run(
            [sys.executable, "-m", "engine.cli.main", "demo", "--data-dir", str(d)],
            check=True, capture_output=True, cwd=ROOT, env=env,
        )  # fmt: skip
    # The client of the server has no data dir of its own: nothing to open there.
    client_env = {**env, "SADEEM_DATA_DIR": str(base / "client")}
    sock = base / "run" / "engine.sock"
    results: dict[str, list[dict]] = {"embedded": [], "server": []}
    engine_peak = float("nan")
    with engine_serve(server_dir, sock, env) as proc:
        # Alternate, so a machine that slows down mid-run slows both the same.
        for _ in range(args.runs):
            results["embedded"].append(spawn("embedded", str(embedded_dir), env=env))
            results["server"].append(spawn("server", str(sock), env=client_env))
        engine_peak = _hwm_mb(proc.pid)
    med = {
        mode: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        for mode, rs in results.items()
    }
    e, s = med["embedded"], med["server"]
    print(f"{QUERY}, median of {args.runs} (python {sys.version.split()[0]})")
    for mode, m in med.items():
        each = " ".join(f"{r['first_rows_s']:.2f}" for r in results[mode])
        print(
            f"  {mode:<9} first rows {m['first_rows_s']:.2f}s  all rows {m['all_rows_s']:.2f}s  "
            f"client peak {m['peak_rss_mb']:.0f} MiB  {m['rows_shown']:,.0f} rows in the grid"
            f"  (each run's first rows: {each})"
        )
    print(f"  engine serve peak {engine_peak:.0f} MiB (the server side, not the client's)")
    print(
        f"  server/embedded: first rows {s['first_rows_s'] / e['first_rows_s']:.2f}x "
        f"(target <= 1.5x), client memory {s['peak_rss_mb'] / e['peak_rss_mb']:.2f}x "
        f"(target <= 1.0x)"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child_query(*sys.argv[2:])
    else:
        main()
