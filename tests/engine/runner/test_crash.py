"""Crash safety: an engine (a real `sadeem engine serve` process) runs 20 runs on Trino
(fake), the Spark Operator (fake Kubernetes API), DuckDB and local Spark, and is killed
with SIGKILL. A second engine settles every run in its true state; none is duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from engine.context import Actor
from engine.models import Run
from engine.runner.engine import Engine
from engine.settings import Settings
from engine.wiring import open_services
from tests.engine.runner.conftest import until
from tests.fakes.k8s_api import FakeKubernetes
from tests.fakes.trino_server import FakeTrino

SLOW_DUCKDB = (
    "SELECT sum(a.range * b.range) FROM range(9000000000) a, range(1000) b "
    "WHERE a.range % 1000 = b.range"
)
ENGINE_ENV = {
    "SADEEM_HEARTBEAT_SECONDS": "0.5",
    "SADEEM_LEASE_SECONDS": "3",
    "SADEEM_MAX_CONCURRENT_RUNS": "20",
    "SADEEM_WORKSPACE_MAX_CONCURRENT_RUNS": "20",
}


@pytest.mark.spark
def test_kill_9_then_another_engine_settles_every_run(postgres_url, tmp_path):
    from engine.backends.spark_local import find_spark_submit
    from tests.support import service_missing

    if find_spark_submit() is None:
        service_missing("Spark (pyspark's spark-submit)")
    data = tmp_path / "data"
    settings = Settings(
        data_dir=data,
        database_url=postgres_url,
        heartbeat_seconds=0.5,
        lease_seconds=3,
        max_concurrent_runs=20,
        workspace_max_concurrent_runs=20,
    )
    svc = open_services(settings, migrate=True)
    admin = Actor("admin", "test")
    svc.users.register(admin)
    trino, k8s = FakeTrino().start(), FakeKubernetes().start()
    first = None
    try:
        svc.workspaces.create(admin, "w")
        svc.provisioning.apply(admin, "w")
        svc.connections.create(admin, "trino", "trino", {"host": "127.0.0.1", "port": trino.port})
        svc.connections.create(
            admin,
            "k8s",
            "spark_operator",
            {"namespace": "jobs", "api_server": k8s.url, "token": "test-token"},
        )
        svc.connections.create(admin, "local", "spark_local", {})
        job_py = tmp_path / "sleepy.py"
        job_py.write_text(
            "import time\nprint('LOCAL START', flush=True)\ntime.sleep(30)\n"
            "print('LOCAL END', flush=True)\n"
        )
        kinds = {}
        for i in range(6):
            svc.jobs.create(
                admin, "w", f"trino_{i}", "sql", {"sql": "SELECT sleep(30)"}, connection="trino"
            )
            svc.jobs.create(
                admin,
                "w",
                f"k8s_{i}",
                "spark",
                {"main_application_file": "s3a://raw/jobs/x.py"},
                connection="k8s",
            )
            svc.jobs.create(admin, "w", f"duck_{i}", "sql", {"sql": SLOW_DUCKDB})
            kinds.update({f"trino_{i}": "trino", f"k8s_{i}": "k8s", f"duck_{i}": "duck"})
        for i in range(2):
            svc.jobs.create(
                admin,
                "w",
                f"local_{i}",
                "spark",
                {"main_application_file": str(job_py), "driver_memory": "512m"},
                connection="local",
            )
            kinds[f"local_{i}"] = "local"
        runs = {svc.runs.trigger(admin, "w", job).id: job for job in kinds}

        env = {
            **os.environ,
            **ENGINE_ENV,
            "SADEEM_DATABASE_URL": postgres_url,
            "SADEEM_DATA_DIR": str(data),
        }
        engine_log = tmp_path / "engine.log"
        first = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "engine", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=engine_log.open("wb"),
            start_new_session=True,
        )

        def in_flight(rid: int) -> bool:
            v = svc.runs.get(admin, rid)
            if kinds[v.job] == "duck":  # in-process work: its id is saved with its outcome
                text = "".join(c.text for c in svc.runs.logs(admin, rid))
                return v.state == "running" and "[1/1]" in text
            return v.state == "running" and bool(v.external_id)  # saved once accepted

        def all_running() -> bool:
            return all(in_flight(rid) for rid in runs)

        # Trino and local Spark runs last 30 s so they are still in flight at the kill,
        # even when six DuckDB scans hold both cores while the others start.
        def states() -> str:
            views = [svc.runs.get(admin, rid) for rid in runs]
            seen = Counter((v.job.split("_")[0], v.state, bool(v.external_id)) for v in views)
            return f"{dict(seen)}; engine log: {engine_log.read_text()[-3000:]}"

        until(all_running, timeout=120, why=states)
        for name in [n for (_, n) in k8s.objects]:
            k8s.set_state("jobs", name, "RUNNING", driver_pod=f"{name}-driver")
        local_ids = {
            rid: svc.runs.get(admin, rid).external_id
            for rid, j in runs.items()
            if kinds[j] == "local"
        }
        until(
            lambda: all(
                "LOCAL START" in "".join(c.text for c in svc.runs.logs(admin, r)) for r in local_ids
            ),
            timeout=120,
        )
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(10)

        # While no engine is up, the operator finishes some applications and fails others.
        apps = sorted(n for (_, n) in k8s.objects)
        for name in apps[:2]:
            k8s.set_state("jobs", name, "COMPLETED", driver_pod=f"{name}-driver")
        for name in apps[2:4]:
            k8s.set_state(
                "jobs", name, "FAILED", driver_pod=f"{name}-driver", message="executor lost"
            )

        second = Engine(open_services(settings), poll_interval=0.1).start()
        try:
            time.sleep(2)
            for name in apps[4:]:  # these finish after the new engine adopted them
                k8s.set_state("jobs", name, "COMPLETED", driver_pod=f"{name}-driver")
            until(
                lambda: all(
                    svc.runs.get(admin, r).state not in ("queued", "running", "cancelling")
                    for r in runs
                ),
                timeout=120,
            )
        finally:
            second.stop(grace_s=2)

        final = {r: svc.runs.get(admin, r) for r in runs}
        by_kind = {
            k: Counter(v.state for r, v in final.items() if kinds[runs[r]] == k)
            for k in ("trino", "k8s", "duck", "local")
        }
        assert by_kind["trino"] == Counter(succeeded=6)
        assert by_kind["k8s"] == Counter(succeeded=4, failed=2)
        assert by_kind["duck"] == Counter(failed=6)
        assert by_kind["local"] == Counter(succeeded=2)
        assert all("lost" in v.error for v in final.values() if kinds[v.job] == "duck")
        # Nothing ran twice: one Trino query and one SparkApplication per run.
        assert len(trino.queries) == 6 and len(k8s.objects) == 6
        with svc.db.session() as s:
            assert s.scalar(select(func.count()).select_from(Run)) == 20
    finally:
        if first is not None and first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        trino.stop()
        k8s.stop()
        svc.close()


def test_a_stop_during_a_claim_leaves_no_run_stranded(lake, admin):
    """A graceful stop that lands while the dispatcher is claiming (issue 17: `engine stop`
    under load left 9 runs `running` with nobody on them, "cannot schedule new futures
    after shutdown"): every run claimed is run to its end or back in the queue."""
    import threading

    from engine.runner.dispatcher import Dispatcher

    lake.jobs.create(admin, "w", "quick", "sql", {"sql": "SELECT 1 AS x"}, max_concurrent_runs=8)
    ids = [lake.runs.trigger(admin, "w", "quick").id for _ in range(4)]
    dispatcher = Dispatcher(lake, "engine-x", max_workers=4, workspace_limit=8)
    real_claim = lake.runs.claim
    stopping: list[threading.Thread] = []

    def claim_while_stopping(*args, **kwargs):
        claimed = real_claim(*args, **kwargs)
        stopper = threading.Thread(target=dispatcher.stop, args=(10.0,))
        stopper.start()  # the operator's stop arrives between the claim and the hand-off
        stopping.append(stopper)
        stopper.join(0.5)
        return claimed

    lake.runs.claim = claim_while_stopping
    try:
        started = dispatcher.tick()
    finally:
        del lake.runs.claim
    stopping[0].join(15)
    assert sorted(started) == sorted(ids)
    states = {lake.runs.get(admin, i).state for i in ids}
    assert states <= {"succeeded", "queued"}, states
