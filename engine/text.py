"""Untrusted text: what users, jobs and backends write is shown as plain text, and kept short.

Run errors, log lines, descriptions, names, cell values and backend messages reach a
terminal. A terminal obeys the control characters in them: `ESC]0;...BEL` retitles the
window, `ESC[2J` clears the screen, a backspace or a carriage return rewrites what the
operator reads, a bidi override reorders it. `plain` removes all of that and keeps tab and
newline, so the console and the CLI show the text and never act on it. (Markup is the
console's own concern: it escapes what `plain` returns, see tui/panes/base.py `literal`.)
"""

from __future__ import annotations

import re

from engine.errors import ValidationError

MAX_DESCRIPTION = 2000  # characters; a description is a line or a paragraph, not a file

# Whole escape sequences go, not only their ESC: the colours of a Spark or Python log
# (`ESC[32mINFO ESC[0m`) would otherwise leave `[32m` litter on every line.
_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: cursor moves, clears, colours
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"  # OSC (window title, links) to BEL or ST
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)"  # DCS, SOS, PM, APC to ST
    r"|\x1b[ -/]*[0-~]"  # the two- and three-character ones: ESC c, ESC 7, ESC ( B
    r"|\x9b[0-?]*[ -/]*[@-~]"  # CSI as one C1 character
)
# Every C0 control but tab and newline, DEL, every C1 control, and the bidi embeddings,
# overrides and isolates (the "Trojan Source" characters).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(text: str) -> str:
    """`text` with no control characters but tab and newline (a carriage return is a line
    break); what is left is printed as it is. Cheap for text that holds none."""
    if text.isprintable():  # the common case: one C-level scan, nothing to do
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


def check_description(value: object, field: str = "description") -> str:
    """The description if it is text of at most MAX_DESCRIPTION characters."""
    if not isinstance(value, str):
        raise ValidationError("must be text", field=field)
    if len(value) > MAX_DESCRIPTION:
        raise ValidationError(f"at most {MAX_DESCRIPTION} characters", field=field)
    return value


def one_line(text: str, limit: int) -> str:
    """`text` on one line (runs of blanks and line breaks become one space), at most
    `limit` characters of it, and when cut, an explicit `…[cut, N chars]` giving the whole
    length: a silently cut `LIMIT 10` reads as `LIMIT 1`."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return f"{flat[:limit]}…[cut, {len(flat)} chars]"
