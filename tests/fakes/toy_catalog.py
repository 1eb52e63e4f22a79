"""A toy catalog kind, declared the way a backend module declares one (a Nessie or Delta
catalog would be the same shape): fields, role, builder, probe. Nothing else in Sadeem
names it; `registered()` adds it to the registry for one test and removes it after."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from engine.backends import kinds
from engine.backends.base import ColumnInfo, HealthResult, TableInfo
from engine.backends.kinds import BuildInputs, Field, Kind
from engine.errors import BackendError, NotFound

NAME = "toy_catalog"
PASSWORD = "toy-secret-1"  # what the toy server accepts as its token


class ToyCatalog:
    """CatalogBackend over namespaces named in its config (`a,b,c`): nothing to reach."""

    def __init__(self, warehouse: str, namespaces: str, token: str | None) -> None:
        self.warehouse = warehouse
        self._namespaces = {(n,): {} for n in namespaces.split(",") if n}
        self._token = token
        self.closed = False

    def list_namespaces(self, parent: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        return sorted(self._namespaces)

    def namespace_exists(self, namespace: tuple[str, ...]) -> bool:
        return namespace in self._namespaces

    def create_namespace(self, namespace: tuple[str, ...], properties: dict[str, str]) -> None:
        self._namespaces[namespace] = dict(properties)

    def namespace_properties(self, namespace: tuple[str, ...]) -> dict[str, str]:
        return self._namespaces[namespace]

    def list_tables(self, namespace: tuple[str, ...]) -> list[str]:
        return []

    def table_versions(self, namespaces: Sequence[str]) -> dict[str, dict[str, str | None]]:
        return {n: {} for n in namespaces if (n,) in self._namespaces}

    def table_columns(self, identifier: str) -> tuple[str | None, list[ColumnInfo]]:
        raise NotFound(f"table {identifier} does not exist")

    def table_info(self, identifier: str) -> TableInfo:
        raise NotFound(f"table {identifier} does not exist")

    def sample_rows(
        self,
        identifier: str,
        limit: int = 100,
        *,
        snapshot_id: int | None = None,
        as_of: datetime | None = None,
    ) -> Any:
        raise NotFound(f"table {identifier} does not exist")

    def test(self) -> HealthResult:
        if self._token != PASSWORD:
            return HealthResult(False, detail="toy: token refused", error_kind="auth")
        return HealthResult(True, 0.1, "toy 1.0", f"{len(self._namespaces)} namespace(s)")

    def close(self) -> None:
        self.closed = True


def _build(config: dict[str, Any], ctx: BuildInputs) -> ToyCatalog:
    if config["warehouse"] == "unreachable":
        raise BackendError("toy: no route to the warehouse", kind="refused")
    return ToyCatalog(config["warehouse"], config["namespaces"], config.get("token"))


KIND = Kind(
    NAME,
    "catalog",
    (
        Field("warehouse", required=True, help="the toy warehouse"),
        Field("namespaces", default="toy_a,toy_b", help="comma-separated"),
        Field("token", secret=True, help="the toy server's token"),
        Field("retries", "int", default=3, minimum=0, maximum=9),
    ),
    _build,
    summary="a toy catalog (tests only)",
)


@contextmanager
def registered() -> Iterator[Kind]:
    kinds.register(KIND)
    try:
        yield KIND
    finally:
        kinds.unregister(NAME)
