"""Text shown through Textual's markup as typed."""

from __future__ import annotations


def escape(text: str) -> str:
    """`text` for a markup string: every `[` escaped. rich's and Textual's escape() leave
    `[STATE]` or `[X]` alone (a tag must start lowercase for them), yet Textual 8 reads it as
    a style and drops it: the help's `:runs [STATE]` showed as `:runs `, an error's `[X]`
    vanished."""
    return text.replace("[", "\\[")
