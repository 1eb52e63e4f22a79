"""The embedded catalog's guard: `<data_dir>/catalog.db` is used only while it is the
catalog this site's workspaces live in.

SQLite creates a missing database file on connect, so a deleted catalog.db used to come
back empty: the tables vanished, their files were orphaned, and an engine holding a pooled
connection kept writing to the deleted file. So, like the metadata database is checked
before the first write (engine/db.py `Database.check`), the catalog carries an identity:
a UUID written into catalog.db when it is first created and recorded in the metadata
database. Every open compares the two; a running engine also compares the file's inode
with the one it verified, before every connection it makes or hands out. A missing,
empty, unreadable or foreign file is refused with CatalogUnavailable (exit 8), never
recreated; `sadeem catalog adopt` is the operator's explicit way out.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.backends.base import CatalogBackend
from engine.context import Actor
from engine.errors import CatalogUnavailable, ValidationError
from engine.models import AuditEvent, CatalogIdentity, Workspace
from engine.services import audit
from engine.services.base import Service, ServiceDeps, authorize

CATALOG_FILE = "catalog.db"
RECORD = "embedded"  # CatalogIdentity.name of the embedded catalog
# The table in catalog.db that holds its identity; pyiceberg ignores tables it does not own.
IDENTITY_TABLE = "sadeem_catalog_identity"

RESTORE = "restore it from a backup"
ADOPT_EMPTY = (
    "or run `sadeem catalog adopt --empty` to start an empty catalog (its tables are lost)"
)


@dataclass(frozen=True)
class FileState:
    """What is at the catalog's path, read without writing (and without creating it)."""

    state: str  # missing | empty | unreadable | no_identity | identity
    identity: str | None = None
    detail: str = ""


def inspect_file(path: Path) -> FileState:
    """What `path` holds: read-only, so looking never creates or changes the file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return FileState("missing")
    except OSError as exc:
        return FileState("unreadable", detail=exc.strerror or exc.__class__.__name__)
    if size == 0:
        return FileState("empty")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        return FileState("unreadable", detail=str(exc))
    try:
        con.execute("PRAGMA schema_version").fetchone()  # reads the header: zeroed fails here
        has_table = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (IDENTITY_TABLE,)
        ).fetchone()
        if not has_table:
            return FileState("no_identity")
        row = con.execute(f"SELECT identity FROM {IDENTITY_TABLE}").fetchone()
        return FileState("identity", row[0]) if row else FileState("no_identity")
    except sqlite3.Error as exc:
        return FileState("unreadable", detail=str(exc))
    finally:
        con.close()


def stamp_file(path: Path, identity: str) -> str:
    """Write `identity` into the catalog file (creating it) unless it has one; the identity
    it holds afterwards. One conditional INSERT, so two engines stamping a fresh data dir
    at once agree on the first one's."""
    con = sqlite3.connect(path, timeout=30)
    try:
        with con:
            con.execute(f"CREATE TABLE IF NOT EXISTS {IDENTITY_TABLE} (identity TEXT NOT NULL)")
            con.execute(
                f"INSERT INTO {IDENTITY_TABLE} (identity) SELECT ? "
                f"WHERE NOT EXISTS (SELECT 1 FROM {IDENTITY_TABLE})",
                (identity,),
            )
        return str(con.execute(f"SELECT identity FROM {IDENTITY_TABLE}").fetchone()[0])
    finally:
        con.close()


def _inode(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino


class CatalogGuard(Service):
    """Opens the embedded catalog only after proving it is this site's, and watches it."""

    def __init__(self, deps: ServiceDeps) -> None:
        super().__init__(deps)
        self.path = Path(deps.settings.data_dir) / CATALOG_FILE
        # The inode this process verified, once it has opened the catalog.
        self._seen: tuple[int, int] | None = None
        self._lock = threading.Lock()

    # -- opening ----------------------------------------------------------------------------

    def open(self) -> CatalogBackend:
        """The embedded catalog, verified (created and recorded on a fresh data dir)."""
        from engine.backends.factory import embedded_catalog

        with self._lock:
            self._verify(create=True)
            seen = _inode(self.path)
            self._seen = seen
        return embedded_catalog(self.deps.settings.data_dir, guard=lambda: self.watch(seen))

    def watch(self, seen: tuple[int, int]) -> None:
        """Refuse if the file is no longer the one verified at open (deleted, replaced,
        truncated): the running engine's connections would write to what is not there."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise CatalogUnavailable(
                f"the embedded catalog {self.path} was deleted while the engine was running; "
                f"nothing more is written to it: {RESTORE} and restart the engine, "
                f"{ADOPT_EMPTY}"
            ) from None
        if (st.st_dev, st.st_ino) != seen:
            raise CatalogUnavailable(
                f"the embedded catalog {self.path} was replaced while the engine was running; "
                "nothing is written to the new file: restart the engine to have it checked"
            )
        if st.st_size == 0:
            raise CatalogUnavailable(
                f"the embedded catalog {self.path} was truncated while the engine was running: "
                f"{RESTORE} and restart the engine, {ADOPT_EMPTY}"
            )

    def check(self) -> None:
        """watch() for the file this process opened, if it has opened one."""
        seen = self._seen
        if seen is not None:
            self.watch(seen)

    def problem(self) -> CatalogUnavailable | None:
        """What is wrong with the embedded catalog, for health and `workspace check`; None
        when it is fine or not created yet. Writes nothing, creates nothing."""
        try:
            with self._lock:
                self._verify(create=False)
            self.check()
        except CatalogUnavailable as exc:
            return exc
        return None

    def _verify(self, create: bool) -> None:
        recorded = self._recorded()
        found = inspect_file(self.path)
        if recorded is not None:
            if found.state == "identity" and found.identity == recorded:
                return
            raise self._refusal(found, recorded)
        # Nothing recorded: a fresh data dir, or one from before identities were recorded.
        if found.state in ("missing", "empty"):
            if self._had_tables():
                raise CatalogUnavailable(
                    f"the embedded catalog {self.path} is missing but workspaces were "
                    f"provisioned in it; it was not recreated: {RESTORE}, {ADOPT_EMPTY}"
                )
            if not create:
                return  # created on first use
        elif found.state == "unreadable":
            raise self._refusal(found, None)
        elif not create:
            return  # an existing catalog, adopted on first use
        identity = stamp_file(self.path, found.identity or str(uuid.uuid4()))
        self._record(identity)

    def _refusal(self, found: FileState, recorded: str | None) -> CatalogUnavailable:
        where = f"the embedded catalog {self.path}"
        if found.state == "missing":
            return CatalogUnavailable(
                f"{where} is missing: the workspaces' tables are in it, so it was not "
                f"recreated: {RESTORE}, {ADOPT_EMPTY}"
            )
        if found.state in ("empty", "unreadable"):
            what = "empty" if found.state == "empty" else f"not readable ({found.detail})"
            return CatalogUnavailable(f"{where} is {what}: {RESTORE}, {ADOPT_EMPTY}")
        have = f"identity {found.identity}" if found.identity else "no identity"
        return CatalogUnavailable(
            f"{where} is not this site's catalog (it has {have}, this site's is {recorded}); "
            "nothing was written to it: put back the original from a backup, or run "
            "`sadeem catalog adopt` to make this file the catalog"
        )

    # -- the record in the metadata database ------------------------------------------------

    def _recorded(self) -> str | None:
        with self.unit() as s:
            row = s.get(CatalogIdentity, RECORD)
            return row.identity if row is not None else None

    def _record(self, identity: str) -> None:
        try:
            with self.unit() as s:
                s.add(CatalogIdentity(name=RECORD, identity=identity))
        except IntegrityError:  # another engine recorded one first: it must be the same
            recorded = self._recorded()
            if recorded != identity:
                raise self._refusal(inspect_file(self.path), recorded) from None

    def _had_tables(self) -> bool:
        """True when the audit trail shows namespaces provisioned in the embedded catalog
        (a data dir from before identities were recorded, whose catalog.db is gone)."""
        with self.unit() as s:
            embedded = select(Workspace.name).where(Workspace.catalog_connection_id.is_(None))
            hit = s.scalar(
                select(AuditEvent.id)
                .where(
                    AuditEvent.action == "workspace.provision",
                    AuditEvent.target_type == "namespace",
                    AuditEvent.workspace.in_(embedded),
                )
                .limit(1)
            )
            return hit is not None

    # -- the way out ------------------------------------------------------------------------

    def adopt(self, actor: Actor, *, empty: bool = False) -> str:
        """Make the file at the catalog's path this site's catalog (`empty`: move whatever
        is there aside and start an empty one); the identity now recorded. Audited."""
        with self.unit() as s:
            authorize(s, actor, "catalog.adopt")
        with self._lock:
            found = inspect_file(self.path)
            moved: str | None = None
            if empty:
                if found.state != "missing":
                    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                    aside = self.path.with_name(f"{CATALOG_FILE}.replaced-{stamp}")
                    os.replace(self.path, aside)  # kept, never deleted: it may be needed
                    moved = str(aside)
                identity = stamp_file(self.path, str(uuid.uuid4()))
            elif found.state in ("identity", "no_identity"):
                identity = stamp_file(self.path, found.identity or str(uuid.uuid4()))
            else:
                raise ValidationError(
                    f"{self.path} is {found.state} and cannot be adopted: restore a backup "
                    "there first, or pass --empty to start an empty catalog"
                )
            previous = self._recorded()
            with self.unit() as s:
                row = s.get(CatalogIdentity, RECORD)
                if row is None:
                    s.add(CatalogIdentity(name=RECORD, identity=identity))
                else:
                    row.identity = identity
                    row.recorded_at = datetime.now(UTC)
                audit.record(
                    s,
                    actor,
                    "catalog.adopt",
                    "catalog",
                    RECORD,
                    details={"identity": identity, "previous": previous, "moved_to": moved},
                )
            self._seen = None  # this process verifies the new file when it next opens it
        return identity
