"""The connection types Sadeem knows and the validated config schema of each.

A config is a flat mapping of field -> value. Validation names the field that is wrong and
says what is expected; secret fields are stored as references (see engine.secrets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from engine.errors import ValidationError


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # str | int | bool | url | enum
    required: bool = False
    default: Any = None
    secret: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""


def _f(name: str, kind: str = "str", **kw: Any) -> Field:
    return Field(name, kind, **kw)


TYPES: dict[str, tuple[Field, ...]] = {
    "s3": (
        _f("endpoint", "url", required=True, help="http(s)://host:port of MinIO or S3"),
        _f("region", default="us-east-1"),
        _f("access_key"),
        _f("secret_key", secret=True),
        _f("bucket", help="default bucket for workspaces on this store"),
        _f("path_style", "bool", default=True),
        _f("verify_tls", "bool", default=True),
    ),
    "iceberg_rest": (
        _f("uri", "url", required=True),
        _f("warehouse"),
        _f("credential", secret=True, help="OAuth2 client credentials CLIENT_ID:SECRET"),
        _f("token", secret=True, help="bearer token"),
        _f("oauth2_server_uri", "url"),
        _f("s3_endpoint", "url"),
        _f("s3_region", default="us-east-1"),
        _f("s3_access_key"),
        _f("s3_secret_key", secret=True),
    ),
    "iceberg_sql": (
        _f("uri", help="SQLAlchemy URL of the catalog database; empty = the data dir"),
        _f("warehouse", help="path or s3:// URI; empty = <data dir>/warehouse"),
        _f("s3_endpoint", "url"),
        _f("s3_region", default="us-east-1"),
        _f("s3_access_key"),
        _f("s3_secret_key", secret=True),
    ),
    "trino": (
        _f("host", required=True),
        _f("port", "int", default=8080),
        _f("http_scheme", "enum", default="http", choices=("http", "https")),
        _f("user", help="fallback user when no acting user is known"),
        _f("password", secret=True),
        _f("catalog", default="iceberg"),
        _f("verify_tls", "bool", default=True),
        _f("ui_base_url", "url"),
    ),
    "duckdb": (
        _f("threads", "int"),
        _f("memory_limit", help="e.g. 4GB"),
        _f("catalog_connection", help="name of the iceberg connection to read; empty = embedded"),
    ),
    "spark_operator": (
        _f("namespace", required=True),
        _f("api_server", "url", help="empty = in-cluster config or kubeconfig"),
        _f("kubeconfig"),
        _f("token", secret=True),
        _f("verify_tls", "bool", default=True),
        _f("service_account", default="spark"),
        _f("image"),
        _f("spark_version", default="3.5.3"),
        _f("ui_url_template", help="e.g. https://spark.example/{name}"),
    ),
    "spark_local": (
        _f("spark_submit", help="path of spark-submit; empty = the one pyspark ships"),
        _f("master", default="local[*]"),
        _f("java_home"),
    ),
    "postgres": (
        _f("host", required=True),
        _f("port", "int", default=5432),
        _f("database", required=True),
        _f("user", required=True),
        _f("password", secret=True),
        _f(
            "sslmode",
            "enum",
            default="prefer",
            choices=("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
        ),
    ),
}

SQL_TYPES = frozenset({"trino", "duckdb"})
BATCH_TYPES = frozenset({"spark_operator", "spark_local"})
CATALOG_TYPES = frozenset({"iceberg_rest", "iceberg_sql"})
STORAGE_TYPES = frozenset({"s3"})
MAX_VALUE_LENGTH = 4096


def fields_of(conn_type: str) -> tuple[Field, ...]:
    try:
        return TYPES[conn_type]
    except KeyError:
        raise ValidationError(
            f"unknown connection type {conn_type!r}; expected one of {', '.join(sorted(TYPES))}",
            field="type",
        ) from None


def secret_fields(conn_type: str) -> frozenset[str]:
    return frozenset(f.name for f in TYPES.get(conn_type, ()) if f.secret)


def _describe(value: Any) -> str:
    """What a rejected value looks like, without echoing it: it may be a pasted secret."""
    if isinstance(value, str):
        return f"a {len(value)}-character text"
    return f"a {type(value).__name__}"


def _coerce(field: Field, value: Any) -> Any:
    label = f"config.{field.name}"
    if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
        raise ValidationError(f"longer than {MAX_VALUE_LENGTH} characters", label)
    if field.kind == "int":
        if isinstance(value, bool):
            raise ValidationError(f"expected an integer, got {_describe(value)}", label)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValidationError(f"expected an integer, got {_describe(value)}", label) from None
    if field.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValidationError(f"expected true or false, got {_describe(value)}", label)
    if not isinstance(value, str):
        raise ValidationError(f"expected text, got {type(value).__name__}", label)
    if field.kind == "url":
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValidationError(
                "expected an http(s) URL with a host, e.g. http://minio:9000", label
            )
        try:
            parsed.port  # noqa: B018 - raises on a non-numeric port
        except ValueError:
            raise ValidationError("the URL's port is not a number", label) from None
    if field.kind == "enum" and value not in field.choices:
        raise ValidationError(f"expected one of {', '.join(field.choices)}", label)
    return value


def validate_config(conn_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise a config; secret fields are returned as given (caller protects)."""
    spec = {f.name: f for f in fields_of(conn_type)}
    unknown = sorted(set(config) - set(spec))
    if unknown:
        raise ValidationError(
            f"unknown field for a {conn_type} connection; known: {', '.join(spec)}",
            field=f"config.{unknown[0]}",
        )
    out: dict[str, Any] = {}
    for name, field in spec.items():
        value = config.get(name)
        if value is None or value == "":
            if field.required:
                hint = f" ({field.help})" if field.help else ""
                raise ValidationError(
                    f"required for a {conn_type} connection{hint}", field=f"config.{name}"
                )
            if field.default is not None:
                out[name] = field.default
            continue
        out[name] = _coerce(field, value)
    return out


def masked(conn_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config with every secret field replaced by *** (the reference kind is kept)."""
    secrets = secret_fields(conn_type)
    out = {}
    for key, value in config.items():
        if key in secrets and value:
            kind = str(value).split(":", 1)[0] if ":" in str(value) else "value"
            out[key] = f"*** ({kind})"
        else:
            out[key] = value
    return out
