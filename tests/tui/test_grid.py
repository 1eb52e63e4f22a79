"""The Arrow result grid on its own: replaced, never refilled; the position kept when the
rest of a result arrives."""

from __future__ import annotations

import pyarrow as pa
from textual.app import App, ComposeResult
from textual.containers import Vertical

from tui.widgets.grid import GridPlaceholder, show_arrow


async def settle(pilot, check) -> None:
    for _ in range(40):
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError("the grid did not get there")


class Host(App[None]):
    CSS = "#box { height: 1fr; } #grid { height: 1fr; }"  # as the SQL pane lays it out

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield GridPlaceholder("nothing yet", id="grid")


async def test_the_rest_of_a_result_keeps_the_cursor_and_a_new_one_starts_at_the_top():
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        box = app.query_one("#box")
        first = pa.table({"n": pa.array(range(100))})
        grid = await show_arrow(box, "grid", first)
        grid.focus()
        await pilot.pause()  # laid out: a cursor moved before that does not scroll
        grid.move_cursor(row=60, animate=False)
        await settle(pilot, lambda: grid.scroll_offset.y > 0)
        scrolled = grid.scroll_offset.y
        whole = pa.concat_tables([first, pa.table({"n": pa.array(range(100, 1000))})])
        grid = await show_arrow(box, "grid", whole, keep_position=True)
        await settle(pilot, lambda: grid.scroll_offset.y == scrolled)
        assert grid.row_count == 1000 and grid.cursor_coordinate.row == 60 and grid.has_focus
        other = await show_arrow(box, "grid", pa.table({"x": ["a"], "y": ["b"]}))
        await pilot.pause()
        assert other.cursor_coordinate.row == 0 and len(other.ordered_columns) == 2
        assert len(box.children) == 1  # replaced in place, never two grids


def test_numeric_columns_measure_as_the_library_measures_them():
    from decimal import Decimal

    from textual_fastdatatable import ArrowBackend

    from tui.widgets.grid import result_backend

    table = pa.table(
        {
            "ints": pa.array([3, None, -12345, 7], pa.int64()),
            "small": pa.array([1, 2, None, 4], pa.int8()),
            "floats": pa.array([0.5, -1234.125, None, 3e10]),
            "money": pa.array([Decimal("12.50"), None, Decimal("-0.01"), Decimal("999.99")]),
            "nothing": pa.array([None, None, None, None], pa.int32()),
            "text": pa.array(["a", "bbbb", None, "cc"]),
        }
    )
    ours = result_backend()(table).column_content_widths
    assert ours == ArrowBackend(table).column_content_widths
    assert ours[0] == len("-12345")
