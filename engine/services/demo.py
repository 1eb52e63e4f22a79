"""The demo: a `demo` workspace on the embedded default with real bronze, silver and gold
Iceberg tables built from the raw files in demo/data by the SQL in demo/sql."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import demo as demo_package
from engine.context import Actor
from engine.errors import NotFound
from engine.services.base import Service, ServiceDeps
from engine.templating import render_sql

if TYPE_CHECKING:
    from engine.wiring import Services

DEMO_DIR = Path(demo_package.__file__).parent
RAW_DIR = DEMO_DIR / "data"
SQL_DIR = DEMO_DIR / "sql"

# Each step is one SQL file (and one job) and the jobs it waits for: running
# `bronze_meters` runs the whole bronze -> silver -> gold chain for that logical date.
PIPELINE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bronze_meters", ()),
    ("bronze_readings", ("bronze_meters",)),
    ("silver_meters", ("bronze_readings",)),
    ("silver_readings", ("bronze_readings",)),
    ("silver_rejected_readings", ("bronze_readings",)),
    ("gold_daily_consumption", ("silver_readings", "silver_meters")),
    ("gold_top_meters", ("silver_readings", "silver_meters")),
)
DAILY = "0 3 * * *"


def step_sql(step: str) -> str:
    return (SQL_DIR / f"{step}.sql").read_text()


@dataclass
class DemoResult:
    workspace: str
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows written


class DemoService(Service):
    def __init__(self, deps: ServiceDeps, services: Services) -> None:
        super().__init__(deps)
        self.services = services

    def run(
        self,
        actor: Actor,
        workspace: str = "demo",
        progress: Callable[[str], None] = lambda _msg: None,
    ) -> DemoResult:
        """Create (if needed) and provision the workspace, then build every table."""
        svc = self.services
        try:
            svc.workspaces.get(actor, workspace)
        except NotFound:
            progress(f"creating workspace {workspace}")
            svc.workspaces.create(
                actor, workspace, description="Utility meter readings: bronze -> silver -> gold"
            )
        progress("provisioning storage and namespaces")
        svc.provisioning.apply(actor, workspace)
        raw_dir = self._raw_files(actor, workspace)
        result = DemoResult(workspace)
        values = {
            "workspace": workspace,
            "ds": datetime.now(UTC).date().isoformat(),
            "run_id": 0,
        }
        for step, _needs in PIPELINE:
            progress(f"building {workspace}_{step.replace('_', '.', 1)}")
            sql = render_sql(step_sql(step), values, {"raw_dir": raw_dir})
            summary = svc.sql.execute(actor, workspace, sql, client_tag="batch").fetch()
            row = summary.to_pylist()[0] if summary.num_rows else {}
            result.tables[str(row.get("table", step))] = int(row.get("rows", 0) or 0)
        self._jobs(actor, workspace, progress, raw_dir)
        return result

    def _raw_files(self, actor: Actor, workspace: str) -> str:
        """Deliver the raw files into the workspace's own prefix (`<prefix>/raw/`): SQL in a
        workspace reads files only under its prefix, as a real landing zone would be."""
        from urllib.parse import unquote, urlparse

        ws = self.services.workspaces.get(actor, workspace)
        store = self.services.lakehouse.store(actor, ws)
        for path in sorted(RAW_DIR.glob("*.csv")):
            store.put(ws.bucket, f"{ws.prefix.strip('/')}/raw/{path.name}", path.read_bytes())
        uri = self.services.lakehouse.workspace_uri(actor, ws) + "/raw"
        return unquote(urlparse(uri).path) if uri.startswith("file:") else uri

    def _jobs(
        self, actor: Actor, workspace: str, progress: Callable[[str], None], raw_dir: str
    ) -> None:
        """The pipeline as upstream-linked SQL jobs, its daily schedule left paused."""
        existing = {j.name for j in self.services.jobs.list(actor, workspace)}
        for step, needs in PIPELINE:
            if step in existing:
                continue
            definition: dict[str, Any] = {"sql": step_sql(step)}
            if step.startswith("bronze"):
                definition["params"] = {"raw_dir": raw_dir}
            self.services.jobs.create(
                actor,
                workspace,
                step,
                "sql",
                definition,
                upstream=list(needs),
                max_retries=1,
                retry_backoff_seconds=30,
            )
        if "bronze_meters" not in existing:
            self.services.jobs.set_schedule(actor, workspace, "bronze_meters", DAILY, paused=True)
        progress("jobs ready: `sadeem job run -w demo bronze_meters --wait` rebuilds it all")
