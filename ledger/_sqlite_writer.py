"""A dedicated DB-API connection for appends to an SQLite ledger file.

SQLAlchemy's begin/commit machinery (events, pool checkout, transaction objects) cost more per
durable append than the statements did; this connection issues ``BEGIN IMMEDIATE`` and ``COMMIT``
itself with the engine's exact durability settings (WAL, ``synchronous=FULL``, busy timeout).

Example::

    >>> import os, tempfile
    >>> from ledger._sqlite_writer import SqliteWriter
    >>> w = SqliteWriter(os.path.join(tempfile.mkdtemp(), "w.db"))
    >>> w.run(lambda cur: cur.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)").rowcount)
    -1
    >>> w.close()
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Connections inherited across fork(): never used nor closed in the child (closing could run
# SQLite's last-connection WAL cleanup under the parent's feet), so they are kept alive here.
_INHERITED: list[sqlite3.Connection] = []


class SqliteWriter:
    """One lazily opened write connection per process, shared by threads under a lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._cur: sqlite3.Cursor | None = None  # reused by run()
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            try:
                # The same settings as ledger.schema.make_engine: durable once COMMIT returns.
                conn.execute("PRAGMA busy_timeout=60000")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _after_fork(self) -> None:
        if self._pid != os.getpid():
            if self._conn is not None:
                _INHERITED.append(self._conn)
            self._conn, self._cur, self._pid, self._lock = None, None, os.getpid(), threading.Lock()

    def run(self, work: Callable[[sqlite3.Cursor], T]) -> T:
        """``work(cursor)`` between ``BEGIN IMMEDIATE`` and ``COMMIT`` (rolled back if either
        fails); no generator context manager: its enter/exit cost showed on the append path."""
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            if self._cur is None:
                self._cur = self._connection().cursor()
            cur = self._cur
            try:
                cur.execute("BEGIN IMMEDIATE")
                result = work(cur)
                cur.execute("COMMIT")
                return result
            except BaseException:
                conn = self._conn
                if conn is not None and conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only statement, in its own implicit read transaction.

        Lookups by hash and proof reads go through this connection too: through SQLAlchemy each
        cost ~0.15 ms of Python, several times the query itself, which dominated ``verify``.
        """
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            return self._connection().execute(sql, params).fetchall()

    def close(self) -> None:
        self._after_fork()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = self._cur = None
