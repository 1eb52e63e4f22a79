"""Optional abilities are Protocols callers test for: which backends have which is stated
here once, from the README (re-adoption after a crash for Trino and both Spark backends;
DuckDB's work dies with its engine; only the in-process engine is warmed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.backends.base import Closeable, IcebergWriter, Reattachable, Warmable
from engine.backends.duckdb import DuckDBBackend
from engine.backends.iceberg import IcebergCatalog
from engine.backends.kinds import BuildInputs
from engine.backends.spark_local import SparkLocalBackend
from engine.backends.spark_operator import SparkOperatorBackend
from engine.backends.trino import TrinoBackend
from engine.connection_types import kind_of
from tests.fakes.toy_catalog import KIND as TOY


def test_work_outside_the_engine_can_be_found_again(tmp_path: Path) -> None:
    assert isinstance(TrinoBackend("127.0.0.1", 9), Reattachable)
    assert isinstance(SparkOperatorBackend("jobs", api_server="http://127.0.0.1:9"), Reattachable)
    assert isinstance(SparkLocalBackend(tmp_path), Reattachable)
    duck = DuckDBBackend()
    try:
        assert not isinstance(duck, Reattachable)
    finally:
        duck.close()


def test_only_the_in_process_engine_is_warmed() -> None:
    duck = DuckDBBackend()
    try:
        assert isinstance(duck, Warmable)
        assert not isinstance(TrinoBackend("127.0.0.1", 9), Warmable)
    finally:
        duck.close()


def test_close_means_close() -> None:
    duck = DuckDBBackend()
    assert isinstance(duck, Closeable)
    duck.close()
    from engine.backends.base import QueryContext

    with pytest.raises(Exception, match=r"(?i)closed"):  # DuckDB's own error, or Sadeem's
        duck.execute("SELECT 1", QueryContext(user="ana")).fetch()


def test_pyiceberg_stays_behind_the_iceberg_writer_capability(tmp_path: Path) -> None:
    """DuckDB writes Iceberg through a catalog that is an IcebergWriter; a catalog that is
    not (the toy) gives it no pyiceberg catalog, and no caller needs one from it."""
    iceberg = IcebergCatalog.sql(f"sqlite:///{tmp_path / 'c.db'}", str(tmp_path / "wh"))
    assert isinstance(iceberg, IcebergWriter)
    toy = TOY.create({"warehouse": "w"}, BuildInputs(tmp_path))
    assert not isinstance(toy, IcebergWriter)
    duck = kind_of("duckdb").create({}, BuildInputs(tmp_path, catalog=toy))
    try:
        assert not duck._has_catalog
    finally:
        duck.close()
    duck = kind_of("duckdb").create({}, BuildInputs(tmp_path, catalog=iceberg))
    try:
        assert duck._has_catalog
    finally:
        duck.close()
