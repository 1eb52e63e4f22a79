"""Typed settings with one precedence: CLI flags > SADEEM_* environment > config.toml > defaults.

Security settings (`SECURITY_SETTINGS`) are the exception: they come from the system config
`/etc/sadeem/config.toml` only, a file that root owns, so a user cannot log themselves in or
widen where secrets come from with their own config, env or flags."""

from __future__ import annotations

import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from engine.errors import ValidationError

# Settings whose value is a credential: masked by `config show` and never logged.
SECRET_SETTINGS = frozenset({"secret_key"})

# The only file security settings are read from. A constant, not a setting: nothing a user
# controls (env, flags, SADEEM_CONFIG, their config.toml) may move it. Tests monkeypatch it.
SYSTEM_CONFIG_PATH = Path("/etc/sadeem/config.toml")
# Who must own it (and its directory): root. A constant too, so tests run as another account
# can patch it to their own uid.
SYSTEM_CONFIG_OWNER = 0

# Who you are and where secrets may come from: read from SYSTEM_CONFIG_PATH only; the same
# keys in a user's config, SADEEM_* env or flags are ignored with a warning on stderr.
SECURITY_SETTINGS = frozenset(
    {
        "auth",
        "secret_file_dirs",
        "secret_env_prefix",
        "secret_k8s_namespaces",
        "login_max_failures",
        "login_window_s",
        "login_token_s",
    }
)


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def default_data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "sadeem"


def default_config_file() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "sadeem" / "config.toml"


def default_token_file() -> Path:
    """Where `sadeem login` writes its token when `token_file` is not set (and where a
    client then looks for one)."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "sadeem" / "token"


@dataclass(frozen=True)
class Settings:
    """Effective configuration of one Sadeem process."""

    data_dir: Path = field(default_factory=default_data_dir)
    # None means the embedded SQLite file `<data_dir>/sadeem.db`.
    database_url: str | None = None
    # Fernet key for `enc:` secret references; None means a 0600 key file in the data dir.
    secret_key: str | None = None
    # `os`: the OS account of the real uid is the identity; `password`: local users log in.
    auth: str = "os"
    # Where secret references may point (admin-chosen; system config only).
    secret_file_dirs: tuple[str, ...] = ("/run/secrets",)
    secret_env_prefix: str = "SADEEM_SECRET_"
    secret_k8s_namespaces: tuple[str, ...] = ()
    # Password logins: this many failures for one name within the window lock it until the
    # oldest of them leaves the window.
    login_max_failures: int = 5
    login_window_s: int = 900
    # How long a token from a password login over HTTP (`sadeem login`) lasts.
    login_token_s: int = 12 * 3600
    log_level: str = "info"
    log_format: str = "text"  # text | json
    read_only: bool = False
    # Shared site: where `sadeem engine serve` listens (mode 0666; who may act is decided
    # per request from the peer's account), and where a thin client finds it.
    socket: str = "/run/sadeem/engine.sock"
    # `engine serve` also on HTTP (`HOST:PORT`), bearer tokens only; TLS with a cert + key.
    http: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    # A thin client's engine (`unix:/path`, `https://host:port`); None runs embedded, with
    # the DB in this process. Over HTTP(S) the token is read from `token_file`.
    server: str | None = None
    token_file: str | None = None
    # The CA bundle a client trusts for an https:// server (default: the system's).
    # None for token_file: `<XDG_CONFIG_HOME>/sadeem/token` when that file exists.
    server_ca: str | None = None
    # Runner tuning (used by the headless engine and the console's embedded runner).
    max_concurrent_runs: int = 4
    workspace_max_concurrent_runs: int = 8
    heartbeat_seconds: float = 5.0
    lease_seconds: float = 30.0
    shutdown_grace_seconds: float = 60.0
    # The console's keys, rebound: (binding id, keys) pairs from the `[keymap]` table of
    # config.toml (`"jobs.run" = "ctrl+r"`); `?` lists each key with its id's verb.
    keymap: tuple[tuple[str, str], ...] = ()

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
            elif f.name == "keymap":
                value = dict(value)
            out[f.name] = value
        out["database_url"] = mask_url(self.effective_database_url)
        return out


# scheme://user:password@ anywhere in a text; the password runs to the last `@` before the
# path, so a password holding `@` or `:` is hidden whole.
_URL_PASSWORD = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*:)(?P<pw>[^\s/?#]*)(?P<tail>@)"
)


# ...?password=pw: libpq and most drivers take the password from the query string too.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s]*")
_QUERY_PASSWORD = re.compile(
    r"(?P<head>[?&;](?:ssl)?(?:password|passwd|pwd|secret|token)=)[^&;#\s]*", re.I
)


def mask_url(url: str) -> str:
    """Hide the password of a URL such as postgresql://u:pw@host/db or ...?password=pw
    (or of every URL in a message)."""
    url = _URL_PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", url)
    return _URL.sub(lambda u: _QUERY_PASSWORD.sub(r"\g<head>***", u[0]), url)


def _coerce(name: str, raw: Any, target: Any) -> Any:
    """Convert a raw file/env/flag value to the type of the default, with a clear error."""
    if raw is None:
        return None
    kind = type(target) if target is not None else str
    if name == "keymap":
        return _keymap(raw)
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
            # A TOML float or bool is not a count: 2.5 runs is a typo, not 2.
            if isinstance(raw, bool | float):
                raise ValueError(raw)
            return int(raw)
        if kind is float:
            if isinstance(raw, bool):
                raise ValueError(raw)
            return float(raw)
        if issubclass(kind, Path):
            # A TOML table or array is never a path (once a directory named "{'a': 1}").
            if not isinstance(raw, str) or not raw.strip():
                raise ValueError(raw)
            return Path(raw).expanduser()
        if kind is tuple:
            items = raw.split(",") if isinstance(raw, str) else raw
            if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
                raise ValueError(raw)
            return tuple(i.strip() for i in items if i.strip())
        if not isinstance(raw, str):  # nor a name
            raise TypeError(raw)
        return raw
    except (TypeError, ValueError):
        expected = "a path" if issubclass(kind, Path) else kind.__name__
        # A secret's value is never echoed, even a mistyped one.
        got = type(raw).__name__ if name in SECRET_SETTINGS else repr(raw)
        raise ValidationError(f"expected {expected}, got {got}", field=name) from None


def _keymap(raw: Any) -> tuple[tuple[str, str], ...]:
    """`[keymap]` (binding id = keys) as pairs; from the environment `id=keys;id=keys`."""
    if isinstance(raw, str):
        pairs = [part.partition("=")[::2] for part in raw.split(";") if part.strip()]
        raw = {k.strip(): v.strip() for k, v in pairs}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v.strip() for k, v in raw.items()
    ):
        raise ValidationError(
            'expected a table of binding id = keys, e.g. "jobs.run" = "ctrl+r"', field="keymap"
        )
    return tuple(sorted((k, v.strip()) for k, v in raw.items()))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{path}: not UTF-8 text") from None
    section = data.get("sadeem", data)
    if section is not data and "keymap" in data:  # `[keymap]` beside `[sadeem]`
        section = {**section, "keymap": data["keymap"]}
    names = {f.name for f in fields(Settings)}
    for key in section:
        if key not in names:
            raise ValidationError(f"unknown setting in {path}", field=key)
    return dict(section)


def _trusted(path: Path, real: Path) -> None:
    """Refuse a system config that anyone but root could have written: the file, its
    directory, and the directory of the link when the path is a symlink."""
    for item in dict.fromkeys((real, real.parent, path.parent)):
        st = item.stat()
        if st.st_uid != SYSTEM_CONFIG_OWNER or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise ValidationError(
                f"{item} must be owned by root and writable by nobody else "
                f"(owner uid {st.st_uid}, mode {stat.S_IMODE(st.st_mode):04o}); "
                "sadeem will not start on a system config a user could have changed"
            )


def read_system_config() -> dict[str, Any]:
    """The system config's raw values, {} when the file does not exist."""
    path = SYSTEM_CONFIG_PATH
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        if path.is_symlink():  # a link whose target went away is not "no system config"
            raise ValidationError(f"{path}: the system config is a dangling symlink") from None
        return {}
    except OSError as exc:  # e.g. /etc/sadeem not readable: refuse rather than guess
        raise ValidationError(f"{path}: cannot read the system config: {exc.strerror}") from None
    if not real.is_file():
        raise ValidationError(f"{path}: the system config must be a regular file")
    _trusted(path, real)
    try:
        return _read_toml(real)
    except PermissionError:
        raise ValidationError(f"{path}: cannot read the system config: permission denied") from None


def _read_user_config(path: Path) -> dict[str, Any]:
    """A user's config.toml, {} when there is none. One that exists but cannot be read (the
    file or a directory above it not readable by this account) is refused by name: silently
    running on the defaults would run on another database than the one configured."""
    try:
        try:
            # stat, not is_file(): is_file() says False for a directory it may not search.
            if not stat.S_ISREG(path.stat().st_mode):
                return {}
        except (FileNotFoundError, NotADirectoryError):
            return {}
        return _read_toml(path)
    except OSError as exc:  # a directory above it not searchable, the file not readable
        reason = (exc.strerror or exc.__class__.__name__).lower()
        raise ValidationError(
            f"{path}: cannot read the config: {reason}; make it readable by this account "
            "or point SADEEM_CONFIG (or --config) elsewhere"
        ) from None


def load_settings(
    overrides: dict[str, Any] | None = None,
    *,
    environ: dict[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build Settings: defaults < system config < config.toml < SADEEM_* env < CLI overrides.

    Security settings come from the system config alone; elsewhere they are ignored, with a
    one-line warning on stderr."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    names = {f.name for f in fields(Settings)}
    values: dict[str, Any] = read_system_config()
    ignored: list[str] = []

    def put(key: str, raw: Any, source: str) -> None:
        if key in SECURITY_SETTINGS:
            ignored.append(f"{key} ({source})")
        else:
            values[key] = raw

    path = config_file or Path(env.get("SADEEM_CONFIG", "") or default_config_file())
    for key, raw in _read_user_config(path).items():
        put(key, raw, str(path))

    for name in sorted(names):
        env_value = env.get(f"SADEEM_{name.upper()}")
        if env_value not in (None, ""):
            put(name, env_value, f"SADEEM_{name.upper()}")

    for key, raw in (overrides or {}).items():
        if raw is not None:
            put(key, raw, "flag")

    if ignored:
        print(
            f"warning: ignored {', '.join(ignored)}: security settings are read only from "
            f"{SYSTEM_CONFIG_PATH}",
            file=sys.stderr,
        )
    typed = {k: _coerce(k, v, getattr(defaults, k)) for k, v in values.items()}
    settings = replace(defaults, **typed)
    if settings.auth not in ("os", "password"):
        raise ValidationError("must be 'os' or 'password'", field="auth")
    if settings.log_format not in ("text", "json"):
        raise ValidationError("must be 'text' or 'json'", field="log_format")
    if not all(os.path.isabs(d) for d in settings.secret_file_dirs):
        raise ValidationError("every directory must be an absolute path", field="secret_file_dirs")
    if settings.login_max_failures < 1:
        raise ValidationError("must be at least 1", field="login_max_failures")
    if settings.login_window_s < 1:
        raise ValidationError("must be at least 1 second", field="login_window_s")
    if not 60 <= settings.login_token_s <= 86400:
        raise ValidationError("must be between 60 and 86400 seconds", field="login_token_s")
    check_ranges(settings)
    return settings


# Numeric settings and their allowed ranges (inclusive), checked when settings are loaded.
RANGES: dict[str, tuple[float, float]] = {
    "max_concurrent_runs": (1, 1000),
    "workspace_max_concurrent_runs": (1, 1000),
    "heartbeat_seconds": (0.1, 3600),
    "lease_seconds": (1, 86400),
    "shutdown_grace_seconds": (0, 86400),
}


def check_ranges(settings: Settings) -> None:
    """Refuse a numeric setting outside its range (NaN and infinities included), by name."""
    for name, (low, high) in RANGES.items():
        value = getattr(settings, name)
        if not low <= value <= high:  # False for NaN too
            raise ValidationError(f"must be between {low:g} and {high:g}, got {value}", name)
    if settings.lease_seconds <= settings.heartbeat_seconds:
        raise ValidationError("must be longer than heartbeat_seconds", field="lease_seconds")
