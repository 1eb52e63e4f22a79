"""Operations endpoints: /healthz (alive, loops ticking), /readyz (database, schema, lease),
/metrics (Prometheus text). No identity: they show states and counts, never names."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import migrations
from engine.models import utcnow

log = logging.getLogger("sadeem.api")

# A loop that has not gone round for this many heartbeats (at least STALE_MIN_S) is stuck.
STALE_BEATS = 3
STALE_MIN_S = 10.0
_EVENTS = ("claimed", "queued", "finished")


def _result(ok: bool, error_kind: str | None) -> str:
    """A health result as a label value: `ok`, or the failure's kind (auth, network, ...),
    never its message (which may name a host)."""
    return "ok" if ok else (error_kind or "error")


# Histogram buckets in seconds: lags are short when all is well, a stuck queue is minutes.
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600)
SQL_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
# The embedded backends are probed at most this often, however often Prometheus scrapes.
HEALTH_EVERY_S = 15.0
# What a scrape reads of the runs that moved since the previous one, per round trip.
TIMINGS_PAGE = 5000


class Ops:
    def __init__(self, services: Any, engine: Any | None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.services = services
        self.engine = engine
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sadeem_api_requests",
            "API requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sadeem_api_request_seconds",
            "API request duration by route",
            ["route"],
            registry=self.registry,
        )
        self.sql = Counter(
            "sadeem_sql_queries",
            "SQL statements run through the API, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.sql_seconds = Histogram(
            "sadeem_sql_query_seconds",
            "SQL statements run through the API: from the request to the last row sent",
            ["outcome"],
            buckets=SQL_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "sadeem_api_requests_in_flight",
            "API requests being answered now, by door (socket, http)",
            ["door"],
            registry=self.registry,
        )
        self.connections = Gauge(
            "sadeem_api_connections",
            "Client connections open now, by door (socket, http)",
            ["door"],
            registry=self.registry,
        )
        self.claim_lag = Histogram(
            "sadeem_run_claim_lag_seconds",
            "From queued to running: how long runs waited for a slot",
            ["job_type"],
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.schedule_lag = Histogram(
            "sadeem_run_schedule_lag_seconds",
            "From a schedule's due time to the run queued",
            ["job_type"],
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "sadeem_run_duration_seconds",
            "From running to ended, by job type and final state",
            ["job_type", "state"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.health_checks = Counter(
            "sadeem_backend_health_checks",
            "Connection tests run through the API, by connection kind and result",
            ["kind", "result"],
            registry=self.registry,
        )
        from engine.models import utcnow

        # Runs are observed from the database at scrape time (every engine's runs, whoever
        # ran them), from this process's start on: a mark per event, (time, run id).
        start = utcnow()
        self._marks: dict[str, tuple[Any, int]] = {e: (start, 0) for e in _EVENTS}
        self._timings_lock = threading.Lock()
        # Latest health of each connection a client tested (by name, never exported: only
        # counts by kind and result are), and of the embedded backends, probed here.
        self._health: dict[str, tuple[str, str]] = {}
        self._embedded: tuple[float, list[tuple[str, str]]] = (float("-inf"), [])
        self.registry.register(_StateCollector(self))

    # --- what the API tells us ---------------------------------------------------------

    def checked(self, results: Any) -> None:
        """Connection tests (health.test, health.check_all) that went through the API."""
        from engine.views import ConnectionHealth

        items = results if isinstance(results, list) else [results]
        for h in items:
            if isinstance(h, ConnectionHealth):
                result = _result(h.ok, h.error_kind)
                self.health_checks.labels(h.type, result).inc()
                self._health[h.name] = (h.type, result)

    def observe_runs(self) -> None:
        """Feed the histograms with the runs that moved since the last scrape."""
        queue = self.services.queue
        with self._timings_lock:
            for event, hist in (
                ("claimed", self.claim_lag),
                ("queued", self.schedule_lag),
                ("finished", self.run_seconds),
            ):
                while True:
                    page = queue.timings(event, self._marks[event], TIMINGS_PAGE)
                    for when, run_id, kind, state, seconds in page:
                        labels = (kind, state) if event == "finished" else (kind,)
                        hist.labels(*labels).observe(seconds)
                        self._marks[event] = (when, run_id)
                    if len(page) < TIMINGS_PAGE:
                        break

    def backend_health(self) -> dict[tuple[str, str], int]:
        """(kind, result) -> connections: the embedded backends probed now (at most every
        HEALTH_EVERY_S), the others as last tested by a client."""
        at, embedded = self._embedded
        if time.monotonic() - at >= HEALTH_EVERY_S:
            try:
                embedded = [
                    (h.type, _result(h.ok, h.error_kind)) for h in self.services.health.embedded()
                ]
            except Exception:  # a probe's own bug must not take the whole scrape down
                log.exception("embedded health probe failed")
                embedded = [("embedded", "error")]
            self._embedded = (time.monotonic(), embedded)
        out: dict[tuple[str, str], int] = {}
        for key in [*embedded, *self._health.values()]:
            out[key] = out.get(key, 0) + 1
        return out

    def loops(self) -> dict[str, float | None]:
        """Age in seconds of each engine loop's last round (None: never went round)."""
        if self.engine is None:
            return {}
        now = time.monotonic()
        names = ["heartbeat"] + (["dispatch"] if self.engine.dispatch_enabled else [])
        return {n: (now - self.engine.ticks[n]) if n in self.engine.ticks else None for n in names}

    def stale_after_s(self) -> float:
        beat = self.engine.heartbeat_s if self.engine is not None else 5.0
        return max(STALE_BEATS * beat, STALE_MIN_S)

    async def healthz(self, request: Request) -> Response:
        loops = self.loops()
        limit = self.stale_after_s()
        stuck = [n for n, age in loops.items() if age is None or age > limit]
        body = {"ok": not stuck, "loops_age_s": loops, "stuck": stuck}
        return JSONResponse(body, 503 if stuck else 200)

    async def readyz(self, request: Request) -> Response:
        """Ready when the database answers and its schema is this engine's; the scheduler
        lease is reported, not required (a standby engine serves the API all the same)."""
        body = await anyio.to_thread.run_sync(self.readiness)
        return JSONResponse(body, 200 if body["ready"] else 503)

    def readiness(self) -> dict[str, Any]:
        from engine.db import stored_revision

        engine_id = self.engine.id if self.engine is not None else None
        out: dict[str, Any] = {"database": "ok", "schema": None, "lease_holder": None}
        lease: dict[str, Any] = {"holder": None, "holder_kind": None, "expires_in_s": None}
        try:
            self.services.db.check()
            out["schema"] = stored_revision(self.services.db.engine)
            status = self.services.engine_state.status()
            lease["holder"] = status.lease_holder
            lease["holder_kind"] = status.lease_holder_kind
            if status.lease_expires_at is not None:
                left = (status.lease_expires_at - utcnow()).total_seconds()
                lease["expires_in_s"] = round(max(left, 0.0), 1)
        except Exception as exc:  # any failure to reach it: not ready, say which
            out["database"] = f"unavailable: {exc.__class__.__name__}"
        out["schema_current"] = out["schema"] == migrations.HEAD
        # The database's word, not the engine's belief: an engine whose renewals stopped
        # reaching the database does not hold the lease any more, whatever it thinks.
        held = engine_id is not None and lease["holder"] == engine_id
        lease["this_engine"] = engine_id
        lease["held_by_this_engine"] = held
        out["lease"] = lease
        out["lease_holder"] = lease["holder"]
        out["holds_lease"] = held
        ready = out["database"] == "ok" and out["schema_current"]
        return {"ready": ready, **out}

    async def metrics(self, request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        def scrape() -> bytes:
            self.observe_runs()
            return bytes(generate_latest(self.registry))

        data = await anyio.to_thread.run_sync(scrape)
        return Response(data, media_type=CONTENT_TYPE_LATEST)


class _StateCollector:
    """Gauges read from the metadata database at scrape time (runs, queue, engines)."""

    def __init__(self, ops: Ops) -> None:
        self.ops = ops

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        services = self.ops.services
        runs = GaugeMetricFamily(
            "sadeem_runs", "Runs by state and job type", labels=["state", "job_type"]
        )
        for state, kind, n in services.queue.counts():
            runs.add_metric([state, kind], n)
        yield runs
        depth = services.queue.queue_depth()
        yield GaugeMetricFamily("sadeem_queue_depth", "Queued runs waiting for a slot", value=depth)
        status = services.engine_state.status()
        alive = status.engines_alive
        yield GaugeMetricFamily("sadeem_engines_alive", "Engines heartbeating now", value=alive)
        yield GaugeMetricFamily("sadeem_runs_running", "Runs running now", value=status.running)
        engine = self.ops.engine
        yield GaugeMetricFamily(
            "sadeem_holds_scheduler_lease",
            "1 when this engine fires schedules",
            value=1 if engine is not None and engine.holds_lease else 0,
        )
        health = GaugeMetricFamily(
            "sadeem_backend_health",
            "Connections by kind and last health result (ok, or the failure's kind)",
            labels=["kind", "result"],
        )
        for (kind, result), n in sorted(self.ops.backend_health().items()):
            health.add_metric([kind, result], n)
        yield health
        for name, age in self.ops.loops().items():
            yield GaugeMetricFamily(
                f"sadeem_loop_{name}_age_seconds",
                f"Seconds since the {name} loop last went round",
                value=age if age is not None else float("nan"),
            )
