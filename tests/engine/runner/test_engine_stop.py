"""An engine stopped while its heartbeat is starting the scheduler leaves nothing running.

The lease tick starts APScheduler (with a catch-up per schedule, which can take seconds);
a stop that lands meanwhile used to stop the scheduler first and then let the tick start a
new one, which kept firing schedules against a closed database until the process ended.
"""

from __future__ import annotations

import threading
import time

from engine.runner.scheduler import Scheduler


def aps_threads() -> list[threading.Thread]:
    # APScheduler's BackgroundScheduler runs its loop in a thread named "APScheduler".
    return [t for t in threading.enumerate() if t.name == "APScheduler" and t.is_alive()]


def test_stop_during_scheduler_start_leaves_no_scheduler(lake, monkeypatch):
    from engine.runner.engine import Engine

    before = set(aps_threads())
    starting, release = threading.Event(), threading.Event()
    real_start = Scheduler.start

    def slow_start(self: Scheduler) -> None:
        starting.set()
        release.wait(5)  # the stop arrives while the scheduler is being started
        real_start(self)

    monkeypatch.setattr(Scheduler, "start", slow_start)
    engine = Engine(lake, poll_interval=0.05, dispatch=False).start()
    assert starting.wait(10), "the heartbeat never took the lease"
    stopper = threading.Thread(target=engine.stop, kwargs={"grace_s": 1})
    stopper.start()
    time.sleep(0.2)  # stop() is under way, waiting for the tick
    release.set()
    stopper.join(15)
    assert not stopper.is_alive()
    deadline = time.monotonic() + 3
    while set(aps_threads()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not engine.scheduler.running
    assert not set(aps_threads()) - before, "an APScheduler outlived its engine"
