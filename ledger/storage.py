"""Where a ledger's rows live: one interface, chosen once at open, with two implementations.

:class:`EngineStorage` does everything through SQLAlchemy (PostgreSQL, in-memory SQLite, SQLite
URLs with options). :class:`SqliteFileStorage` gives a plain SQLite file its own DB-API
connection for appends, lookups by id/index/hash and proof reads: through SQLAlchemy's
transaction and statement machinery each cost several times the SQL itself
(bench/bench_ledger.py, bench/bench_verify.py). Everything else reads through ``engine``.

Example::

    >>> from ledger.storage import open_storage
    >>> s = open_storage("sqlite://")
    >>> type(s).__name__, s.sqlite_sql
    ('EngineStorage', True)
    >>> s.close()
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Literal, Protocol, TypeVar

from sqlalchemy import Connection, Engine, bindparam, select

from ledger._sqlite_writer import SqliteWriter
from ledger.models import ARTIFACT as A
from ledger.models import ENTRY as E
from ledger.models import HEAD as H
from ledger.models import NODE as N
from ledger.schema import db_error, make_engine, sqlite_path

T = TypeVar("T")

LeafQuery = Literal["by_id", "at", "by_artifact"]


class LedgerView(Protocol):
    """What the audit, the export and the fingerprint index read from an open ledger."""

    @property
    def url(self) -> str: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def size(self) -> int: ...

    @property
    def verifier_key(self) -> str | None: ...

    @property
    def stored_verifier_key(self) -> str | None: ...

    @property
    def origin(self) -> str: ...


def read_nodes(conn: Connection, keys: list[int]) -> dict[int, bytes]:
    """Stored subtree hashes by position (``merkle.node_key``); missing ones are absent."""
    if not keys:
        return {}
    got = conn.execute(select(N.c.pos, N.c.hash).where(N.c.pos.in_(keys))).all()
    return {int(p): bytes(h) for p, h in got}


class Storage:
    """The engine (every read and write has it) plus the operations a backend may speed up."""

    sqlite_sql: bool  # the append statements use '?' marks and need no row lock

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self.writer = engine.execution_options(ledger_write=True)
        self.dbapi: Any = engine.dialect.dbapi  # its errors, raised by DB-API cursors
        self._closers: list[Callable[[], None]] = []

    def on_close(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` when the storage closes (the sequencer's own connection)."""
        self._closers.append(fn)

    def write(self, work: Callable[[Any], T]) -> T:
        """``work(DB-API cursor)`` in one write transaction; rolled back if anything fails."""
        raise NotImplementedError

    def leaves(self, query: LeafQuery, params: tuple[object, ...]) -> list[bytes]:
        """Leaf bytes of one named lookup (``by_artifact``: in index order)."""
        raise NotImplementedError

    def artifact_leaves(self, shas: list[str], role: str) -> list[tuple[str, bytes]]:
        """``(sha256, leaf)`` of every entry the artifact index lists for one of ``shas`` (as
        stored: lower-case hex) in ``role``, in index order: many ``by_artifact`` lookups in one
        query per :data:`MAX_IN` hashes."""
        raise NotImplementedError

    def subtree_hashes(self, keys: list[int]) -> tuple[int, dict[int, bytes]]:
        """The head's size and the stored hashes at ``keys``, read together."""
        raise NotImplementedError

    def scrub_erased(self) -> None:
        """After an erasure: leave no copy of deleted secret rows in the files we control.

        SQLite: the WAL (which still holds the pages as they were) is checkpointed into the
        file, whose freed cells ``secure_delete`` zeroed, and truncated. PostgreSQL: the secret
        table is rewritten (``VACUUM FULL``), so the dead row's heap and TOAST pages are gone.
        """
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        elif self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM FULL ledger_secret")

    def close(self) -> None:
        for fn in self._closers:
            fn()
        self.engine.dispose()


MAX_IN = 500  # hashes per grouped query (SQLite's variable limit is 999 before 3.32)


def _ordered(chunks: list[list[tuple[Any, str, bytes]]]) -> list[tuple[str, bytes]]:
    rows = [r for chunk in chunks for r in chunk]
    if len(chunks) > 1:  # each chunk is in index order; together they must be too
        rows.sort(key=lambda r: int(r[0]))
    return [(str(sha), bytes(leaf)) for _, sha, leaf in rows]


_CORE: dict[str, Any] = {
    "by_id": select(E.c.leaf).where(E.c.entry_id == bindparam("a")),
    "at": select(E.c.leaf).where(E.c.idx == bindparam("a")),
    "by_artifact": select(E.c.leaf)
    .join(A, A.c.entry_idx == E.c.idx)
    .where(A.c.sha256 == bindparam("a"), A.c.role == bindparam("b"))
    .order_by(E.c.idx),
}


class EngineStorage(Storage):
    def __init__(self, url: str, engine: Engine) -> None:
        super().__init__(url, engine)
        self.sqlite_sql = engine.dialect.name == "sqlite"

    def write(self, work: Callable[[Any], T]) -> T:
        # Raw DB-API statements inside the engine's transaction: the Core layer cost more per
        # append than the SQL itself (see bench/bench_ledger.py).
        with self.writer.begin() as conn:
            cur = conn.connection.cursor()
            try:
                return work(cur)
            finally:
                cur.close()

    def leaves(self, query: LeafQuery, params: tuple[object, ...]) -> list[bytes]:
        with self.engine.connect() as conn:
            rows = conn.execute(_CORE[query], dict(zip("ab", params, strict=False))).scalars()
            return [bytes(leaf) for leaf in rows]

    def artifact_leaves(self, shas: list[str], role: str) -> list[tuple[str, bytes]]:
        chunks: list[list[tuple[Any, str, bytes]]] = []
        with self.engine.connect() as conn:
            for at in range(0, len(shas), MAX_IN):
                stmt = (
                    select(E.c.idx, A.c.sha256, E.c.leaf)
                    .join(A, A.c.entry_idx == E.c.idx)
                    .where(A.c.sha256.in_(shas[at : at + MAX_IN]), A.c.role == role)
                    .order_by(E.c.idx)
                )
                chunks.append([(i, s, b) for i, s, b in conn.execute(stmt)])
        return _ordered(chunks)

    def subtree_hashes(self, keys: list[int]) -> tuple[int, dict[int, bytes]]:
        with self.engine.connect() as conn:
            size = int(conn.execute(select(H.c.size).where(H.c.id == 1)).scalar_one())
            return size, read_nodes(conn, keys)


_RAW = {
    "by_id": "SELECT leaf FROM ledger_entry WHERE entry_id = ?",
    "at": "SELECT leaf FROM ledger_entry WHERE idx = ?",
    "by_artifact": "SELECT e.leaf FROM ledger_entry e JOIN ledger_artifact a ON a.entry_idx = "
    "e.idx WHERE a.sha256 = ? AND a.role = ? ORDER BY e.idx",
}


class SqliteFileStorage(Storage):
    sqlite_sql = True

    def __init__(self, url: str, engine: Engine, path: str) -> None:
        super().__init__(url, engine)
        self.raw = SqliteWriter(path)

    def _read(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        try:
            return self.raw.read(sql, params)
        except self.dbapi.Error as e:
            raise db_error(self.url, e) from e

    def write(self, work: Callable[[Any], T]) -> T:
        return self.raw.run(work)

    def leaves(self, query: LeafQuery, params: tuple[object, ...]) -> list[bytes]:
        return [bytes(row[0]) for row in self._read(_RAW[query], params)]

    def artifact_leaves(self, shas: list[str], role: str) -> list[tuple[str, bytes]]:
        chunks = []
        for at in range(0, len(shas), MAX_IN):
            part = shas[at : at + MAX_IN]
            sql = (
                "SELECT e.idx, a.sha256, e.leaf FROM ledger_entry e JOIN ledger_artifact a ON "
                f"a.entry_idx = e.idx WHERE a.sha256 IN ({','.join('?' * len(part))}) "
                "AND a.role = ? ORDER BY e.idx"
            )
            chunks.append(self._read(sql, (*part, role)))
        return _ordered(chunks)

    def subtree_hashes(self, keys: list[int]) -> tuple[int, dict[int, bytes]]:
        marks = ",".join("?" * len(keys))
        rows = self._read(
            "SELECT -1, size FROM ledger_head WHERE id = 1 UNION ALL "
            f"SELECT pos, hash FROM ledger_node WHERE pos IN ({marks or 'NULL'})",
            tuple(keys),
        )
        size = next((int(v) for p, v in rows if p == -1), 0)
        return size, {int(p): bytes(h) for p, h in rows if p != -1}

    def scrub_erased(self) -> None:
        self.engine.dispose()  # no pooled reader may pin the WAL the checkpoint truncates
        try:
            self.raw.read("PRAGMA wal_checkpoint(TRUNCATE)")
        except self.dbapi.Error as e:
            raise db_error(self.url, e) from e

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_storage(url: str) -> Storage:
    """The storage for ``url``: a plain SQLite file gets its own connection; in-memory databases
    and URLs with options keep the engine, whose connections are the only view of them."""
    engine = make_engine(url)
    path = sqlite_path(url)
    if path is not None and not engine.url.query:
        return SqliteFileStorage(url, engine, str(path))
    return EngineStorage(url, engine)


@contextlib.contextmanager
def closed_on_error(storage: Storage, url: str) -> Iterator[None]:
    """Opening or creating a ledger: on any failure release the engine; database errors become
    ours (one line, named by :func:`ledger.schema.db_error`)."""
    from sqlalchemy.exc import DatabaseError

    from ledger.schema import db_error

    try:
        yield
    except DatabaseError as e:
        storage.engine.dispose()
        raise db_error(url, e) from e
    except BaseException:
        storage.engine.dispose()
        raise
