"""A witness's own memory: the latest cosigned tree per log origin, in its own SQLite file.

Every change is one compare-and-swap statement (``UPDATE ... WHERE size = old AND root = old``
or an insert that loses to an existing row), committed durably before the witness answers, so
concurrent requests for one origin cannot roll the tree back: exactly one wins each size.

Example::

    >>> import tempfile, pathlib
    >>> st = WitnessState(pathlib.Path(tempfile.mkdtemp()) / "state.sqlite")
    >>> st.swap("example.org/log", None, Tree(5, bytes(32)), "note")
    True
    >>> st.swap("example.org/log", None, Tree(6, bytes(32)), "note")
    False
    >>> st.get("example.org/log").size
    5
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trees (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS refusals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    old_size INTEGER NOT NULL,
    note TEXT NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Tree:
    size: int
    root: bytes


@dataclass(frozen=True)
class Refusal:
    origin: str
    old_size: int
    note: str
    status: int
    reason: str


class WitnessState:
    """The state file; safe to use from many threads and processes.

    Each thread keeps its own connection: opening one per call would make every close the
    last connection, which checkpoints and removes the WAL (several fsyncs per request).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit: each statement is its own transaction, which is all a CAS needs.
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA synchronous=FULL")  # persisted before the witness answers
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def get(self, origin: str) -> Tree | None:
        row = (
            self._conn()
            .execute("SELECT size, root FROM trees WHERE origin = ?", (origin,))
            .fetchone()
        )
        return None if row is None else Tree(int(row[0]), bytes(row[1]))

    def note(self, origin: str) -> str | None:
        """The latest cosigned checkpoint, with the log's and this witness's signatures."""
        row = self._conn().execute("SELECT note FROM trees WHERE origin = ?", (origin,)).fetchone()
        return None if row is None else str(row[0])

    def origins(self) -> list[str]:
        return [str(r[0]) for r in self._conn().execute("SELECT origin FROM trees ORDER BY origin")]

    def swap(self, origin: str, old: Tree | None, new: Tree, note: str) -> bool:
        """Store ``new`` if the stored tree is still ``old`` (``None``: nothing stored yet)."""
        now = time.time()
        conn = self._conn()
        if old is None:
            cur = conn.execute(
                "INSERT INTO trees (origin, size, root, note, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (origin) DO NOTHING",
                (origin, new.size, new.root, note, now),
            )
        else:
            cur = conn.execute(
                "UPDATE trees SET size = ?, root = ?, note = ?, updated_at = ?"
                " WHERE origin = ? AND size = ? AND root = ?",
                (new.size, new.root, note, now, origin, old.size, old.root),
            )
        return cur.rowcount == 1

    def refuse(self, origin: str, old_size: int, note: str, status: int, reason: str) -> None:
        """Keep a validly signed checkpoint that was refused: it may prove the log misbehaved."""
        self._conn().execute(
            "INSERT INTO refusals (origin, old_size, note, status, reason, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (origin, old_size, note, status, reason, time.time()),
        )

    def refusals(self, origin: str | None = None) -> list[Refusal]:
        sql = "SELECT origin, old_size, note, status, reason FROM refusals"
        args: tuple[str, ...] = ()
        if origin is not None:
            sql, args = sql + " WHERE origin = ?", (origin,)
        rows = self._conn().execute(sql + " ORDER BY id", args).fetchall()
        return [Refusal(str(o), int(s), str(n), int(st), str(r)) for o, s, n, st, r in rows]
