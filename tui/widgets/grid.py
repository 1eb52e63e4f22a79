"""Arrow-backed result grids, created on first data: textual-fastdatatable imports pyarrow
and NumPy (~0.25 s), which the first screen should not wait for. Until then a focusable
placeholder holds the grid's id and place."""

from __future__ import annotations

from typing import Any

from textual.widget import Widget
from textual.widgets import Static


def preload() -> None:
    """Import the grid in a worker, so the first result does not pay ~0.5 s on the UI."""
    import textual_fastdatatable  # noqa: F401


class GridPlaceholder(Static, can_focus=True):
    """Where a grid will be; says what fills it."""


async def show_arrow(host: Widget, grid_id: str, table: Any, **options: Any) -> Widget:
    """Show `table` (a pyarrow Table) in the grid `#grid_id` of `host`, creating the grid
    in the placeholder's place on first use; focus moves with it."""
    from textual_fastdatatable import ArrowBackend
    from textual_fastdatatable import DataTable as ArrowTable

    current = host.query_one(f"#{grid_id}")
    if isinstance(current, ArrowTable):
        current.backend = ArrowBackend(table)
        return current
    grid = ArrowTable(id=grid_id, backend=ArrowBackend(table), **options)
    had_focus = current.has_focus
    parent = current.parent
    assert parent is not None
    index = list(parent.children).index(current)
    await current.remove()  # first: two widgets may not share the id
    after = list(parent.children)
    await parent.mount(grid, before=after[index] if index < len(after) else None)
    if had_focus:
        grid.focus()
    return grid
