"""What an executor gets for one run: its definition, and callbacks into the run's row."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.services.workspaces import WorkspaceView


@dataclass
class Outcome:
    state: str  # succeeded | failed | timed_out | cancelled
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


class LogWriter:
    """Buffers log lines and writes them as chunks, at most every `interval` seconds or
    `max_lines` lines, so a chatty job does not turn into a write per line."""

    def __init__(
        self, write: Callable[[str], Any], interval: float = 0.5, max_lines: int = 500
    ) -> None:
        self._write = write
        self._interval = interval
        self._max_lines = max_lines
        self._lines: list[str] = []
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        with self._lock:
            self._lines.append(f"{stamp} {line.rstrip()}")
            due = (
                len(self._lines) >= self._max_lines
                or time.monotonic() - self._last >= self._interval
            )
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
            self._last = time.monotonic()
        if lines:
            self._write("\n".join(lines) + "\n")


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

    def stop_reason(self) -> str | None:
        """`timeout` past the job's timeout, `cancel` once a user asked; else None."""
        if self.timeout_s is not None and time.monotonic() - self.started > self.timeout_s:
            return "timeout"
        if self.cancel_requested():
            return "cancel"
        return None
