"""Console benchmarks, side by side in one run (not timed tests):

1. start to first full screen: Sadeem vs Harlequin vs a bare Textual app (target: Sadeem
   <= 0.5x Harlequin);
2. `SELECT * FROM range(1000000)` to first rows shown, and peak memory: Sadeem vs Harlequin
   (target: no slower, no larger);
3. key press latency in the run-log screen while the run's log receives 100,000 lines.

Each measurement runs in a fresh child process, headless (Textual's run_test drives the
same compositor and widgets as a terminal, without the terminal's I/O), timed from the
child's spawn so imports count. Each app runs from a clean venv of its own, as an operator
installs it: Harlequin in /tmp/harlequin-venv (`pip install harlequin`, on first use),
Sadeem in /tmp/sadeem-bench-venv (this checkout, editable, without the test extras). The
machine's own Python carries packages neither app asks for (NumPy, which pyarrow imports
when it can: ~13 MiB), so measuring Sadeem there would measure the machine.
Run: python tests/bench/bench_tui.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
HARLEQUIN_VENV = Path(os.environ.get("HARLEQUIN_VENV", "/tmp/harlequin-venv"))
SADEEM_VENV = Path(os.environ.get("SADEEM_BENCH_VENV", "/tmp/sadeem-bench-venv"))
QUERY = "SELECT * FROM range(1000000)"
SIZE = (140, 45)


# -- children -----------------------------------------------------------------------------


def _report(**values: float) -> None:
    import resource

    values["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(values), flush=True)


def _since_spawn() -> float:
    return time.time() - float(os.environ["BENCH_T0"])


def _first_frame(app):  # type: ignore[no-untyped-def]
    """Arm, before the app runs, a stamp of its first full frame: the refresh right after
    the app is ready (screen composed and mounted). The same hook for every app measured;
    work an app starts in the background after that frame runs on. Returns an awaitable
    giving seconds from spawn."""
    import asyncio

    painted = asyncio.Event()
    stamp: dict[str, float] = {}
    original = app._ready

    async def ready() -> None:
        await original()

        def mark() -> None:
            stamp.setdefault("t", _since_spawn())
            painted.set()

        app.call_after_refresh(mark)

    app._ready = ready

    async def wait() -> float:
        await painted.wait()
        return stamp["t"]

    return wait()


def child_bare() -> None:
    import asyncio

    from textual.app import App
    from textual.widgets import Footer, Header, Static

    class Bare(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield Header()
            yield Static("hello")
            yield Footer()

    async def main() -> None:
        app = Bare()
        frame = _first_frame(app)
        async with app.run_test(size=SIZE):
            _report(start_s=await frame)

    asyncio.run(main())


def _sadeem(data_dir: str):  # type: ignore[no-untyped-def]
    """The console exactly as `sadeem --data-dir DIR` builds it (embedded engine included)."""
    sys.path.insert(0, str(ROOT))
    from engine.cli.main import build_parser
    from engine.cli.runtime import Cli
    from tui.main import build_console

    cli = Cli(build_parser().parse_args(["--data-dir", data_dir]))
    app, opened = build_console(cli)
    return cli, app, opened


def _stop(cli, opened) -> None:  # type: ignore[no-untyped-def]
    if opened.get("engine") is not None:
        opened["engine"].stop(grace_s=2)
    cli.close()


async def _until(pilot, check, what: str, timeout: float = 300) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await pilot.pause(0.005)


def child_sadeem_start(data_dir: str) -> None:
    import asyncio

    cli, app, opened = _sadeem(data_dir)

    async def main() -> None:
        frame = _first_frame(app)
        async with app.run_test(size=SIZE) as pilot:
            start_s = await frame
            # Then the data: engine open, role known, the first pane loaded.
            await _until(pilot, lambda: app.ready, "the engine to open")
            _report(start_s=start_s, data_s=_since_spawn())

    asyncio.run(main())
    _stop(cli, opened)


def child_sadeem_query(data_dir: str) -> None:
    import asyncio
    import re

    from textual.widgets import TextArea

    cli, app, opened = _sadeem(data_dir)
    from tui.panes.sql import SqlPane

    async def main() -> None:
        frame = _first_frame(app)
        async with app.run_test(size=SIZE) as pilot:
            await frame
            # As an operator would: the console has opened and loaded its SQL engine in the
            # background (Harlequin's editor is likewise up and its DuckDB connected).
            await _until(pilot, lambda: app.sql_warm, "the SQL engine to load")
            # and the header's first health check is in (it loads each connection's client).
            await _until(pilot, lambda: app.health_summary is not None, "the health check")
            editor = app.query_one("#editor", TextArea)
            editor.text = QUERY
            editor.focus()
            status = app.query_one("#sql-status")
            # Started as F5 starts it, but called directly: Pilot's press returns only once
            # the app is idle, which a running query is not (Harlequin's is likewise started
            # by posting its message).
            start = time.perf_counter()
            app.query_one(SqlPane).action_run()
            # First rows: the grid holds rows (the first 10,000 show while the rest arrive),
            # then its first paint, as for Harlequin below.
            await _until(
                pilot,
                lambda: any(getattr(g, "row_count", 0) for g in app.query("#results")),
                "rows",
            )
            await pilot.pause()
            first_rows_s = time.perf_counter() - start
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
    _stop(cli, opened)


def child_sadeem_keys(data_dir: str) -> None:
    import asyncio
    import threading

    from tui.panes.runs import RunScreen
    from tui.widgets.log_view import LogView

    cli, app, opened = _sadeem(data_dir)

    async def main() -> None:
        frame = _first_frame(app)
        async with app.run_test(size=SIZE) as pilot:
            await frame
            await _until(pilot, lambda: app.ready, "the engine to open")
            services, actor = cli.services, app.session.actor
            if opened.get("engine") is not None:  # the run must stay live while logs arrive
                opened.pop("engine").stop(grace_s=2)
            chatty = f"chatty_{os.getpid()}"  # a data dir may be measured more than once
            services.jobs.create(actor, "demo", chatty, "sql", {"sql": "SELECT 1"})
            run = services.runs.trigger(actor, "demo", chatty)

            def flood() -> None:  # 100,000 lines, in chunks as the runner writes them
                for chunk in range(200):
                    services.queue.append_log(
                        run.id,
                        "".join(
                            f"line {chunk * 500 + i} of a busy Spark driver log\n"
                            for i in range(500)
                        ),
                    )

            await app.push_screen(RunScreen(app.session, run.id))
            await pilot.pause(0.2)

            # Latency is from the key event entering the app to the log's action running
            # (a frame follows within Textual's 1/60 s). Pilot's press would time its own
            # wait for an idle app instead (~65 ms here, flood or not).
            handled: list[float] = []
            for name in ("action_scroll_up", "action_scroll_down"):
                original = getattr(LogView, name)

                def stamped(self, _original=original) -> None:  # type: ignore[no-untyped-def]
                    handled.append(time.perf_counter())
                    _original(self)

                setattr(LogView, name, stamped)
            await pilot.press("up", "up", "up")  # off the end, so both keys move the view

            async def press(latencies: list[float]) -> None:
                seen = len(handled)
                t = time.perf_counter()
                app.simulate_key("up" if len(latencies) % 2 else "down")
                while len(handled) == seen:
                    await asyncio.sleep(0.0005)
                latencies.append((handled[-1] - t) * 1000)
                await pilot.pause(0.02)

            idle: list[float] = []
            while len(idle) < 40:  # the same screen, no log arriving: the baseline
                await press(idle)
            writer = threading.Thread(target=flood)
            writer.start()
            latencies: list[float] = []
            while writer.is_alive() or len(latencies) < 50:
                await press(latencies)
            writer.join()
            await _until(pilot, lambda: len(app.screen.lines) >= 100_000, "every line", 120)
            latencies.sort()
            _report(
                idle_p50_ms=statistics.median(idle),
                key_p50_ms=statistics.median(latencies),
                key_p99_ms=latencies[int(0.99 * (len(latencies) - 1))],
                presses=len(latencies),
                lines_seen=len(app.screen.lines),
            )

    asyncio.run(main())
    _stop(cli, opened)


def child_harlequin(mode: str) -> None:
    import asyncio

    from harlequin import Harlequin
    from harlequin.app import QuerySubmitted
    from harlequin_duckdb import DuckDbAdapter

    app = Harlequin(
        adapter=DuckDbAdapter((":memory:",)), record_history=False, no_download_tzdata=True
    )

    async def main() -> None:
        frame = _first_frame(app)
        async with app.run_test(size=SIZE) as pilot:
            start_s = await frame
            while app.editor is None or (mode == "query" and app.connection is None):
                await pilot.pause(0.01)
            if mode == "start":
                _report(start_s=start_s, data_s=_since_spawn())  # data: its editor is up
                return
            start = time.perf_counter()
            app.post_message(QuerySubmitted(queries=[QUERY], limit=None))
            while True:
                table = app.results_viewer.get_visible_table()
                if table is not None and table.row_count > 0:
                    break
                await pilot.pause(0.01)
            await pilot.pause()
            _report(first_rows_s=time.perf_counter() - start, rows_shown=table.row_count)

    asyncio.run(main())


# -- the parent ---------------------------------------------------------------------------


def spawn(python: str, *args: str, env: dict | None = None) -> dict:
    full_env = {**os.environ, **(env or {}), "BENCH_T0": repr(time.time())}
    out = subprocess.run(
        [python, str(HERE), "child", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
        cwd=ROOT,
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{args}: no result\n{out.stderr[-2000:]}")


def sadeem_python() -> str:
    """Python of a clean venv holding this checkout (editable) and its runtime deps only;
    installed again each run, which costs a second or two once it is up to date."""
    python = SADEEM_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SADEEM_VENV)], check=True)
    has_uv = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True)
    installer = (
        [sys.executable, "-m", "uv", "pip", "install", "--python", str(python)]
        if has_uv.returncode == 0
        else [str(python), "-m", "pip", "install"]
    )
    subprocess.run([*installer, "-q", "-e", str(ROOT)], check=True)
    return str(python)


def harlequin_python() -> str | None:
    python = HARLEQUIN_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(HARLEQUIN_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "harlequin"], check=False)
    ok = subprocess.run([str(python), "-c", "import harlequin"], capture_output=True)
    return str(python) if ok.returncode == 0 else None


def compile_bytecode(python: str) -> None:
    """Every app starts from bytecode, as it does after `pip install` on a normal machine.

    uv installs without bytecode unless told (--compile-bytecode) and this workplace sets
    PYTHONDONTWRITEBYTECODE, so an app whose packages lack __pycache__ recompiles every
    module on every start: 0.65 s instead of 0.25 s for `import textual.app` here. The
    comparison would measure the installer, not the app.
    """
    code = (
        "import compileall, sys, sysconfig\n"
        "paths = [sysconfig.get_paths()['purelib'], *sys.argv[1:]]\n"
        "for p in paths: compileall.compile_dir(p, quiet=1, workers=2)"
    )
    own = [str(ROOT / p) for p in ("engine", "tui", "migrations", "demo")]
    subprocess.run([python, "-c", code, *own], check=True, capture_output=True)


def median_of(runs: int, *args: str, python: str = sys.executable, env=None) -> dict:
    results = [spawn(python, *args, env=env) for _ in range(runs)]
    return {k: statistics.median(r[k] for r in results) for k in results[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="sadeem-bench-")
    env = {"XDG_DATA_HOME": data, "XDG_CONFIG_HOME": data}
    sadeem = sadeem_python()
    subprocess.run(
        [sadeem, "-m", "engine.cli.main", "demo", "--data-dir", data],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    harlequin = harlequin_python()
    for python in filter(None, (sadeem, harlequin)):
        compile_bytecode(python)

    bare = median_of(args.runs, "bare", python=sadeem)  # the same Textual as Sadeem's
    start = median_of(args.runs, "sadeem-start", data, python=sadeem, env=env)
    print(
        f"start -> first screen   bare Textual {bare['start_s']:.2f}s   "
        f"Sadeem {start['start_s']:.2f}s (engine open, data shown {start['data_s']:.2f}s)",
        end="",
    )
    if harlequin:
        hq = median_of(args.runs, "harlequin", "start", python=harlequin)
        print(
            f"   Harlequin {hq['start_s']:.2f}s   Sadeem/Harlequin "
            f"{start['start_s'] / hq['start_s']:.2f}x (target <= 0.5x)"
        )
    else:
        print("   Harlequin: could not be installed here")
    sq = median_of(args.runs, "sadeem-query", data, python=sadeem, env=env)
    print(
        f"{QUERY} -> first rows   Sadeem {sq['first_rows_s']:.2f}s (all rows "
        f"{sq['all_rows_s']:.2f}s), peak {sq['peak_rss_mb']:.0f} MiB, "
        f"{sq['rows_shown']:,.0f} rows in the grid",
        end="",
    )
    if harlequin:
        hq = median_of(args.runs, "harlequin", "query", python=harlequin)
        print(
            f"   Harlequin {hq['first_rows_s']:.2f}s, peak {hq['peak_rss_mb']:.0f} MiB, "
            f"{hq['rows_shown']:,.0f} rows in the grid"
        )
    else:
        print()
    keys = spawn(sadeem, "sadeem-keys", data, env=env)
    print(
        f"key press to action while a run log receives 100k lines: p50 "
        f"{keys['key_p50_ms']:.1f} ms, p99 {keys['key_p99_ms']:.1f} ms "
        f"({keys['presses']:.0f} presses, {keys['lines_seen']:.0f} lines shown; "
        f"same screen with no log arriving: p50 {keys['idle_p50_ms']:.1f} ms)"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        kind, rest = sys.argv[2], sys.argv[3:]
        {
            "bare": child_bare,
            "sadeem-start": child_sadeem_start,
            "sadeem-query": child_sadeem_query,
            "sadeem-keys": child_sadeem_keys,
            "harlequin": child_harlequin,
        }[kind](*rest)
    else:
        main()
