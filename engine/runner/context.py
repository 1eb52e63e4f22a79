"""What an executor gets for one run: its definition, and callbacks into the run's row."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.runner.ticker import TICKER, Ticker
from engine.services.workspaces import WorkspaceView

log = logging.getLogger("sadeem.runner")


@dataclass
class Outcome:
    state: str  # succeeded | failed | timed_out | cancelled
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    # The backend's id of work that ends with the engine (not re-adopted), saved at the end.
    external_id: str | None = None


# A log line longer than this is cut, with `…[cut, N chars]` saying so (a Spark driver can
# print a whole plan or a base64 blob on one line); a chunk stays under the service's cap.
MAX_LINE = 16 * 1024
MAX_CHUNK = 60 * 1024


class LogWriter:
    """Buffers log lines and writes them as chunks, at most every `interval` seconds or
    `max_lines` lines, so a chatty job does not turn into a write per line. A line that
    waits is written `interval` seconds later at the latest, whether or not another line
    follows: waiting for the next line left `run logs --follow` one statement behind and
    the log empty during a long statement.
    The late write is a chore of the process's one ticker, not a timer thread per run.
    A write that fails (the metadata database blips) puts its lines back, in order, for
    the ticker to write again; the run that logged never sees the error."""

    def __init__(
        self,
        write: Callable[[str], Any],
        interval: float = 0.5,
        max_lines: int = 500,
        ticker: Ticker = TICKER,
    ) -> None:
        self._write = write
        self._interval = interval
        self._max_lines = max_lines
        self._ticker = ticker
        self._lines: list[str] = []
        self._last = time.monotonic()
        self._lock = threading.Lock()  # the buffer
        self._write_lock = threading.Lock()  # chunks are written one at a time, in order
        self._waiting = False  # a late write is asked of the ticker
        # Between drain() and release(): the drained lines are not written yet (the finish
        # writes them), so a line logged meanwhile waits instead of going first.
        self._held = False

    def __call__(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        line = line.rstrip()
        if len(line) > MAX_LINE:
            line = f"{line[:MAX_LINE]}…[cut, {len(line)} chars]"
        with self._lock:
            self._lines.append(f"{stamp} {line}")
            due = not self._held and (
                len(self._lines) >= self._max_lines
                or time.monotonic() - self._last >= self._interval
            )
            ask = not due and not self._waiting and not self._held
            self._waiting = self._waiting or ask
        if due:
            try:
                self.flush()
            except Exception as exc:  # a DB blip never fails the run that logs: retried
                log.warning("run log not written yet: %s", exc.__class__.__name__)
                self._retry_later()
        elif ask:
            self._ticker.add(self, self._late)

    def _retry_later(self) -> None:
        """Lines a failed write put back: the ticker tries again `interval` later."""
        with self._lock:
            ask = not self._waiting
            self._waiting = True
        if ask:
            self._ticker.add(self, self._late)

    def _late(self, now: float) -> bool:
        """The ticker's chore: write what waited `interval`; False once nothing waits."""
        with self._lock:
            if not self._lines or self._held:
                self._waiting = False
                return False
            # A beat early rather than a beat late: the README's "within 0.5 s" holds.
            if now - self._last < self._interval - self._ticker.every_s:
                return True
        try:
            self.flush()
        except Exception as exc:  # the ticker's thread: say so, never die with a traceback
            log.warning("run log not written yet: %s", exc.__class__.__name__)
            return True
        with self._lock:
            self._waiting = bool(self._lines)
            return self._waiting

    def _take(self) -> list[str]:
        with self._lock:
            lines, self._lines = self._lines, []
            self._last = time.monotonic()
        return lines

    def _write_all(self, chunks: list[list[str]]) -> None:
        """Write each chunk in order; a chunk whose write failed and those after it go back
        to the front of the buffer (never lost), and the error goes on to the caller."""
        for i, chunk in enumerate(chunks):
            try:
                self._write(_text(chunk))
            except BaseException:
                with self._lock:
                    self._lines[:0] = [line for c in chunks[i:] for line in c]
                raise

    def drain(self) -> str | None:
        """Take what waits, for the caller to write (the run's finish writes its last lines
        in its own transaction): chunks but the last are written here, the last returned."""
        with self._write_lock:
            self._ticker.discard(self)
            with self._lock:
                self._waiting = False
                self._held = True
            chunks = _chunks(self._take())
            for i, chunk in enumerate(chunks[:-1]):
                try:
                    self._write(_text(chunk))
                except Exception as exc:
                    # The finish must still be called (a run left `running` until it is
                    # marked lost): what was not written goes with it, as one chunk (cut
                    # over the cap with the marker, never silently).
                    log.warning("run log not written yet: %s", exc.__class__.__name__)
                    return _text([line for c in chunks[i:] for line in c])
            return _text(chunks[-1]) if chunks else None

    def release(self) -> None:
        """After the drained lines were written (the finish committed, or failed): lines
        logged since are written, after them."""
        with self._lock:
            self._held = False
        try:
            self.flush()
        except Exception as exc:
            log.warning("run log not written yet: %s", exc.__class__.__name__)
            self._retry_later()

    def flush(self) -> None:
        with self._write_lock:
            if self._held:
                return  # drained: the finish writes first, release() then
            self._write_all(_chunks(self._take()))


def _text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def _chunks(lines: list[str]) -> list[list[str]]:
    """The lines as chunks of at most MAX_CHUNK characters (each written ending in a
    newline)."""
    chunks: list[list[str]] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > MAX_CHUNK:
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        chunks.append(chunk)
    return chunks


@dataclass
class RunContext:
    run_id: int
    workspace: WorkspaceView
    job: str
    job_type: str
    definition: dict[str, Any]
    connection: str | None
    parameters: dict[str, Any]
    logical_date: str
    timeout_s: float | None
    created_by: str
    started: float
    log: LogWriter
    set_external: Callable[[str | None, dict[str, Any]], None]
    cancel_requested: Callable[[], bool]
    connection_type: str | None = None  # of the connection the run uses
    author: str | None = None  # who wrote the job version: its SQL runs with their rights
    author_admin: bool = False
    # every workspace's (name, layers, bucket, prefix, storage id): the SQL policy's inputs
    workspaces: tuple[tuple[Any, ...], ...] = ()

    def stop_reason(self) -> str | None:
        """`timeout` past the job's timeout, `cancel` once a user asked; else None."""
        if self.timeout_s is not None and time.monotonic() - self.started > self.timeout_s:
            return "timeout"
        if self.cancel_requested():
            return "cancel"
        return None
