"""A run log that stays responsive at 100k+ lines: lines are kept as strings and only the
rows on screen are rendered (RichLog renders every line on write: ~0.2 ms a line on the UI
thread, so a busy Spark driver froze the console). Wrap, timestamps and search highlights
are applied at render time, so toggling them costs nothing. Lines are untrusted (a job
writes them): segments reach the terminal as they are, so control sequences are removed
on the way in (engine/text.py `plain`)."""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from engine.text import plain

MATCH = Style(color="black", bgcolor="yellow")
CURRENT = Style(color="black", bgcolor="dark_orange", bold=True)


class LogView(ScrollView, can_focus=True):
    """Append-only lines with optional times; follows the end unless scrolled away."""

    DEFAULT_CSS = "LogView { background: $surface; }"

    def __init__(self, max_lines: int = 500_000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lines: list[str] = []
        self.times: list[datetime | None] = []
        self.max_lines = max_lines
        self.wrap = False
        self.timestamps = False
        self.follow = True
        self.needle = ""
        self.hits: list[int] = []
        self.current = -1  # index into hits
        self._widest = 0
        self._starts: list[int] = []  # first screen row of each line when wrapping
        self._wrap_width = 0

    # -- content ------------------------------------------------------------------------

    def write_lines(self, lines: list[str], at: datetime | None = None) -> None:
        first = len(self.lines)
        # A tab is one char here, but not on screen; an ESC would act on the terminal.
        lines = [plain(s.expandtabs(4) if "\t" in s else s) for s in lines]
        self.lines.extend(lines)
        self.times.extend([at] * len(lines))
        self._widest = max([self._widest, *(len(s) for s in lines)])
        if self.needle:
            self.hits.extend(i for i, s in enumerate(lines, first) if self.needle in s)
        overflow = len(self.lines) - self.max_lines
        if overflow > 0:  # drop the oldest lines; hit indexes move with them
            del self.lines[:overflow], self.times[:overflow]
            self.hits = [h - overflow for h in self.hits if h >= overflow]
            self._starts = []
        self._update_size()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def clear(self) -> None:
        self.lines, self.times, self.hits, self._starts = [], [], [], []
        self._widest, self.current = 0, -1
        self._update_size()

    def set_wrap(self, wrap: bool) -> None:
        self.wrap = wrap
        self._starts = []
        self._update_size()

    def set_timestamps(self, on: bool) -> None:
        self.timestamps = on
        self._starts = []
        self._update_size()

    # -- search -------------------------------------------------------------------------

    def search(self, needle: str) -> int:
        """Highlight every line holding `needle`, jump to the first; the number of hits."""
        self.needle = needle
        self.hits = [i for i, s in enumerate(self.lines) if needle and needle in s]
        self.current = -1
        self.next_hit(1)
        self.refresh()
        return len(self.hits)

    def next_hit(self, step: int) -> int | None:
        """Move to the next (step 1) or previous (-1) hit; its line index."""
        if not self.hits:
            return None
        self.current = (self.current + step) % len(self.hits)
        line = self.hits[self.current]
        self.follow = False
        self.scroll_to(y=max(0, self._row_of(line) - self.size.height // 2), animate=False)
        self.refresh()
        return line

    # -- geometry -----------------------------------------------------------------------

    def _prefix(self, i: int) -> str:
        at = self.times[i] if self.timestamps else None
        return f"{at:%H:%M:%S} " if at else ("         " if self.timestamps else "")

    def _width(self) -> int:
        return max(1, self.scrollable_content_region.width or self.size.width or 80)

    def _ensure_starts(self) -> None:
        width = self._width()
        if self._wrap_width != width:
            self._starts, self._wrap_width = [], width
        row = self._starts[-1] + self._rows(len(self._starts) - 1) if self._starts else 0
        for i in range(len(self._starts), len(self.lines)):
            self._starts.append(row)
            row += self._rows(i)

    def _rows(self, i: int) -> int:
        length = len(self.lines[i]) + (9 if self.timestamps else 0)
        return max(1, -(-length // self._wrap_width))

    def _row_of(self, line: int) -> int:
        if not self.wrap:
            return line
        self._ensure_starts()
        return self._starts[line] if line < len(self._starts) else 0

    def _update_size(self) -> None:
        if self.wrap and self.lines:
            self._ensure_starts()
            height = self._starts[-1] + self._rows(len(self.lines) - 1)
            self.virtual_size = Size(self._width(), height)
        else:
            stamp = 9 if self.timestamps else 0
            self.virtual_size = Size(self._widest + stamp, len(self.lines))
        self.refresh()

    def on_resize(self) -> None:
        if self.wrap:
            self._starts = []
            self._update_size()

    def on_mouse_scroll_up(self) -> None:
        self.follow = False

    # Keys scroll at once, as in less or k9s: an animated scroll over SSH sends a frame per
    # step and keeps the key's effect waiting on the animation.

    def action_scroll_up(self) -> None:
        self.follow = False
        self.scroll_up(animate=False)

    def action_page_up(self) -> None:
        self.follow = False
        self.scroll_page_up(animate=False)

    def action_scroll_home(self) -> None:
        self.follow = False
        self.scroll_home(animate=False)

    def action_scroll_down(self) -> None:
        self.scroll_down(animate=False)
        self.follow = self.scroll_target_y >= self.max_scroll_y

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)
        self.follow = self.scroll_target_y >= self.max_scroll_y

    def action_scroll_end(self) -> None:
        self.follow = True
        self.scroll_end(animate=False)

    # -- rendering ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        row = scroll_y + y
        if self.wrap:
            self._ensure_starts()
            i = bisect_right(self._starts, row) - 1
            if i < 0 or i >= len(self.lines):
                return Strip.blank(width, base)
            full = self._prefix(i) + self.lines[i]
            start = (row - self._starts[i]) * self._wrap_width
            lo, hi = start, start + self._wrap_width
        else:
            i = row
            if i >= len(self.lines):
                return Strip.blank(width, base)
            full = self._prefix(i) + self.lines[i]
            lo, hi = scroll_x, scroll_x + width
        return Strip(self._segments(i, full, lo, hi, base)).extend_cell_length(width, base)

    def _segments(self, i: int, full: str, lo: int, hi: int, base: Style) -> list[Segment]:
        """The visible slice [lo, hi) of line i, its search matches highlighted."""
        spans: list[tuple[int, int]] = []
        if self.needle and self.hits and self.needle in full:
            at = full.find(self.needle)
            while at >= 0:
                spans.append((at, at + len(self.needle)))
                at = full.find(self.needle, at + 1)
        is_current = 0 <= self.current < len(self.hits) and self.hits[self.current] == i
        style = base + (CURRENT if is_current else MATCH)
        out, pos = [], lo
        for start, end in spans:
            start, end = max(start, lo), min(end, hi)
            if start >= end:
                continue
            if start > pos:
                out.append(Segment(full[pos:start], base))
            out.append(Segment(full[start:end], style))
            pos = end
        if pos < hi:
            out.append(Segment(full[pos:hi], base))
        return out
