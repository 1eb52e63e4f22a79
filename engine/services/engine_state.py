"""The engine's own bookkeeping: instance heartbeats and named leases (the scheduler
lease). A lease is a row with an expiry; its holder renews it, anyone takes it once it
has expired, and every change is one conditional statement, so two engines can never
both believe they hold it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from engine.db import rowcount
from engine.models import EngineInstance, Lease, Run, utcnow
from engine.run_states import ADOPTABLE, EXECUTING, RunState
from engine.services.base import Service
from engine.views import EngineStatus

# An engine a console embeds has an id that starts with this, so a header or `engine status`
# can tell another operator's console from a daemon.
CONSOLE_ENGINE_PREFIX = "console:"


class EngineStateService(Service):
    def acquire_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        """Take or renew `name` for `holder` until now + ttl; False if someone else holds it."""
        now = utcnow()
        expires = now + timedelta(seconds=ttl_s)
        with self.unit() as s:
            done = s.execute(
                update(Lease)
                .where(
                    Lease.name == name,
                    (Lease.holder == holder) | (Lease.expires_at < now),
                )
                .values(holder=holder, renewed_at=now, expires_at=expires)
            )
            if rowcount(done) == 1:
                return True
        try:
            with self.unit() as s:
                if s.get(Lease, name) is not None:
                    return False
                s.add(
                    Lease(
                        name=name,
                        holder=holder,
                        acquired_at=now,
                        renewed_at=now,
                        expires_at=expires,
                    )
                )
            return True
        except IntegrityError:
            return False  # another engine created it first

    def holder(self, name: str) -> str | None:
        """Who holds `name` now; None when nobody does or the holder let it expire."""
        with self.unit() as s:
            row = s.get(Lease, name)
            return row.holder if row is not None and row.expires_at >= utcnow() else None

    def release_lease(self, name: str, holder: str) -> None:
        with self.unit() as s:
            s.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))

    def heartbeat(self, engine_id: str, hostname: str, pid: int) -> None:
        with self.unit() as s:
            row = s.get(EngineInstance, engine_id)
            if row is None:
                s.add(EngineInstance(id=engine_id, hostname=hostname, pid=pid))
            else:
                row.heartbeat_at = utcnow()

    def stopped(self, engine_id: str) -> None:
        with self.unit() as s:
            row = s.get(EngineInstance, engine_id)
            if row is not None:
                row.stopped_at = utcnow()

    def orphaned_runs(self, stale_after_s: float) -> list[tuple[int, str | None]]:
        """(run id, owner) of running runs whose owner stopped or stopped heartbeating."""
        cutoff = utcnow() - timedelta(seconds=stale_after_s)
        with self.unit() as s:
            alive = select(EngineInstance.id).where(
                EngineInstance.heartbeat_at >= cutoff, EngineInstance.stopped_at.is_(None)
            )
            rows = s.execute(
                select(Run.id, Run.owner).where(
                    Run.state.in_(ADOPTABLE),
                    (Run.owner.is_(None)) | (Run.owner.not_in(alive)),
                )
            ).all()
            return [(r[0], r[1]) for r in rows]

    def status(self, lease: str = "scheduler") -> EngineStatus:
        now = utcnow()
        with self.unit() as s:
            row = s.get(Lease, lease)
            if row is not None and row.expires_at < now:
                row = None  # an expired lease is held by nobody
            engines: list[dict[str, Any]] = [
                {
                    "id": e.id,
                    "hostname": e.hostname,
                    "pid": e.pid,
                    "heartbeat_age_s": round((now - e.heartbeat_at).total_seconds(), 1),
                    "stopped": e.stopped_at is not None,
                }
                for e in s.scalars(select(EngineInstance).order_by(EngineInstance.started_at))
            ]
            age: float | None = None
            if row is not None:
                holder = next((e for e in engines if e["id"] == row.holder), None)
                age = holder["heartbeat_age_s"] if holder else None
            alive_within = self.deps.settings.lease_seconds
            holder_kind = None
            if row is not None:
                holder_kind = (
                    "console" if row.holder.startswith(CONSOLE_ENGINE_PREFIX) else "daemon"
                )
            return EngineStatus(
                lease_holder_kind=holder_kind,
                engines_alive=sum(
                    1 for e in engines if not e["stopped"] and e["heartbeat_age_s"] < alive_within
                ),
                lease_holder=row.holder if row else None,
                lease_expires_at=row.expires_at if row else None,
                heartbeat_age_s=age,
                queue_depth=s.scalar(
                    select(func.count()).select_from(Run).where(Run.state == RunState.QUEUED)
                )
                or 0,
                running=s.scalar(
                    select(func.count()).select_from(Run).where(Run.state.in_(EXECUTING))
                )
                or 0,
                engines=[e for e in engines if not e["stopped"]],
            )
