"""A console in a child process, built and run exactly as `sadeem` runs it (tui.main's
run_console), headless, driven by an auto-pilot. Settings come from SADEEM_* variables.

    python -m tests.tui.console_child hold WORKSPACE
        opens, prints `holding ENGINE_ID` once its embedded engine holds the lease, then
        stays open until killed (the test kills it with -9).
    python -m tests.tui.console_child quit-while-testing CONNECTION QUIT_FILE
        opens, starts a test of CONNECTION (key `t` on the Connections pane), prints
        `testing`, and presses ctrl+q once QUIT_FILE exists; the process then exits.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


async def _until(pilot: Any, check: Any, timeout: float = 60) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await pilot.pause(0.05)
    print("timed out", flush=True)
    raise SystemExit(3)


def main(argv: list[str]) -> int:
    from engine.cli.main import build_parser
    from engine.cli.runtime import Cli
    from tui.main import run_console

    mode = argv[0]
    cli = Cli(build_parser().parse_args(["-w", argv[1]] if mode == "hold" else []))

    async def hold(pilot: Any) -> None:
        app = pilot.app
        await _until(pilot, lambda: app.ready and getattr(app.session.engine, "id", None))
        await _until(pilot, lambda: app.session.engine.engine.holds_lease)
        print(f"holding {app.session.engine.id}", flush=True)
        while True:
            await pilot.pause(1)

    async def quit_while_testing(pilot: Any) -> None:
        from textual.widgets import DataTable

        name, quit_file = argv[1], Path(argv[2])
        app = pilot.app
        await _until(pilot, lambda: app.ready)
        await pilot.press("6")
        table = app.query_one("#connections DataTable", DataTable)
        await _until(pilot, lambda: table.has_focus and table.row_count > 0)
        keys = [row.key.value for row in table.ordered_rows]
        table.move_cursor(row=keys.index(name))
        await pilot.press("t")
        print("testing", flush=True)
        await _until(pilot, quit_file.exists)
        await pilot.press("ctrl+q")

    drive = hold if mode == "hold" else quit_while_testing
    try:
        return run_console(cli, headless=True, size=(140, 45), auto_pilot=drive)
    finally:
        cli.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
