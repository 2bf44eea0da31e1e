"""Appending: entries, their index rows and the tree's new subtree hashes in one transaction.

SQLite has one writer lock anyway: each append builds its batch (:mod:`ledger.batch`) in its own
``BEGIN IMMEDIATE`` transaction. PostgreSQL appends go through :mod:`ledger.sequencer`: accepted
into a pending queue, integrated in batches, so more writers make bigger batches, not lock waits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.exc import DatabaseError, DBAPIError, IntegrityError

from ledger.batch import SQL_OTHER, SQL_SQLITE, prepare, read_head, write_batch
from ledger.entry import AppendRequest, Entry, check_request
from ledger.errors import InvalidEntryError, UnknownEntryError
from ledger.schema import db_error
from ledger.sequencer import Sequencer
from ledger.storage import Storage

T = TypeVar("T")


class Appender:
    """Writes entries through the ledger's storage; never signs (the facade triggers that)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._sql = SQL_SQLITE if storage.sqlite_sql else SQL_OTHER
        pg = storage.engine.dialect.name == "postgresql"
        self.sequencer = Sequencer(storage) if pg else None

    def append_many(
        self, items: Sequence[AppendRequest], before_commit: Callable[[], None] | None = None
    ) -> list[Entry]:
        """Append several entries in ONE transaction (all or nothing), indices contiguous;
        ``before_commit`` (see :meth:`ledger.Ledger.append_many`) runs before it can commit."""
        for req in items:
            check_request(req)
        if self.sequencer is not None:
            seq = self.sequencer
            if before_commit is not None:
                before_commit()  # accepted into the queue is already durable
            return self._guard(lambda: seq.append_many(items))

        def work(cur: Any) -> list[Entry]:
            entries = self._append_rows(cur, items)
            if before_commit is not None:  # inside the write transaction, before its COMMIT
                before_commit()
            return entries

        return self._write(work)

    def integrate_pending(self) -> int:
        """Integrate entries a killed writer left accepted but not in the tree (PostgreSQL; 0
        elsewhere): what the next append would do, for `doctor` before it judges temp files."""
        if self.sequencer is None:
            return 0
        return self._guard(self.sequencer.integrate_pending)

    def abandoned_refusals(self, *, clear: bool) -> list[str]:
        """Why the batches refused queued appends whose writers are gone (PostgreSQL; none
        elsewhere), for `doctor`; ``clear`` deletes those rows (nothing else reads them)."""
        if self.sequencer is None:
            return []
        seq = self.sequencer
        return self._guard(lambda: seq.abandoned(clear=clear))

    def erase_secret(self, entry_id: str, request: AppendRequest) -> Entry:
        """Delete ``entry_id``'s secret text and append ``request`` (the erasure) atomically."""
        check_request(request)

        def work(cur: Any) -> list[Entry]:
            if self.storage.sqlite_sql:  # zero the freed cells, whatever SQLite's build default
                cur.execute("PRAGMA secure_delete=ON")
            cur.execute(self._sql["erase"], (entry_id,))
            if not cur.rowcount:
                raise UnknownEntryError(f"entry {entry_id} has no secret text to erase")
            return self._append_rows(cur, [request])

        # Rare, and must be atomic with the deletion: the direct path (head row lock), which
        # the sequencer's batches also take, so the two never interleave.
        entry = self._write(work)[0]
        try:
            self.storage.scrub_erased()
        except DatabaseError as e:
            raise db_error(self.storage.url, e) from e
        return entry

    def _write(self, work: Any) -> list[Entry]:
        got: list[Entry] = self._guard(lambda: self.storage.write(work))
        return got

    def _guard(self, fn: Callable[[], T]) -> T:
        dbapi = self.storage.dbapi
        try:
            return fn()
        except (IntegrityError, dbapi.IntegrityError) as e:
            raise InvalidEntryError(
                f"entry id already in the ledger ({getattr(e, 'orig', e)})"
            ) from e
        except DatabaseError as e:
            raise db_error(self.storage.url, e) from e
        except dbapi.DatabaseError as e:  # from a DB-API cursor: wrapped as the engine would
            raise db_error(self.storage.url, DBAPIError.instance(None, None, e, dbapi.Error)) from e

    def _append_rows(self, cur: Any, items: Sequence[AppendRequest]) -> list[Entry]:
        # The write lock (SQLite) or the head row lock serialises writers: no fork, no gap.
        head = read_head(cur, self._sql)
        self._check_parents(cur, items)
        return write_batch(cur, self._sql, [prepare(r) for r in items], head)

    def _check_parents(self, cur: Any, items: Sequence[AppendRequest]) -> None:
        if not any(req.parents for req in items):
            return
        batch_ids = {req.entry_id for req in items if req.entry_id is not None}
        wanted = sorted({p for req in items for p in req.parents} - batch_ids)
        if wanted:
            marks = ",".join([self._sql["mark"]] * len(wanted))
            cur.execute(self._sql["parents"].replace("{marks}", marks), wanted)
            missing = sorted(set(wanted) - {str(r[0]) for r in cur.fetchall()})
            if missing:
                raise UnknownEntryError(f"parent entry {missing[0]} is not in the ledger")
