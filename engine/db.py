"""Engines, sessions and migrations for the metadata database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

import migrations
from engine.errors import DiskFull, MetadataUnavailable, ValidationError

MIGRATIONS_DIR = Path(migrations.__file__).parent

# SQLAlchemy dialect -> the DBAPI drivers Sadeem supports for it, preferred first. SQLAlchemy
# 2.x maps a plain `postgresql://` to psycopg 3, which Sadeem does not install (psycopg2 is).
_DRIVERS = {"postgresql": ("psycopg2", "psycopg"), "sqlite": ("pysqlite",)}
_MODULES = {"psycopg2": "psycopg2", "psycopg": "psycopg", "pysqlite": "sqlite3"}


def _installed(driver: str) -> bool:
    from importlib.util import find_spec

    return find_spec(_MODULES.get(driver, driver)) is not None


def check_url(url: str) -> str:
    """The URL with its driver made explicit (`postgresql://` -> an installed driver), or a
    ValidationError that names the drivers this machine has."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValidationError(
            "not a database URL; expected sqlite:///PATH or postgresql://USER@HOST:PORT/DB",
            field="database_url",
        ) from None
    dialect, _, driver = parsed.drivername.partition("+")
    if dialect == "postgres":
        dialect = "postgresql"
    drivers = _DRIVERS.get(dialect)
    if drivers is None:
        raise ValidationError(
            f"unsupported database {dialect!r}; use sqlite or postgresql", field="database_url"
        )
    installed = [d for d in drivers if _installed(d)]
    if dialect == "sqlite" and driver in ("", "pysqlite"):
        return url  # the standard library's driver: nothing to make explicit
    if not driver:
        if not installed:
            raise ValidationError(f"no driver for {dialect} is installed", field="database_url")
        driver = installed[0]
    elif driver not in installed:
        have = ", ".join(f"{dialect}+{d}://" for d in installed) or "none"
        raise ValidationError(
            f"driver {driver!r} is not installed; installed: {have}", field="database_url"
        )
    return parsed.set(drivername=f"{dialect}+{driver}").render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """An Engine with the settings each backend needs (WAL + foreign keys on SQLite)."""
    url = check_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ValidationError(
                    f"cannot create {Path(path).parent}: {exc.strerror}", field="database_url"
                ) from None
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's implicit BEGIN breaks SAVEPOINTs and write locking: take control of
            # transactions ourselves and start them with BEGIN IMMEDIATE in `_begin`.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout
            # instead of failing with "database is locked" on lock upgrade. A unit that only
            # reads (Database.reading) takes none: WAL gives it a snapshot without waiting
            # for a writer, and it never upgrades, so it cannot deadlock.
            if conn.get_execution_options().get(READ_ONLY_OPTION):
                conn.exec_driver_sql("BEGIN DEFERRED")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # A bounded connect: a database host that accepts and never answers must not hang a
    # command for libpq's default of forever.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )


CONNECT_TIMEOUT_S = 10
# An execution option marking a unit that only reads (see Database.reading).
READ_ONLY_OPTION = "sadeem_read_only"


class Database:
    """One metadata database: an Engine plus a session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A unit that only reads: on SQLite it waits for no writer (no write lock taken).
        It never commits: anything written inside it is rolled back."""
        session = self._read_sessions()
        try:
            yield session
        finally:
            session.close()  # rolls back

    def upgrade(self, revision: str = "head") -> None:
        if revision == "head" and stored_revision(self.engine) == migrations.HEAD:
            return  # already current: no need to load Alembic and its scripts
        upgrade(self.engine, revision)

    def check(self) -> None:
        """Connect once and read the schema version, or raise MetadataUnavailable naming why
        (nothing listens, no such database or role, a file that is not a SQLite database)."""
        from sqlalchemy import exc

        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    # Reads the header: a zeroed or foreign file fails here, before any write.
                    conn.exec_driver_sql("PRAGMA schema_version").scalar()
        except exc.DBAPIError as error:
            text = str(error.orig).strip().splitlines() if error.orig else []
            reason = text[0] if text else error.__class__.__name__
            folder = sqlite_folder(self.url)
            if folder is not None and disk_nearly_full(folder):
                # SQLite says only "disk I/O error" when it cannot create its -shm file.
                raise DiskFull(f"the metadata database in {folder} ({reason})") from None
            raise MetadataUnavailable(
                f"metadata database unavailable ({mask_password(self.url)}): {reason}"
            ) from None

    def dispose(self) -> None:
        self.engine.dispose()


def sqlite_folder(url: str) -> Path | None:
    """The directory of a SQLite database file, None for a server database or :memory:."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return Path(path).parent if path and path != ":memory:" else None


def disk_nearly_full(folder: Path) -> bool:
    """Less free space than SQLite needs to open a WAL database (its -shm file, 32 KiB)."""
    import shutil

    try:
        return shutil.disk_usage(folder).free < 64 * 1024
    except OSError:
        return False


def mask_password(url: str) -> str:
    """The URL as printable text, its password hidden."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: nothing recognisable to hide, print no part of it
        return "<invalid URL>"


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic), in one transaction per migration."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def stored_revision(engine: Engine) -> str | None:
    """The DB's alembic_version, read with plain SQL (None for an empty DB)."""
    from sqlalchemy import exc, text

    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except exc.DBAPIError:  # no such table yet
            return None


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head() or ""


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE/DELETE matched: Session.execute is typed as returning a plain Result
    for every statement, but for DML it is a CursorResult, which has the count."""
    return cast(CursorResult[Any], result).rowcount
