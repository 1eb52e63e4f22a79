"""Local Spark: real PySpark jobs through spark-submit (pyspark and Java on this machine)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from engine.backends.base import SparkAppSpec
from engine.backends.spark_local import SparkLocalBackend, find_spark_submit
from tests.support import service_missing

pytestmark = pytest.mark.spark
CONF = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"}


@pytest.fixture
def backend(tmp_path):
    if find_spark_submit() is None or shutil.which("java") is None:
        service_missing("Spark (pyspark's spark-submit and Java)")
    return SparkLocalBackend(tmp_path / "spark")


def app(tmp_path, body: str) -> str:
    path = tmp_path / "job.py"
    path.write_text(
        "from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\n" + body
    )
    return str(path)


def test_success_log_and_failure(backend, tmp_path):
    ok = backend.submit(
        SparkAppSpec(
            name="count",
            driver_memory="512m",
            spark_conf=CONF,
            arguments=["7"],
            main_application_file=app(
                tmp_path,
                "import sys\nprint('MARKER', spark.range(int(sys.argv[1])*1000).count())\n",
            ),
        )
    )
    assert ok.external_id.startswith("local-")
    lines = list(backend.logs(ok.external_id))
    assert "MARKER 7000" in lines
    assert backend.status(ok.external_id).state == "succeeded"
    (tmp_path / "bad").mkdir()
    bad = backend.submit(
        SparkAppSpec(
            name="boom",
            driver_memory="512m",
            spark_conf=CONF,
            main_application_file=app(tmp_path / "bad", "raise RuntimeError('disk on fire')\n"),
        )
    )
    final = backend.wait(bad.external_id, 120)
    assert final.state == "failed" and "disk on fire" in final.message


def test_cancel_kills_the_process_group(backend, tmp_path):
    running = backend.submit(
        SparkAppSpec(
            name="sleepy",
            driver_memory="512m",
            spark_conf=CONF,
            main_application_file=app(
                tmp_path, "import time\nprint('READY', flush=True)\ntime.sleep(600)\n"
            ),
        )
    )
    pid = int(running.external_id.split("-")[1])
    deadline = time.monotonic() + 120
    log = backend.work_dir / running.external_id.split("-")[2] / "output.log"
    while "READY" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.5)
    java = [p for p in os.listdir("/proc") if p.isdigit() and _in_group(int(p), pid)]
    assert java, "the JVM should run in the job's process group"
    backend.cancel(running.external_id)
    assert backend.status(running.external_id).state == "cancelled"
    time.sleep(0.5)
    assert not [p for p in java if os.path.exists(f"/proc/{p}") and _in_group(int(p), pid)]


def _in_group(pid: int, pgid: int) -> bool:
    """A live (non-zombie) member of the process group."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return int(fields[2]) == pgid and fields[0] != "Z"
