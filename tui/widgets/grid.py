"""Arrow-backed result grids, created on first data: textual-fastdatatable imports pyarrow
and NumPy (~0.25 s), which the first screen should not wait for. Until then a focusable
placeholder holds the grid's id and place."""

from __future__ import annotations

from functools import cache
from typing import Any

from textual.widget import Widget
from textual.widgets import Static

from engine.text import plain


def preload() -> None:
    """Import the grid in a worker, so the first result does not pay ~0.5 s on the UI;
    pyarrow.compute too (~0.3 s): embedded, DuckDB has loaded it by then, but a console on
    a server gets its rows from an Arrow IPC stream, which does not."""
    result_backend()


class GridPlaceholder(Static, can_focus=True):
    """Where a grid will be; says what fills it."""


def _plain(value: Any) -> Any:
    return plain(value) if isinstance(value, str) else value


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
        """Text cells are shown with their control characters removed (engine/text.py):
        done per cell as the grid draws it, not over the table (a copy of every string)."""

        def get_row_at(self, index: int) -> list[Any]:
            return [_plain(v) for v in super().get_row_at(index)]

        def get_cell_at(self, row_index: int, column_index: int) -> Any:
            return _plain(super().get_cell_at(row_index, column_index))

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
    from rich.text import Text
    from textual_fastdatatable import DataTable as ArrowTable

    current = host.query_one(f"#{grid_id}")
    position = None
    if keep_position and isinstance(current, ArrowTable):
        position = (current.cursor_coordinate, current.scroll_offset)
    # Values and column names are data: shown as they are, never parsed as markup.
    grid = ArrowTable(
        id=grid_id,
        backend=result_backend()(table),
        column_labels=[Text(plain(name)) for name in table.column_names],
        render_markup=False,
        **options,
    )
    had_focus = current.has_focus
    parent = current.parent
    assert isinstance(parent, Widget)
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
