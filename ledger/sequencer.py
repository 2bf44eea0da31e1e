"""PostgreSQL appends in two steps, as Trillian and Tessera do: accept, then integrate in batches.

A writer inserts its entries as one pending row and, in the same round trip, tries the
integration lock (a transaction-level advisory lock keyed by the pending table's oid) and reads
the head and the queue. Holding it, it integrates every pending row, its own among them, in that
ONE transaction (leaves, subtree hashes, index rows, head, rows deleted, each integrated writer
notified: one statement), committed synchronously; in the same round trip, after the commit, it
names the writer of the first row still pending, who does the next batch. Without the lock, it
commits its row (without waiting for the WAL flush) and tries the lock once more in one round
trip: got, nobody held it after the row became visible, so it integrates; not got, the holder's
after-commit look sees the row. Then it waits on its backend's channel for the note that says
its row's index (or that it goes next); a wait that hears nothing for ``wait_s`` (a holder or a
named writer killed) ends in a blocking take of the lock. Contention makes batches bigger, not
lock queues, and each writer is woken once per append.

Crash safety follows from the transactions: a pending row is integrated and deleted in one
commit, or still pending for the next batch; a killed integrator's batch rolls back. One row
holds all entries of one ``append_many``: all-or-nothing, contiguous. The leaf (which holds the
index and the time) is built only at integration. Durability: docs/ledger.md.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from ledger.batch import Prepared, check_head, prepare, write_arrays
from ledger.entry import AppendRequest, Entry, to_micros
from ledger.errors import InvalidEntryError
from ledger.pending import (
    Note,
    abandoned,
    ask,
    decode,
    encode,
    judge,
    parse_note,
    rebuilt,
    refusal,
    result,
    screen,
)
from ledger.storage import Storage

MAX_BATCH = 1024  # entries per integrating transaction: bounds a batch's time and memory
WAIT_S = 0.2  # longest wait for a notification before taking the lock anyway
_LOCK_CLASS = 0x1ED6 << 32  # advisory key: this class, the pending table's oid below
_QUEUE = (
    "INSERT INTO ledger_pending (ids, payload, waiter) VALUES (%s, %s, pg_backend_pid()) "
    "RETURNING seq"
)
# The head row under the integration lock: tried (no row: another writer holds it), or taken
# (waits for the holder's commit). FOR UPDATE as the direct path (erasures) takes it.
_TRY = (
    "SELECT size, frontier, last_ts FROM ledger_head "
    "WHERE id = 1 AND pg_try_advisory_xact_lock(%s) FOR UPDATE"
)
_TAKE = (
    "SELECT size, frontier, last_ts FROM ledger_head, pg_advisory_xact_lock(%s) "
    "WHERE id = 1 FOR UPDATE OF ledger_head"
)
# Pending rows, only for the lock's holder (an InitPlan, evaluated once; re-taking a held lock
# is a no-op). A statement of its own, AFTER the one that got the lock: a statement's snapshot
# predates its own lock, so one that took it from a holder just committed would still see the
# rows that holder integrated.
_PENDING = (
    "SELECT seq, payload FROM ledger_pending WHERE error IS NULL "
    "AND (SELECT pg_try_advisory_xact_lock(%s)) ORDER BY seq LIMIT %s"
)
# After its commit: is the lock free now that the writer's row is visible? (An implicit
# transaction of its own: got and released at once.)
_RETRY = "SELECT pg_try_advisory_xact_lock(%s)"
# The end of a batch's one statement: its rows deleted, each integrated writer told its row's
# first index and the batch time on its backend's channel (never the integrator itself).
_DONE = """, gone AS (DELETE FROM ledger_pending WHERE seq = ANY(%(gone)s) RETURNING seq, waiter)
SELECT pg_notify(%(ch)s || '_' || g.waiter::text,
                 %(ts)s || ';' || g.seq::text || ':' || x.first::text || ';;')
FROM gone g JOIN unnest(%(seqs)s::bigint[], %(firsts)s::bigint[]) x(seq, first) ON x.seq = g.seq
WHERE g.waiter <> pg_backend_pid()
UNION ALL
SELECT pg_notify(%(ch)s || '_' || p.waiter::text, '0;;' || p.seq::text || ';')
FROM ledger_pending p WHERE p.seq = ANY(%(refused)s) AND p.waiter <> pg_backend_pid()"""
# After a batch's commit (the same round trip): the writer of the first row still pending does
# the next batch. Run after the commit, it sees every row committed while the batch ran.
_NEXT = """SELECT pg_notify(%(ch)s || '_' || waiter::text, '0;;;' || seq::text)
FROM (SELECT seq, waiter FROM ledger_pending WHERE error IS NULL ORDER BY seq LIMIT 1) x
WHERE waiter <> pg_backend_pid()"""

# Connections inherited across fork(): never used nor closed in the child (closing would end
# the parent's session), kept alive here.
_INHERITED: list[Any] = []


class Sequencer:
    """One connection per process (threads share it under a lock), in autocommit mode (every
    transaction is an explicit BEGIN ... COMMIT, so a commit and what follows it share a round
    trip), listening on its backend's channel from its first use, so no notification sent after
    an entry is queued is missed."""

    def __init__(self, storage: Storage, *, max_batch: int = MAX_BATCH, wait_s: float = WAIT_S):
        self.storage = storage
        self.max_batch, self.wait_s = max_batch, wait_s
        self._conn: Any = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._key, self._channel = 0, ""
        storage.on_close(self.close)

    def append_many(self, items: Sequence[AppendRequest]) -> list[Entry]:
        prepared = [prepare(r) for r in items]
        ids = [p.entry_id for p in prepared]
        if len(set(ids)) != len(ids):
            raise InvalidEntryError("entry id already in the ledger (twice in one append)")
        payload = encode(prepared)
        with self._locked() as conn:
            cur, ctl = conn.cursor(), conn.cursor()
            # One round trip: the checks, the queue row, the lock's try and (if got) the head
            # and the queue; without the lock, a second: the row's commit (or with nothing to
            # check, the empty transaction's end: the row was committed before the try).
            with conn.pipeline():
                ctl.execute("BEGIN")
                asked = ask(conn, prepared)
                cur.execute(_QUEUE, (ids, payload))
                if asked is None:  # no check can refuse it: visible before the lock's try
                    ctl.execute("COMMIT")
                    ctl.execute("BEGIN")
                head, pend = self._begin(conn, _TRY)
                if asked is not None:
                    judge(conn, asked, prepared)
                seq = int(cur.fetchone()[0])
                got = head.fetchone()
                if got is None:
                    # Accepted without waiting for the WAL flush (the session's setting): append
                    # returns only after the batch that integrates it commits synchronously.
                    ctl.execute("COMMIT")
                    if asked is not None:
                        ctl.execute(_RETRY, (self._key,))
            if got is not None:  # this writer integrates: its own row and everything pending
                return self._lead(conn, seq, prepared, (got, pend))
            # A holder that refused the try sees the row in its look after its commit. When
            # the row became visible only after the try, try again: free, nobody's look may
            # have seen it, so this writer integrates.
            return self._wait(conn, seq, prepared, lead=asked is not None and ctl.fetchone()[0])

    def abandoned(self, *, clear: bool) -> list[str]:
        """Refused rows whose writers are gone: their reasons (deleted with ``clear``)."""
        with self._locked() as conn:
            return abandoned(conn, clear=clear)

    def lock_key(self) -> int:
        """The advisory lock key of this ledger's integration (pg_locks: classid, objid)."""
        with self._locked():
            return self._key

    def channel(self) -> str:
        """The channel this process's notes come on (its backend's own)."""
        with self._locked() as conn:
            return f"{self._channel}_{conn.info.backend_pid}"

    def integrate_pending(self) -> int:
        """Integrate everything pending now (waiting for the lock); the number of entries."""
        total = 0
        with self._locked() as conn:
            while True:
                done, _, full = self._taken(conn, None)
                total += sum(len(v) for v in done.values())
                if not full:
                    return total

    # --- the connection --------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[Any]:
        with self._lock:
            conn = self._connection()
            try:
                yield conn
            except BaseException:
                with suppress(Exception):
                    conn.rollback()
                raise

    def _connection(self) -> Any:
        if self._pid != os.getpid():
            if self._conn is not None:
                _INHERITED.append(self._conn)
            self._conn, self._pid = None, os.getpid()
        if self._conn is None or self._conn.closed:
            import psycopg

            engine = self.storage.engine
            _, params = engine.dialect.create_connect_args(engine.url)
            params.pop("context", None)  # SQLAlchemy's adapters: plain psycopg types here
            # Names the process in pg_stat_activity (the crash harness kills integrators by it).
            params.setdefault("application_name", f"provenance-ledger {os.getpid()}")
            conn: Any = psycopg.connect(**params, autocommit=True)
            try:
                cur = conn.cursor()
                cur.execute("SELECT 'ledger_pending'::regclass::oid::bigint, pg_backend_pid()")
                oid, pid = (int(x) for x in cur.fetchone())
                self._key, self._channel = _LOCK_CLASS | oid, f"ledger_pending_{oid}"
                # This backend's own channel (the batches' notes to it).
                cur.execute(f"LISTEN {self._channel}_{pid}")
                # Queue rows commit without waiting for the WAL flush; a batch, which makes
                # the entries durable, sets it on for its transaction (docs/ledger.md).
                cur.execute("SET synchronous_commit = off")
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._pid == os.getpid() and self._conn is not None:
            with suppress(Exception):
                self._conn.close()
        self._conn = None

    # --- integrating -----------------------------------------------------------------------

    def _begin(self, conn: Any, lock: str) -> tuple[Any, Any]:
        """Send a batch's first statements: the lock with the head row, then the queue."""
        cur, pend = conn.cursor(), conn.cursor()
        cur.execute(lock, (self._key,))
        pend.execute(_PENDING, (self._key, self.max_batch))
        return cur, pend

    def _lead(
        self, conn: Any, seq: int, mine: list[Prepared], started: tuple[Any, Any]
    ) -> list[Entry]:
        """The batch of a writer that got the lock with its queue row (still uncommitted)."""
        done, rejected, full = self._batch(conn, (seq, mine), *started)
        if seq in rejected:
            raise refusal(rejected[seq])
        if seq in done:
            return done[seq]
        if not full:  # committed before the try: a batch that ended just before took it
            got = result(conn, seq, [p.entry_id for p in mine])
            if got is not None:
                return got
        return self._wait(conn, seq, mine, lead=True)  # a queue longer than a batch: the next

    def _taken(
        self, conn: Any, own: tuple[int, list[Prepared]] | None
    ) -> tuple[dict[int, list[Entry]], dict[int, str], bool]:
        """One batch under the lock, waiting for it (a round trip, then the batch's)."""
        with conn.pipeline():
            conn.cursor().execute("BEGIN")
            head, pend = self._begin(conn, _TAKE)
            got = head.fetchone()
        return self._batch(conn, own, got, pend)

    def _batch(
        self, conn: Any, own: tuple[int, list[Prepared]] | None, row: Any, pend: Any
    ) -> tuple[dict[int, list[Entry]], dict[int, str], bool]:
        """The rest of a batch, the lock held: pending rows in order, ``own`` (this writer's
        seq and entries) among them, written, deleted and notified in one statement, committed
        synchronously, and the next writer named, in one round trip. Returns the entries by
        seq, the rows refused (an id already used, a parent missing; an own row refused is
        deleted, others keep the reason for their writer), and whether rows were left out."""
        head = check_head(int(row[0]), bytes(row[1]), int(row[2]))
        mine = own[0] if own else None
        groups: list[tuple[int, list[Prepared]]] = []
        room, rows = self.max_batch, pend.fetchall()
        for seq, payload in rows:
            items = own[1] if seq == mine and own else decode(bytes(payload))
            if groups and len(items) > room:
                break
            groups.append((int(seq), items))
            room -= len(items)
        full = len(groups) < len(rows) or len(rows) >= self.max_batch
        with conn.pipeline():
            cur = conn.cursor()
            accepted, rejected = screen(conn, groups) if groups else ([], {})
            done: dict[int, list[Entry]] = {}
            if accepted:
                entries, sql, params = write_arrays([p for _, g in accepted for p in g], head)
                for seq, g in accepted:
                    done[seq], entries = entries[: len(g)], entries[len(g) :]
            else:
                sql, params = "WITH nothing AS (SELECT 1)", {}
            if not groups:  # nothing pending when read: end the transaction, name the next
                cur.execute("COMMIT")
                cur.execute(_NEXT, {"ch": self._channel})
                return done, rejected, full
            refused = [s for s in rejected if s != mine]
            for s in refused:
                cur.execute("UPDATE ledger_pending SET error = %s WHERE seq = %s", (rejected[s], s))
            first = next((v[0] for v in done.values() if v), None)
            params.update(
                gone=list(done) + [s for s in rejected if s == mine],
                refused=refused,
                ch=self._channel,
                ts=str(0 if first is None else to_micros(first.time)),
                seqs=list(done),
                firsts=[v[0].index for v in done.values()],
            )
            cur.execute("SET LOCAL synchronous_commit = on")  # the entries' durability
            cur.execute(sql + _DONE, params)
            cur.execute("COMMIT")
            cur.execute(_NEXT, {"ch": self._channel})
        return done, rejected, full

    # --- waiting ---------------------------------------------------------------------------

    def _wait(self, conn: Any, seq: int, mine: list[Prepared], *, lead: bool) -> list[Entry]:
        ids = [p.entry_id for p in mine]
        while True:
            if not lead:
                note = self._heard(conn, seq)
                if note is not None and note.first is not None:
                    return rebuilt(mine, note.ts, note.first)
                if note is not None and note.refused:
                    got = result(conn, seq, ids)  # raises the reason
                    if got is not None:
                        return got
                # Named next (the notifier released the lock), or a silent full wait: the
                # holder may have been killed before notifying. Queue for the lock.
            done, rejected, full = self._taken(conn, (seq, mine))
            if seq in rejected:
                raise refusal(rejected[seq])
            if seq in done:
                return done[seq]
            lead = full  # a full batch without this row: the next one now
            if not full:  # not pending when read: integrated by a batch not yet heard from
                got = result(conn, seq, ids)
                if got is not None:
                    return got

    def _heard(self, conn: Any, seq: int) -> Note | None:
        """The note about row ``seq``: notes about this writer's earlier rows (kept by psycopg
        from during its queries) are dropped, not acted on. None when none comes in the wait."""
        end = time.monotonic() + self.wait_s
        while (left := end - time.monotonic()) > 0:
            heard: Note | None = None
            # The whole packet is read (stop_after stops only after it): none is lost, and a
            # row's index wins over its being named next.
            for n in conn.notifies(timeout=left, stop_after=1):
                note = parse_note(n.payload)
                if note.seq == seq and (heard is None or note.first is not None or note.refused):
                    heard = note
            if heard is not None:
                return heard
        return None
