"""Validating connection configs against the kinds the backends declare.

The kinds themselves (fields, roles, builders) live in engine.backends.kinds, declared by
each backend module. A config is a flat mapping of field -> value. Validation names the
field that is wrong and says what is expected; secret fields are stored as references (see
engine.secrets); credentials are refused anywhere but in a secret field.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from engine.backends import kinds
from engine.backends.kinds import Field, Kind
from engine.errors import ValidationError
from engine.settings import mask_url


def kind_of(conn_type: str) -> Kind:
    """The registered kind of that name; a clear error naming the known ones otherwise."""
    kind = kinds.find(conn_type)
    if kind is None:
        raise ValidationError(
            f"unknown connection type {conn_type!r}; expected one of {', '.join(type_names())}",
            field="type",
        )
    return kind


def type_names(role: kinds.Role | None = None) -> tuple[str, ...]:
    """The connection types (of one role), sorted: for help texts and error messages."""
    return tuple(sorted(kinds.names(role)))


def engine_host_field(conn_type: str, config: dict[str, Any]) -> tuple[str, str] | None:
    """(field, what it names) when a config makes the engine use a file on its own host
    (each kind says which of its fields can: see Kind.engine_host_field). Such a
    connection is a platform admin's, never a workspace's: its owners could name any file
    of the engine."""
    kind = kinds.find(conn_type)
    if kind is None or kind.engine_host_field is None:
        return None
    return kind.engine_host_field(config)


def runs_as_engine_account(conn_type: str) -> bool:
    """Whether jobs on this type run programs as the engine's own OS account (its data
    dir, key, every workspace's files): platform admins only."""
    kind = kinds.find(conn_type)
    return bool(kind and kind.engine_account)


MAX_VALUE_LENGTH = 4096


def fields_of(conn_type: str) -> tuple[Field, ...]:
    """Every field of a type, `timeout_s` included."""
    return kind_of(conn_type).all_fields


def secret_fields(conn_type: str) -> frozenset[str]:
    kind = kinds.find(conn_type)
    return kind.secrets if kind else frozenset()


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
            number = int(value)
        except (TypeError, ValueError):
            raise ValidationError(f"expected an integer, got {_describe(value)}", label) from None
        low = field.minimum if field.minimum is not None else -(2**63)
        high = field.maximum if field.maximum is not None else 2**63 - 1
        if not low <= number <= high:
            raise ValidationError(f"must be between {low} and {high}", label)
        return number
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
    kind = kind_of(conn_type)
    spec = {f.name: f for f in kind.all_fields}
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
        if not field.secret and isinstance(out[name], str):
            _refuse_credentials(conn_type, field, out[name])
    for first, second in kind.pairs:
        if bool(out.get(first)) != bool(out.get(second)):
            given, missing = (first, second) if out.get(first) else (second, first)
            raise ValidationError(
                f"{given} is set, so {missing} is needed too (or leave both empty)",
                field=f"config.{missing}",
            )
    for given, needed, why in kind.needs:
        if out.get(given) and not out.get(needed):
            raise ValidationError(
                f"{given} is set, so {needed} is needed: {why}", f"config.{needed}"
            )
    return out


# scheme://user:password@ anywhere in a value, and userinfo of any kind in a URL field.
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@]*:[^\s/?#]*@")
_URL_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]*@")


def _refuse_credentials(conn_type: str, field: Field, value: str) -> None:
    """Credentials belong in secret fields (stored as references, masked), never in a URL or
    a host name, where they would be stored, shown and audited in clear."""
    secrets = sorted(secret_fields(conn_type))
    where = (
        f"put the password in the secret field {' or '.join(secrets)}"
        if secrets
        else "this connection type takes no credentials"
    )
    label = f"config.{field.name}"
    if field.kind == "url" and _URL_USERINFO.match(value):
        raise ValidationError(f"a URL here may not carry user:password@; {where}", label)
    if field.name == "host" and ("@" in value or "://" in value):
        raise ValidationError(f"a host name only, no scheme or user@; {where}", label)
    if _URL_PASSWORD.search(value) or mask_url(value) != value:
        raise ValidationError(
            f"may not carry a URL with user:password@ or ?password=; {where}", label
        )


def masked(conn_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config with every secret field replaced by *** (the reference kind is kept)."""
    secrets = secret_fields(conn_type)
    out = {}
    for key, value in config.items():
        if key in secrets and value:
            kind = str(value).split(":", 1)[0] if ":" in str(value) else "value"
            out[key] = f"*** ({kind})"
        elif isinstance(value, str):
            out[key] = mask_url(value)  # a row saved before userinfo was refused
        else:
            out[key] = value
    return out
