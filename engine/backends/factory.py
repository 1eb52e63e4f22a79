"""Build backends from connection configs (secrets already resolved).

The one place a connection type maps to a backend class; the class modules are imported
only when a backend of that type is built, so heavy clients load on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.backends.base import BatchBackend, CatalogBackend, ObjectStore, SqlBackend
from engine.errors import ValidationError


def _pick(config: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: config[k] for k in keys if config.get(k) not in (None, "")}


def object_store(conn_type: str, config: dict[str, Any]) -> ObjectStore:
    if conn_type != "s3":
        raise ValidationError(f"a {conn_type} connection is not object storage", "connection")
    from engine.backends.s3 import S3Store

    return S3Store(
        endpoint=config["endpoint"],
        region=config.get("region") or "us-east-1",
        access_key=config.get("access_key"),
        secret_key=config.get("secret_key"),
        path_style=config.get("path_style", True),
        verify_tls=config.get("verify_tls", True),
    )


def local_store(data_dir: Path) -> ObjectStore:
    """The embedded default: buckets are directories under `<data_dir>/storage`."""
    from engine.backends.local_store import LocalStore

    return LocalStore(data_dir / "storage")


def catalog(conn_type: str, config: dict[str, Any], name: str = "sadeem") -> CatalogBackend:
    from engine.backends.iceberg import IcebergCatalog

    s3 = _pick(config, "s3_endpoint", "s3_region", "s3_access_key", "s3_secret_key")
    if conn_type == "iceberg_rest":
        return IcebergCatalog.rest(
            config["uri"],
            name=name,
            **_pick(config, "warehouse", "credential", "token", "oauth2_server_uri"),
            **s3,
        )
    if conn_type == "iceberg_sql":
        return IcebergCatalog.sql(config["uri"], config["warehouse"], name=name, **s3)
    raise ValidationError(f"a {conn_type} connection is not an Iceberg catalog", "connection")


def embedded_catalog(data_dir: Path) -> CatalogBackend:
    from engine.backends.iceberg import IcebergCatalog

    return IcebergCatalog.embedded(data_dir)


def sql_backend(
    conn_type: str,
    config: dict[str, Any],
    catalog_backend: CatalogBackend | None = None,
    *,
    shared: bool = False,
) -> SqlBackend:
    if conn_type == "trino":
        from engine.backends.trino import TrinoBackend

        return TrinoBackend(
            host=config["host"],
            port=config.get("port", 8080),
            http_scheme=config.get("http_scheme", "http"),
            user_default=config.get("user"),
            password=config.get("password"),
            catalog=config.get("catalog"),
            verify_tls=config.get("verify_tls", True),
            ui_base_url=config.get("ui_base_url"),
        )
    if conn_type == "duckdb":
        from engine.backends.duckdb import DuckDBBackend

        return DuckDBBackend(
            catalog=catalog_backend.pyiceberg_catalog if catalog_backend else None,
            threads=config.get("threads"),
            memory_limit=config.get("memory_limit"),
            shared=shared,
        )
    raise ValidationError(f"a {conn_type} connection cannot run SQL", "connection")


def batch_backend(conn_type: str, config: dict[str, Any], data_dir: Path) -> BatchBackend:
    if conn_type == "spark_local":
        from engine.backends.spark_local import SparkLocalBackend

        return SparkLocalBackend(
            data_dir / "spark-local",
            spark_submit=config.get("spark_submit"),
            master=config.get("master") or "local[*]",
            java_home=config.get("java_home"),
        )
    if conn_type == "spark_operator":
        from engine.backends.spark_operator import SparkOperatorBackend

        return SparkOperatorBackend(
            namespace=config["namespace"],
            api_server=config.get("api_server"),
            token=config.get("token"),
            kubeconfig=config.get("kubeconfig"),
            verify_tls=config.get("verify_tls", True),
            service_account=config.get("service_account") or "spark",
            image=config.get("image"),
            spark_version=config.get("spark_version") or "3.5.3",
            ui_url_template=config.get("ui_url_template"),
        )
    raise ValidationError(f"a {conn_type} connection cannot run Spark jobs", "connection")
