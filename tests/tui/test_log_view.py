"""The run log widget on its own: lazy rows, wrap, timestamps, search and the line cap."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import App

from tui.widgets.log_view import LogView


class LogApp(App[None]):
    def compose(self):  # type: ignore[no-untyped-def]
        yield LogView(max_lines=1000, id="log")


def row_text(log: LogView, y: int) -> str:
    return "".join(seg.text for seg in log.render_line(y)).rstrip()


async def test_wrap_timestamps_search_and_cap():
    app = LogApp()
    async with app.run_test(size=(40, 10)) as pilot:
        log = app.query_one(LogView)
        width = log.scrollable_content_region.width
        long = "".join(str(i % 10) for i in range(width * 2 + 5))  # three rows when wrapped
        at = datetime(2026, 11, 24, 9, 30, 5, tzinfo=UTC)
        log.write_lines(["first", long, "needle here", "last"], at)
        await pilot.pause()
        assert log.virtual_size.height == 4 and log.follow

        log.set_wrap(True)
        await pilot.pause()
        assert log.virtual_size.height == 1 + 3 + 1 + 1
        log.scroll_to(y=0, animate=False)
        await pilot.pause()
        rows = [row_text(log, y) for y in range(6)]
        assert rows[0] == "first" and "".join(rows[1:4]) == long and rows[5] == "last"

        log.set_timestamps(True)
        await pilot.pause()
        log.scroll_to(y=0, animate=False)
        await pilot.pause()
        assert row_text(log, 0) == "09:30:05 first"

        assert log.search("needle") == 1
        await pilot.pause()
        assert not log.follow and log.hits == [2]
        y = log._row_of(2) - log.scroll_offset.y
        hit = [seg for seg in log.render_line(y) if seg.text == "needle"]
        assert hit and hit[0].style.bgcolor is not None
        assert log.search("absent") == 0 and log.next_hit(1) is None

        log.write_lines([f"more {i}" for i in range(1200)])
        assert len(log.lines) == 1000 and log.lines[-1] == "more 1199"
