"""The registry of backend kinds: each backend module declares its kinds here, once.

A kind is everything Sadeem knows about one type of connection: its fields (which are
secret, required, the defaults its builder applies), its role (storage, catalog, sql,
batch, source), how to build a backend from a resolved config and how to probe one.
Connection validation, the factory, health, the workspace defaults, `sadeem connection
types` and the console's connection form all read this registry, so a new kind is one
module that calls `register(...)` (and its tests), nothing else.

The modules of engine.backends are imported on the first look-up (each one that declares a
kind registers it), not when this module is: a command that never touches a connection
pays nothing (the modules are light: ~10 ms for all). Their heavy clients (boto3, pyiceberg, duckdb,
trino, kubernetes) still load only when a backend is built.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from engine.registry import Registry

if TYPE_CHECKING:
    from engine.backends.base import CatalogBackend, HealthResult

Role = Literal["storage", "catalog", "sql", "batch", "source"]
ROLES: tuple[Role, ...] = ("storage", "catalog", "sql", "batch", "source")


@dataclass(frozen=True)
class Field:
    """One config field of a kind."""

    name: str
    kind: str = "str"  # str | int | bool | url | enum
    required: bool = False
    default: Any = None  # what the builder uses when the field is empty (shown as such)
    secret: bool = False  # stored as a reference (enc:, env:, file:, k8s:), shown masked
    choices: tuple[str, ...] = ()
    help: str = ""
    # Inclusive bounds of an int field (None = unbounded).
    minimum: int | None = None
    maximum: int | None = None


# Every kind's deadline for one call to its system (connect, and the whole test or request).
DEFAULT_TIMEOUT_S = 10
TIMEOUT_FIELD = Field(
    "timeout_s",
    "int",
    default=DEFAULT_TIMEOUT_S,
    minimum=1,
    maximum=3600,
    help="seconds a connect, a request or a test may take",
)


@dataclass(frozen=True)
class BuildInputs:
    """What a builder may need besides the connection's config."""

    data_dir: Path
    # For SQL engines that read the workspace's tables: its catalog and storage prefix.
    catalog: CatalogBackend | None = None
    workspace: str = ""
    workspace_uri: str | None = None


@dataclass(frozen=True)
class Kind:
    """A connection type, declared once by the backend module that implements it."""

    name: str
    role: Role
    fields: tuple[Field, ...]
    # (resolved config with defaults applied, context) -> a backend of the role's Protocol
    build: Callable[[dict[str, Any], BuildInputs], Any]
    summary: str = ""
    # (backend, resolved config) -> HealthResult; default: backend.test()
    test: Callable[[Any, dict[str, Any]], HealthResult] | None = None
    # Fields given together or not at all (a key without its secret cannot sign).
    pairs: tuple[tuple[str, str], ...] = ()
    # (field, the field it needs, why): a Trino password needs the user it authenticates.
    needs: tuple[tuple[str, str, str], ...] = ()
    # config -> (field, what it names) when the config makes the engine use a file on its
    # own host; such a connection is a platform admin's, never a workspace's.
    engine_host_field: Callable[[dict[str, Any]], tuple[str, str] | None] | None = None
    # Its jobs run programs as the engine's own OS account: platform admins only.
    engine_account: bool = False
    # For sql kinds: the sqlglot dialect its statements are parsed with.
    dialect: str | None = None
    # For sql kinds: it reads the workspace's catalog and storage itself (in-process), so
    # it is built with them (BuildInputs.catalog) and rebuilt when they change.
    reads_catalog: bool = False
    all_fields: tuple[Field, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"kind {self.name}: a field is declared twice")
        if self.role == "sql" and not self.dialect:
            raise ValueError(f"kind {self.name}: a sql kind names its dialect")
        extra = () if TIMEOUT_FIELD.name in names else (TIMEOUT_FIELD,)
        object.__setattr__(self, "all_fields", (*self.fields, *extra))

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(f.name for f in self.all_fields if f.secret)

    def with_defaults(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config as the builder sees it: every empty field with a default gets it."""
        out = dict(config)
        for f in self.all_fields:
            if out.get(f.name) in (None, "") and f.default is not None:
                out[f.name] = f.default
        return out

    def create(self, config: dict[str, Any], inputs: BuildInputs) -> Any:
        """A backend for a resolved config (secrets already resolved)."""
        return self.build(self.with_defaults(config), inputs)

    def probe(self, config: dict[str, Any], inputs: BuildInputs) -> HealthResult:
        """Build, test and close one backend: a check every minute keeps nothing open."""
        full = self.with_defaults(config)
        backend = self.build(full, inputs)
        try:
            return self.test(backend, full) if self.test else backend.test()
        finally:
            close = getattr(backend, "close", None)  # an optional ability of a backend
            if callable(close):
                close()


def _backend_modules() -> list[str]:
    """Every module of the engine.backends package: a module that declares a kind calls
    `register` when imported, so a new backend is picked up by being there."""
    import engine.backends

    return [
        f"engine.backends.{m.name}"
        for m in pkgutil.iter_modules(engine.backends.__path__)
        if not m.ispkg
    ]


REGISTRY: Registry[Kind] = Registry("connection kind", _backend_modules)
register = REGISTRY.register
unregister = REGISTRY.unregister
all_kinds = REGISTRY.all
find = REGISTRY.find


def names(role: Role | None = None) -> tuple[str, ...]:
    """The kinds' names, all of them or those of one role, in registration order."""
    return tuple(k.name for k in all_kinds().values() if role is None or k.role == role)
