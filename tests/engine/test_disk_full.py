"""A full disk: the error says "disk full" (exit 6), a failed CTAS leaves none of its data
files behind, a read-only SELECT still answers when its history row cannot be written, and
everything works again once space is freed.

Where this process may mount (root with CAP_SYS_ADMIN), the data dir sits on a real 16 MiB
tmpfs that the test fills up. CI may lack that privilege; there the same tests run against a
mocked ENOSPC at the file layer instead (pyiceberg's file writer, and the history insert),
which proves the handling but not the kernel's part."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.cli.main import main

BIG_CTAS = (
    "CREATE TABLE w_bronze.big AS SELECT range AS i, md5(range::varchar) AS s FROM range(2000000)"
)


@dataclass
class Disk:
    data_dir: Path
    real: bool  # a real tmpfs (True) or the mocked ENOSPC (False)
    root: Path
    monkeypatch: pytest.MonkeyPatch

    def fill(self) -> None:
        """Leave no space (tmpfs), or make every data-file write fail with ENOSPC (mock)."""
        if self.real:
            with (self.root / "filler").open("wb") as f:
                try:
                    while True:
                        f.write(b"\0" * (1 << 16))
                        f.flush()
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
            return
        from pyiceberg.io import pyarrow as pyiceberg_pyarrow

        original = pyiceberg_pyarrow.PyArrowFile.create

        def create(self, overwrite: bool = False):  # type: ignore[no-untyped-def]
            stream = original(self, overwrite)
            if "/data/" not in self.location:
                return stream
            stream.write(b"PAR1 partial")  # a partial file, as a full disk leaves one
            stream.close()
            raise OSError(errno.ENOSPC, "No space left on device", self.location)

        self.monkeypatch.setattr(pyiceberg_pyarrow.PyArrowFile, "create", create)

    def free(self) -> None:
        if self.real:
            (self.root / "filler").unlink()
        else:
            self.monkeypatch.undo()


def _can_mount() -> bool:
    return os.geteuid() == 0 and os.environ.get("SADEEM_TEST_NO_TMPFS") != "1"


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Disk]:
    root = tmp_path / "small"
    root.mkdir()
    real = False
    if _can_mount():
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(root)], capture_output=True
        )
        real = done.returncode == 0
    d = Disk(root / "data", real, root, monkeypatch)
    try:
        yield d
    finally:
        if real:
            subprocess.run(["umount", "-l", str(root)], check=False)


def _cli(capsys, disk: Disk, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--data-dir", str(disk.data_dir)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _files(disk: Disk, name: str) -> list[Path]:
    return [p for p in (disk.data_dir).rglob("*") if name in str(p)]


def _workspace(capsys, disk: Disk) -> None:
    assert _cli(capsys, disk, "workspace", "create", "w")[0] == 0
    assert _cli(capsys, disk, "workspace", "provision", "w", "--apply")[0] == 0


def test_failed_ctas_says_disk_full_and_leaves_no_files(disk: Disk, capsys) -> None:
    _workspace(capsys, disk)
    if disk.real:
        # Space for the engine, not for the table: a quarter-full disk and a 2M-row table.
        (disk.root / "ballast").write_bytes(b"\0" * (8 << 20))
    else:
        disk.fill()
    code, _, err = _cli(capsys, disk, "sql", "-w", "w", "-e", BIG_CTAS)
    assert code == 6, err
    assert "disk full: writing w_bronze.big" in err and err.count("\n") == 1
    assert _files(disk, "big") == []  # no orphaned data or metadata files
    code, out, _ = _cli(capsys, disk, "catalog", "ls", "w_bronze")
    assert "big" not in out
    # Recovery: with the space back, the same statement works.
    if disk.real:
        (disk.root / "ballast").unlink()
    else:
        disk.free()
    small = BIG_CTAS.replace("range(2000000)", "range(1000)")
    code, out, err = _cli(capsys, disk, "sql", "-w", "w", "-e", small)
    assert code == 0, err
    assert "1000" in out


def test_select_answers_when_its_history_cannot_be_written(
    disk: Disk, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.context import Actor
    from engine.settings import Settings
    from engine.wiring import open_services

    _workspace(capsys, disk)
    svc = open_services(Settings(data_dir=disk.data_dir))
    try:
        actor = Actor(__import__("getpass").getuser(), "cli")
        svc.sql.execute(actor, "w", "SELECT 1").fetch()  # the DB file and its WAL are open
        before = len(svc.sql.history(actor, workspace="w"))
        if disk.real:
            disk.fill()
        else:
            import sqlite3

            from sqlalchemy.exc import OperationalError

            def full(**_values):  # type: ignore[no-untyped-def]
                raise OperationalError(
                    "INSERT", {}, sqlite3.OperationalError("database or disk is full")
                )

            monkeypatch.setattr("engine.services.sql.QueryHistory", full)
        try:
            table = svc.sql.execute(actor, "w", "SELECT 42 AS x").fetch()
            # History is written off the statement's path: wait for its attempt while the
            # disk is still full, or a fast free lets it through.
            svc.sql.flush_history()
        finally:
            disk.free()
            monkeypatch.undo()
        assert table.to_pylist() == [{"x": 42}]
        assert len(svc.sql.history(actor, workspace="w")) == before  # it really was not written
        svc.sql.execute(actor, "w", "SELECT 43").fetch()
        assert len(svc.sql.history(actor, workspace="w")) == before + 1  # recovered
    finally:
        svc.close()


def test_metadata_write_on_a_full_disk_says_so(disk: Disk, capsys) -> None:
    if not disk.real:
        pytest.skip("needs a real full file system: SQLite's own I/O cannot be mocked here")
    _workspace(capsys, disk)
    disk.fill()
    try:
        code, _, err = _cli(capsys, disk, "workspace", "create", "w2")
    finally:
        disk.free()
    assert code == 6, err
    assert err.startswith("error: disk full:") and err.count("\n") == 1
    code, out, _ = _cli(capsys, disk, "workspace", "list")
    assert code == 0 and "w2" not in out
    assert _cli(capsys, disk, "workspace", "create", "w2")[0] == 0
