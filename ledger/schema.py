"""Engines and versioned schema: SQLite pragmas, Alembic migrations run in-process, open checks.

Example::

    >>> from ledger.schema import make_engine
    >>> make_engine("sqlite://").dialect.name
    'sqlite'
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError

from ledger.errors import (
    CorruptLedgerError,
    LedgerError,
    LedgerNotFoundError,
    NotALedgerError,
    SchemaTooNewError,
)

_MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL, or None for other databases and in-memory SQLite."""
    try:
        u = make_url(url)
    except ArgumentError as e:
        raise LedgerError(f"ledger URL {url!r}: not a database URL ({e})") from e
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def make_engine(url: str) -> Engine:
    """An engine; SQLite gets WAL, synchronous=FULL and BEGIN IMMEDIATE transactions."""
    try:
        u = make_url(url)
    except ArgumentError as e:
        raise LedgerError(f"ledger URL {url!r}: not a database URL ({e})") from e
    if u.get_backend_name() != "sqlite":
        try:
            return create_engine(u, pool_pre_ping=True)
        except Exception as e:  # missing driver and the like
            raise LedgerError(f"ledger URL {u.render_as_string()}: cannot use it ({e})") from e
    engine = create_engine(u, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # durable: a committed entry survives power loss
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front (IMMEDIATE), so two appenders never deadlock on upgrade;
        # readers stay deferred so they never block each other.
        write = conn.get_execution_options().get("ledger_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _describe(url: str) -> str:
    path = sqlite_path(url)
    return str(path) if path is not None else make_url(url).render_as_string()


def current_revision(conn: Connection, url: str) -> str | None:
    """The stored schema revision; errors for foreign, newer or damaged databases."""
    try:
        tables = set(inspect(conn).get_table_names())
        rev = MigrationContext.configure(conn).get_current_revision()
    except DatabaseError as e:
        raise _db_error(url, e) from e
    if rev is None:
        if tables - {"alembic_version"}:
            raise NotALedgerError(f"{_describe(url)}: database holds tables but no ledger")
        return None
    if rev not in known_revisions():
        raise SchemaTooNewError(
            f"{_describe(url)}: ledger schema {rev!r} is newer than this software knows; upgrade it"
        )
    if "ledger_meta" not in tables:
        raise NotALedgerError(f"{_describe(url)}: database has a schema version but no ledger")
    return rev


def upgrade(conn: Connection) -> None:
    """Bring the schema to the newest revision (inside the caller's transaction)."""
    command.upgrade(_alembic_config(conn), "head")


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every revision this software's migrations know (read once per process)."""
    return frozenset(s.revision for s in ScriptDirectory(str(_MIGRATIONS)).walk_revisions())


@functools.cache
def head_revision() -> str | None:
    """The newest revision: a ledger already there needs no upgrade (alembic's own no-op
    upgrade loads its environment, ~15 ms of every ledger open)."""
    return ScriptDirectory(str(_MIGRATIONS)).get_current_head()


def check_sqlite_file(url: str, must_exist: bool) -> None:
    """Refuse a missing, foreign or truncated SQLite file before SQLite touches it."""
    path = sqlite_path(url)
    if path is None:
        return
    if not path.exists():
        if must_exist:
            raise LedgerNotFoundError(f"no ledger at {path}: run `provenance init` first")
        return
    size = path.stat().st_size
    if size == 0:
        raise NotALedgerError(f"{path}: empty file, not a ledger")
    with path.open("rb") as f:
        header = f.read(100)
    if not header.startswith(b"SQLite format 3\x00"):
        raise NotALedgerError(f"{path}: not an SQLite database, so not a ledger")
    if len(header) < 100:
        raise CorruptLedgerError(f"{path}: truncated database header")
    page_size = int.from_bytes(header[16:18], "big") or 65536
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    wal = Path(str(path) + "-wal")
    has_wal = wal.exists() and wal.stat().st_size > 0
    if not has_wal and pages and size < pages * page_size:
        raise CorruptLedgerError(
            f"{path}: truncated ({size} bytes, header says {pages * page_size}); restore a backup"
        )
    if not os.access(path, os.R_OK):
        raise LedgerError(f"{path}: not readable")


def _db_error(url: str, e: Exception) -> LedgerError:
    # Drivers add detail lines (PostgreSQL quotes the SQL); errors are one line, so keep the first.
    lines = str(getattr(e, "orig", e)).strip().splitlines() or [type(e).__name__]
    msg = lines[0].strip()
    if "malformed" in msg or "disk image" in msg:
        return CorruptLedgerError(f"{_describe(url)}: database is damaged ({msg})")
    if "not a database" in msg:
        return NotALedgerError(f"{_describe(url)}: not a ledger ({msg})")
    if isinstance(e, OperationalError):
        return LedgerError(f"{_describe(url)}: cannot use the database ({msg})")
    return LedgerError(f"{_describe(url)}: database error ({msg})")


db_error = _db_error
