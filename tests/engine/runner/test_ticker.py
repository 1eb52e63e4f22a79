"""The process's one ticker (engine/runner/ticker.py) runs every run's late log writes and
statement watches. README "Live logs": a line is in the database within half a second;
"cancel and timeout stop the work on the backend". A chore that blocks (the metadata
database down, a Trino coordinator that does not answer a cancel's DELETE) must not hold
back the other runs' chores on the same thread."""

from __future__ import annotations

import threading
import time

from engine.runner.context import LogWriter
from engine.runner.ticker import Ticker
from tests.engine.runner.conftest import until


def test_a_blocked_chore_does_not_hold_back_another_runs_log_line():
    ticker = Ticker()
    release = threading.Event()
    entered = threading.Event()

    def stuck(_now: float) -> bool:  # a cancel's DELETE to a coordinator that hangs
        entered.set()
        release.wait(10)
        return False

    try:
        ticker.add("stuck", stuck)
        assert entered.wait(2)
        chunks: list[float] = []
        writer = LogWriter(lambda _text: chunks.append(time.monotonic()), 0.3, ticker=ticker)
        start = time.monotonic()
        writer("a line of another run")
        until(lambda: bool(chunks), timeout=5, why=lambda: "the line waited for the stuck chore")
        assert chunks[0] - start < 1.5
    finally:
        release.set()


def test_a_blocked_chore_is_not_called_again_while_it_still_runs():
    ticker = Ticker()
    release = threading.Event()
    calls: list[float] = []
    others: list[float] = []

    def stuck(now: float) -> bool:
        calls.append(now)
        release.wait(10)
        return True

    try:
        ticker.add("stuck", stuck)
        ticker.add("other", lambda now: others.append(now) is None)
        until(lambda: len(others) >= 20, timeout=5, why=lambda: f"{len(others)} ticks")
        assert len(calls) == 1  # one DELETE in flight at a time, not one a tick
    finally:
        release.set()
    until(lambda: len(calls) >= 2, timeout=5)  # and called again once it returned


class Flaky:
    """A log chunk's write while the metadata database blips: the first `fails` raise."""

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.chunks: list[str] = []

    def __call__(self, text: str) -> None:
        if self.fails:
            self.fails -= 1
            raise ConnectionError("the metadata database did not answer")
        self.chunks.append(text)

    def lines(self) -> list[str]:
        return [line.split(" ", 1)[1] for c in self.chunks for line in c.splitlines()]


def test_a_late_write_that_failed_is_written_again_not_lost():
    # README "Live logs": only an engine killed outright loses (its last 0.5 s of) lines.
    write = Flaky(fails=1)
    writer = LogWriter(write, interval=0.2, ticker=Ticker())
    writer("first")
    until(lambda: write.lines() == ["first"], timeout=5, why=write.lines)
    writer("second")
    until(lambda: write.lines() == ["first", "second"], timeout=5, why=write.lines)


def test_a_due_write_that_fails_never_fails_the_run_that_logs():
    write = Flaky(fails=1)
    writer = LogWriter(write, interval=0.0, ticker=Ticker())  # every line is due at once
    writer("one")  # the write fails: the executor logging it must not see the error
    writer("two")
    until(lambda: write.lines() == ["one", "two"], timeout=5, why=write.lines)


def test_the_last_lines_reach_the_finish_even_when_an_earlier_chunk_fails():
    # A finish that is never called leaves the run `running` until it is marked lost.
    write = Flaky(fails=1)
    writer = LogWriter(write, interval=60, ticker=Ticker())
    for i in range(8):
        writer(f"{i} " + "y" * 10_000)  # more than one chunk (60 KiB)
    last = writer.drain()
    assert last is not None
    text = "".join(write.chunks) + last
    assert [int(line.split(" ")[1]) for line in text.splitlines()] == list(range(8))


def test_a_statement_watch_says_nothing_once_its_statement_ended():
    """README: a run's last lines are written with its outcome. A cancel's DELETE still in
    flight when the statement ends (Trino answered the reader first) must not log its
    failure afterwards: that line would land after `finished: ...`, in a chunk written
    after the outcome's transaction."""
    from types import SimpleNamespace

    from engine.errors import BackendError
    from engine.runner.sql_executor import _Watch

    entered = threading.Event()
    lines: list[str] = []

    class Handle:
        def progress(self):
            return None

        def cancel(self):
            entered.set()
            time.sleep(0.5)
            raise BackendError("cancel of q1: timed out")

    rc = SimpleNamespace(log=lines.append, stop_reason=lambda: "cancel")
    watch = _Watch(rc, Handle())
    assert entered.wait(5)
    watch.close()  # the statement ended while its DELETE was out
    lines.append("finished: cancelled")
    time.sleep(1.0)
    assert lines == ["finished: cancelled"]


def test_a_line_logged_after_drain_is_not_written_before_the_drained_lines():
    """The drained lines are written by the finish, in the outcome's transaction, after
    drain returned. A line that comes meanwhile (a Spark driver's log pump still reading)
    must not be written first: chunks are read in order, and the last lines would follow
    a line logged after them."""
    written: list[str] = []
    writer = LogWriter(written.append, interval=60, max_lines=2, ticker=Ticker())
    writer("finished: succeeded")
    last = writer.drain()
    assert last is not None and last.endswith(" finished: succeeded\n")
    writer("a driver line still pumped")
    writer("and another")  # two lines: due at once, written now, before `last`?
    time.sleep(0.3)
    assert written == []  # nothing goes to the database before the finish's chunk
    written.append(last)  # the finish's transaction
    writer.release()
    assert len(written) == 2 and written[1].endswith(" and another\n")


def test_a_watch_late_by_many_beats_writes_one_progress_line_not_a_burst():
    """README: a progress line every 2 s while a statement runs. A watch whose ticks came
    late (its ticker was held up) catches up with one line, not one per missed beat."""
    from types import SimpleNamespace

    from engine.backends.base import QueryProgress
    from engine.runner import sql_executor
    from engine.runner.sql_executor import _Watch

    lines: list[str] = []

    class Handle:
        def progress(self):
            return QueryProgress(state="RUNNING", percent=10.0, rows=0, bytes=0, elapsed_s=1.0)

        def cancel(self):
            raise AssertionError("nothing asked to stop")

    rc = SimpleNamespace(log=lines.append, stop_reason=lambda: None)
    watch = _Watch(rc, Handle())
    sql_executor.TICKER.discard(watch)  # its beats are called here, on a clock of our own
    start = time.monotonic()
    late = start + 20 * sql_executor.PROGRESS_EVERY_S  # 20 beats missed
    for i in range(5):
        watch._tick(late + i * 0.05)  # the ticker's next beats
    assert len(lines) == 1, lines
    watch._tick(late + sql_executor.PROGRESS_EVERY_S)
    assert len(lines) == 2
