"""Spark in local mode: `spark-submit --master local[*]` as a subprocess.

Each application gets a directory under the work dir with its log, pid and, when the
process ends, its exit code (written by a tiny shell wrapper). That makes the outcome
knowable to any engine process, including one that re-adopts the run after a crash. The
application runs in its own session, so cancel kills the whole process group (the JVM
included)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.backends.base import (
    BATCH_ENDED,
    BATCH_PENDING,
    UNKNOWN,
    BatchReattach,
    BatchStatus,
    HealthResult,
    SparkAppSpec,
)
from engine.backends.kinds import BuildInputs, Field, Kind, register
from engine.backends.spark_operator import check_name
from engine.errors import BackendError
from engine.run_states import RunState

_ID = re.compile(r"local-(\d+)-([0-9a-f]{8})")
# The wrapper records the exit code; `exec` is avoided so the shell survives to write it.
_WRAPPER = '"$@"; echo $? > "$SADEEM_EXIT_FILE"'


def find_spark_submit() -> str | None:
    try:
        import pyspark

        path = Path(pyspark.__file__).parent / "bin" / "spark-submit"
        if path.exists():
            return str(path)
    except ImportError:
        pass
    return shutil.which("spark-submit")


class SparkLocalBackend(BatchReattach):  # Reattachable
    def __init__(
        self,
        work_dir: Path,
        spark_submit: str | None = None,
        master: str = "local[*]",
        java_home: str | None = None,
        timeout_s: float = 30,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.timeout_s = timeout_s
        self.spark_submit = spark_submit or find_spark_submit()
        self.master = master
        self.java_home = java_home

    def __repr__(self) -> str:
        return f"SparkLocalBackend({self.master})"

    def _dir(self, external_id: str) -> tuple[int, Path]:
        m = _ID.fullmatch(external_id)
        if not m:
            raise BackendError(
                f"{external_id!r} is not a local Spark application id", kind="not_found"
            )
        return int(m.group(1)), self.work_dir / m.group(2)

    def submit(self, spec: SparkAppSpec) -> BatchStatus:
        # The Spark Operator's rule for names, so a job that runs here runs there too.
        check_name(spec.name)
        if not self.spark_submit:
            raise BackendError(
                "spark-submit not found: install the spark extra "
                "(pip install 'sadeem[spark]') or set spark_submit",
                "not_found",
            )
        token = uuid.uuid4().hex[:8]
        app_dir = self.work_dir / token
        app_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            self.spark_submit,
            "--master",
            self.master,
            "--name",
            spec.name,
            "--driver-memory",
            spec.driver_memory,
        ]
        if spec.main_class:
            cmd += ["--class", spec.main_class]
        for key, value in {"spark.ui.showConsoleProgress": "false", **spec.spark_conf}.items():
            cmd += ["--conf", f"{key}={value}"]
        cmd += [spec.main_application_file, *spec.arguments]
        env = {**os.environ, **spec.env, "SADEEM_EXIT_FILE": str(app_dir / "exit_code")}
        if self.java_home:
            env["JAVA_HOME"] = self.java_home
        with open(app_dir / "output.log", "wb") as log:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", _WRAPPER, "sh", *cmd],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=app_dir,
                start_new_session=True,
            )
        (app_dir / "pid").write_text(str(proc.pid))
        self._children = getattr(self, "_children", {})
        self._children[proc.pid] = proc  # reaped in status() so the pid does not linger
        return BatchStatus(f"local-{proc.pid}-{token}", RunState.RUNNING, "SUBMITTED")

    def status(self, external_id: str) -> BatchStatus:
        try:
            pid, app_dir = self._dir(external_id)
        except BackendError:
            return BatchStatus(external_id, UNKNOWN, None, "lost: not a local Spark id")
        if not app_dir.is_dir():
            # Checked before the pid: a pid alone may belong to any process by now.
            return BatchStatus(external_id, UNKNOWN, None, "lost: no record of it here")
        child = getattr(self, "_children", {}).get(pid)
        if child is not None:
            child.poll()
        exit_file = app_dir / "exit_code"
        if (app_dir / "cancelled").exists():
            return BatchStatus(external_id, RunState.CANCELLED, "CANCELLED", "cancelled")
        if exit_file.exists() and exit_file.read_text().strip():
            code = int(exit_file.read_text().strip())
            if code == 0:
                return BatchStatus(external_id, RunState.SUCCEEDED, "COMPLETED")
            return BatchStatus(
                external_id,
                RunState.FAILED,
                "FAILED",
                f"exit code {code}: {self._last_error(app_dir)}",
            )
        if _alive(pid):
            return BatchStatus(external_id, RunState.RUNNING, "RUNNING", ui_link=self._ui(app_dir))
        return BatchStatus(
            external_id, UNKNOWN, "LOST", "lost: the process ended without recording an exit code"
        )

    def wait(self, external_id: str, timeout_s: float) -> BatchStatus:
        deadline = time.monotonic() + timeout_s
        status = self.status(external_id)
        while status.state in BATCH_PENDING and time.monotonic() < deadline:
            time.sleep(0.2)
            status = self.status(external_id)
        return status

    def logs(self, external_id: str) -> Iterator[str]:
        """Lines of the application's output as they are written, until it ends."""
        if self.status(external_id).state == UNKNOWN:
            return
        _, app_dir = self._dir(external_id)
        path = app_dir / "output.log"
        with open(path, errors="replace") as fh:
            while True:
                line = fh.readline()
                if line:
                    yield line.rstrip("\n")
                    continue
                if self.status(external_id).state not in BATCH_PENDING:
                    yield from (rest.rstrip("\n") for rest in fh.readlines())
                    return
                time.sleep(0.2)

    def cancel(self, external_id: str) -> None:
        """SIGTERM the process group, SIGKILL what is left after 5 s; returns when the whole
        group (the JVM included) is gone. One that has finished keeps its outcome."""
        if self.status(external_id).state in (*BATCH_ENDED, UNKNOWN):
            return
        pid, app_dir = self._dir(external_id)
        (app_dir / "cancelled").touch()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                child = getattr(self, "_children", {}).get(pid)
                if child is not None:
                    child.poll()  # reap our own child so it does not linger as a zombie
                if not _group_alive(pid):
                    return
                time.sleep(0.1)

    def test(self) -> HealthResult:
        start = time.perf_counter()
        if not self.spark_submit:
            return HealthResult(False, detail="spark-submit not found", error_kind="not_found")
        java = shutil.which("java", path=f"{self.java_home}/bin" if self.java_home else None)
        if not java:
            return HealthResult(False, detail="java not found", error_kind="not_found")
        try:
            out = subprocess.run(
                [java, "-version"], capture_output=True, text=True, timeout=self.timeout_s
            )
        except subprocess.TimeoutExpired:
            return HealthResult(
                False, detail=f"timed out after {self.timeout_s:g} s", error_kind="timeout"
            )
        first = (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else ""
        import pyspark

        return HealthResult(
            out.returncode == 0,
            (time.perf_counter() - start) * 1000,
            f"Spark {pyspark.__version__} ({first})",
            self.master,
        )

    @staticmethod
    def _last_error(app_dir: Path) -> str:
        lines = (app_dir / "output.log").read_text(errors="replace").splitlines()
        errors = [ln for ln in lines if "Error" in ln or "Exception" in ln]
        return (errors or lines or ["no output"])[-1][:500]

    @staticmethod
    def _ui(app_dir: Path) -> str | None:
        m = re.search(
            r"(https?://[^\s]+:40\d\d)", (app_dir / "output.log").read_text(errors="replace")
        )
        return m.group(1) if m else None


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is left in the process group."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


def _build(config: dict[str, Any], inputs: BuildInputs) -> SparkLocalBackend:
    return SparkLocalBackend(
        inputs.data_dir / "spark-local",
        spark_submit=config.get("spark_submit"),
        master=config["master"],
        java_home=config.get("java_home"),
        timeout_s=float(config["timeout_s"]),
    )


KIND = register(
    Kind(
        "spark_local",
        "batch",
        (
            Field("spark_submit", help="path of spark-submit; empty = the one pyspark ships"),
            Field("master", default="local[*]"),
            Field("java_home"),
        ),
        _build,
        summary="spark-submit on the engine's host",
        # Its jobs run programs as the engine's own OS account (its data dir, key, every
        # workspace's files); `spark_submit` even names the program. Platform admins only.
        engine_account=True,
    )
)
