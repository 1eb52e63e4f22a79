"""Arrow-backed result grids, created on first data: textual-fastdatatable imports pyarrow
and NumPy (~0.25 s), which the first screen should not wait for. Until then a focusable
placeholder holds the grid's id and place."""

from __future__ import annotations

from functools import cache
from typing import Any

from textual.widget import Widget
from textual.widgets import Static


def preload() -> None:
    """Import the grid in a worker, so the first result does not pay ~0.5 s on the UI."""
    import textual_fastdatatable  # noqa: F401


class GridPlaceholder(Static, can_focus=True):
    """Where a grid will be; says what fills it."""


@cache
def result_backend() -> type:
    """ArrowBackend, measuring numeric columns in one pass without copies.

    The library fills nulls before taking the min and then the max, a copy of the column
    each time: +14 MiB at peak to paint 1M int64 rows, more per numeric column. min_max
    skips nulls and reads the column once; a column of nulls measures as 0 did there."""
    import pyarrow.compute as pc
    import pyarrow.types as pt
    from textual_fastdatatable import ArrowBackend
    from textual_fastdatatable.format import measure_width

    class ResultBackend(ArrowBackend):
        def _measure(self, arr: Any) -> int:
            kind = arr.type
            if pt.is_integer(kind) or pt.is_floating(kind) or pt.is_decimal(kind):
                try:
                    low_high = pc.min_max(arr)
                    ends = [low_high["min"].as_py(), low_high["max"].as_py()]
                except OverflowError:
                    return super()._measure(arr)
                return max(measure_width(0 if v is None else v) for v in ends)
            return super()._measure(arr)

    return ResultBackend


async def show_arrow(
    host: Widget, grid_id: str, table: Any, *, keep_position: bool = False, **options: Any
) -> Widget:
    """Show `table` (a pyarrow Table) in the grid `#grid_id` of `host`, in the place of
    what is there. A grid is never given new data in place: fastdatatable keeps its
    columns from the first backend, so a result with fewer columns crashed the console.
    `keep_position`: the table extends the one shown (the rest of a result arriving), so
    the cursor and scroll stay where the operator left them. Focus moves with the grid."""
    from textual_fastdatatable import DataTable as ArrowTable

    current = host.query_one(f"#{grid_id}")
    position = None
    if keep_position and isinstance(current, ArrowTable):
        position = (current.cursor_coordinate, current.scroll_offset)
    grid = ArrowTable(id=grid_id, backend=result_backend()(table), **options)
    had_focus = current.has_focus
    parent = current.parent
    assert parent is not None
    index = list(parent.children).index(current)
    await current.remove()  # first: two widgets may not share the id
    after = list(parent.children)
    await parent.mount(grid, before=after[index] if index < len(after) else None)
    if position is not None:
        cursor, offset = position

        def restore() -> None:  # once laid out: before that there is nothing to scroll
            grid.cursor_coordinate = cursor
            grid.scroll_to(offset.x, offset.y, animate=False, immediate=True)

        grid.call_after_refresh(restore)
    if had_focus:
        grid.focus()
    return grid
