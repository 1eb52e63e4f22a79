"""Typed settings with one precedence: CLI flags > SADEEM_* environment > config.toml > defaults."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from engine.errors import ValidationError

# Settings whose value is a credential: masked by `config show` and never logged.
SECRET_SETTINGS = frozenset({"secret_key"})


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "sadeem"


def default_config_file() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "sadeem" / "config.toml"


@dataclass(frozen=True)
class Settings:
    """Effective configuration of one Sadeem process."""

    data_dir: Path = field(default_factory=default_data_dir)
    # None means the embedded SQLite file `<data_dir>/sadeem.db`.
    database_url: str | None = None
    # Fernet key for `enc:` secret references; None means a 0600 key file in the data dir.
    secret_key: str | None = None
    # `os`: the OS user is the identity (operators SSH into a bastion); `password`: local users.
    auth: str = "os"
    log_level: str = "info"
    log_format: str = "text"  # text | json
    read_only: bool = False
    # Runner tuning (used by the headless engine and the console's embedded runner).
    max_concurrent_runs: int = 4
    workspace_max_concurrent_runs: int = 8
    heartbeat_seconds: float = 5.0
    lease_seconds: float = 30.0
    shutdown_grace_seconds: float = 60.0

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'sadeem.db'}"

    @property
    def is_embedded_db(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def masked(self) -> dict[str, Any]:
        """Every setting as printable data, secrets and URL passwords masked."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_SETTINGS and value:
                value = "***"
            elif isinstance(value, Path):
                value = str(value)
            out[f.name] = value
        out["database_url"] = mask_url(self.effective_database_url)
        return out


_URL_PASSWORD = re.compile(r"(?P<head>://[^:/@]+:)(?P<pw>[^@]+)(?P<tail>@)")


def mask_url(url: str) -> str:
    """Hide the password of a URL such as postgresql://u:pw@host/db."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", url)


def _coerce(name: str, raw: Any, target: Any) -> Any:
    """Convert a raw file/env/flag value to the type of the default, with a clear error."""
    if raw is None:
        return None
    kind = type(target) if target is not None else str
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if issubclass(kind, Path):
            return Path(str(raw)).expanduser()
        return str(raw)
    except (TypeError, ValueError):
        raise ValidationError(f"expected {kind.__name__}, got {raw!r}", field=name) from None


def load_settings(
    overrides: dict[str, Any] | None = None,
    *,
    environ: dict[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build Settings from defaults, then config.toml, then SADEEM_* env, then CLI overrides."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}

    path = config_file or Path(env.get("SADEEM_CONFIG", "") or default_config_file())
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError(f"{path}: invalid TOML: {exc}") from None
        section = data.get("sadeem", data)
        for key, raw in section.items():
            if key not in names:
                raise ValidationError(f"unknown setting in {path}", field=key)
            values[key] = raw

    for name in names:
        env_value = env.get(f"SADEEM_{name.upper()}")
        if env_value not in (None, ""):
            values[name] = env_value

    for key, raw in (overrides or {}).items():
        if raw is not None:
            values[key] = raw

    typed = {k: _coerce(k, v, getattr(defaults, k)) for k, v in values.items()}
    settings = replace(defaults, **typed)
    if settings.auth not in ("os", "password"):
        raise ValidationError("must be 'os' or 'password'", field="auth")
    if settings.log_format not in ("text", "json"):
        raise ValidationError("must be 'text' or 'json'", field="log_format")
    return settings
