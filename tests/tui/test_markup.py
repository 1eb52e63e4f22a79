"""Untrusted text put through the console's markup comes out exactly as typed."""

from __future__ import annotations

import pytest
from textual.markup import to_content

from tui.panes.base import literal


@pytest.mark.parametrize(
    "text",
    [
        ":runs [STATE] [24h] [job=NAME]",  # the help's own line
        "Catalog Error: [X] not found",
        "[Bold]loud[/Bold]",
        "[b]bold?[/b] [/]",
        "[on red]alarm",
        "[@click=app.quit]quit",
        "C:\\[x] and a trailing \\",
    ],
)
def test_literal_text_renders_as_typed(text):
    assert to_content(literal(text)).plain == text
