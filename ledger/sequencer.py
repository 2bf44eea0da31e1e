"""PostgreSQL appends in two steps, as Trillian and Tessera do: accept, then integrate in batches.

A writer inserts its entries as one pending row and tries the integration lock (a
transaction-level advisory lock keyed by the pending table's oid) in the same statement.
Holding it, it integrates every pending row, its own among them, in that ONE transaction
(leaves, subtree hashes, index rows, head, rows deleted), committed synchronously. Without it,
it commits the row without waiting for the WAL flush and waits on its backend's channel: the
batch that integrates the row tells it the index; a batch that ends with rows still pending
names the first, whose writer does the next batch; a wait that hears nothing (a holder killed)
ends in a blocking take of the lock. So contention makes batches bigger, not lock queues.

Crash safety follows from the transactions: a pending row is integrated and deleted in one
commit, or still pending for the next batch; a killed integrator's batch rolls back. One row
holds all entries of one ``append_many``: all-or-nothing, contiguous. The leaf (which holds the
index and the time) is built only at integration. Durability: docs/ledger.md.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from ledger.batch import Prepared, check_head, prepare, write_arrays
from ledger.entry import (
    AppendRequest,
    Entry,
    entry_from_leaf,
)
from ledger.errors import (
    InvalidEntryError,
    LedgerError,
    LedgerIntegrityError,
    UnknownEntryError,
)
from ledger.pending import Note, abandoned, decode, encode, note_of, rebuilt
from ledger.storage import Storage

MAX_BATCH = 1024  # entries per integrating transaction: bounds a batch's time and memory
WAIT_S = 0.2  # longest wait for a notification before taking the lock anyway
_LOCK_CLASS = 0x1ED6 << 32  # advisory key: this class, the pending table's oid below
# The head row under the integration lock: tried (no row: another writer holds it), or taken
# (waits for the holder's commit).
_TRY = (
    "SELECT size, frontier, last_ts FROM ledger_head "
    "WHERE id = 1 AND pg_try_advisory_xact_lock(%s) FOR UPDATE"
)
_TAKE = (
    "SELECT size, frontier, last_ts FROM ledger_head, pg_advisory_xact_lock(%s) "
    "WHERE id = 1 FOR UPDATE OF ledger_head"
)
# A writer's entries accepted, and the lock tried in the same statement: held, it integrates.
_QUEUE = (
    "INSERT INTO ledger_pending (ids, payload, waiter) VALUES (%s, %s, pg_backend_pid()) "
    "RETURNING seq, pg_try_advisory_xact_lock(%s)"
)
# The batch's rows deleted; its note to the writers it integrated or refused and to the writer
# of the first row still pending (this statement's snapshot: rows committed during the batch
# count), who does the next batch, each on its backend's channel. None pending: to everyone (a
# row committed just after that snapshot has a writer waiting; it tries the lock).
_NOTIFY = """
WITH gone AS (DELETE FROM ledger_pending WHERE seq = ANY(%(gone)s) RETURNING waiter),
nx AS (SELECT min(seq) AS seq FROM ledger_pending
       WHERE error IS NULL AND seq <> ALL(%(gone)s)),
who AS (SELECT waiter FROM gone
        UNION SELECT waiter FROM ledger_pending WHERE seq = ANY(%(refused)s)
        UNION SELECT p.waiter FROM ledger_pending p, nx WHERE p.seq = nx.seq
        UNION SELECT NULL FROM nx WHERE nx.seq IS NULL)
SELECT pg_notify(%(ch)s || coalesce('_' || waiter::text, ''),
                 %(note)s || coalesce((SELECT seq FROM nx)::text, ''))
FROM who"""
# Pending rows, only for the lock's holder (an InitPlan, evaluated once; re-taking a held lock
# is a no-op): a writer that failed to get it is not sent the whole queue.
_PENDING = (
    "SELECT seq, payload FROM ledger_pending WHERE error IS NULL "
    "AND (SELECT pg_try_advisory_xact_lock(%s)) ORDER BY seq LIMIT %s"
)

# Connections inherited across fork(): never used nor closed in the child (closing would end
# the parent's session), kept alive here.
_INHERITED: list[Any] = []


class Sequencer:
    """One connection per process (threads share it under a lock), listening on the ledger's
    channel from its first use, so no notification sent after an entry is queued is missed."""

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
            cur = conn.cursor()
            # Pipelined: the checks, the queue row, the lock's try and (if got) the head and the
            # queue in ONE round trip.
            with conn.pipeline():
                asked = _ask(conn, prepared)
                cur.execute(_QUEUE, (ids, payload, self._key))
                if asked is not None:
                    _judge(conn, asked, prepared)
                started = self._begin(conn, _TRY)  # re-taking a held lock is a no-op
                seq, locked = cur.fetchone()
                if locked:  # this writer integrates: its own row and everything pending
                    return self._own_batch(conn, seq, prepared, started)
                # Accepted without waiting for the WAL flush: append returns only after the
                # batch that integrates the row commits synchronously (docs/ledger.md).
                cur.execute("SET LOCAL synchronous_commit = off")
                conn.commit()
            return self._wait(conn, seq, prepared, self.wait_s)

    def abandoned(self, *, clear: bool) -> list[str]:
        """Refused rows whose writers are gone: their reasons (deleted with ``clear``)."""
        with self._locked() as conn:
            return abandoned(conn, clear=clear)

    def lock_key(self) -> int:
        """The advisory lock key of this ledger's integration (pg_locks: classid, objid)."""
        with self._locked():
            return self._key

    def integrate_pending(self) -> int:
        """Integrate everything pending now (waiting for the lock); the number of entries."""
        total = 0
        with self._locked() as conn:
            while True:
                with conn.pipeline():
                    got = self._integrate(conn, None, _TAKE)
                    conn.commit()
                assert got is not None  # a blocking take always gets the lock
                n = sum(len(v) for v in got[0].values())
                total += n
                if not n and not got[1]:
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
            conn: Any = psycopg.connect(**params)
            try:
                cur = conn.cursor()
                cur.execute("SELECT 'ledger_pending'::regclass::oid::bigint, pg_backend_pid()")
                oid, pid = (int(x) for x in cur.fetchone())
                self._key, self._channel = _LOCK_CLASS | oid, f"ledger_pending_{oid}"
                # The shared channel, and this backend's own (the batches' notes to it).
                cur.execute(f"LISTEN {self._channel}")
                cur.execute(f"LISTEN {self._channel}_{pid}")
                conn.commit()
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

    def _own_batch(
        self, conn: Any, seq: int, mine: list[Prepared], started: tuple[Any, Any]
    ) -> list[Entry]:
        """The batch of a writer that got the lock with its queue row (still uncommitted)."""
        batch = self._batch(conn, (seq, mine), *started)
        conn.commit()  # synchronous: the entries are durable when append returns
        assert batch is not None  # the lock is held
        done, rejected = batch
        if seq in rejected:
            raise _refusal(rejected[seq])
        if seq in done:
            return done[seq]
        return self._wait(conn, seq, mine, 0.0)  # a queue longer than a batch: the next one

    def _begin(self, conn: Any, lock: str) -> tuple[Any, Any]:
        """Send a batch's first statements: the lock with the head row, the queue."""
        cur, pend = conn.cursor(), conn.cursor()
        # FOR UPDATE as the direct path (erasures) takes it, so the two never interleave.
        cur.execute(lock, (self._key,))
        pend.execute(_PENDING, (self._key, self.max_batch))
        return cur, pend

    def _integrate(
        self, conn: Any, own: tuple[int, list[Prepared]] | None, lock: str
    ) -> tuple[dict[int, list[Entry]], dict[int, str]] | None:
        """One batch under the lock (``_TRY``: None if another writer holds it)."""
        return self._batch(conn, own, *self._begin(conn, lock))

    def _batch(
        self, conn: Any, own: tuple[int, list[Prepared]] | None, cur: Any, pend: Any
    ) -> tuple[dict[int, list[Entry]], dict[int, str]] | None:
        """The rest of a batch (None: the lock not got): pending rows in order, ``own`` (this
        writer's seq and entries) among them. Returns the entries by seq and the rows refused
        (an id already used, a parent missing); an own row refused is deleted, others keep the
        reason for their writer. The caller commits."""
        row = cur.fetchone()
        if row is None:
            return None
        head = check_head(int(row[0]), bytes(row[1]), int(row[2]))
        mine = own[0] if own else None
        groups: list[tuple[int, list[Prepared]]] = []
        room = self.max_batch
        for seq, payload in pend.fetchall():
            items = own[1] if seq == mine and own else decode(bytes(payload))
            if groups and len(items) > room:
                break
            groups.append((int(seq), items))
            room -= len(items)
        accepted, rejected = _screen(cur, groups)
        entries = write_arrays(cur, [p for _, g in accepted for p in g], head)
        done: dict[int, list[Entry]] = {}
        for seq, g in accepted:
            done[seq], entries = entries[: len(g)], entries[len(g) :]
        refused = [s for s in rejected if s != mine]
        for s in refused:
            cur.execute("UPDATE ledger_pending SET error = %s WHERE seq = %s", (rejected[s], s))
        gone = list(done) + [s for s in rejected if s == mine]
        note = note_of(done, rejected)
        cur.execute(_NOTIFY, {"gone": gone, "refused": refused, "ch": self._channel, "note": note})
        return done, rejected

    # --- waiting ---------------------------------------------------------------------------

    def _wait(self, conn: Any, seq: int, mine: list[Prepared], wait: float) -> list[Entry]:
        ids = [p.entry_id for p in mine]
        while True:
            note = self._notified(conn, wait) if wait else None
            lock = _TAKE if wait == self.wait_s else _TRY
            if note is not None:
                if seq in note.placed:
                    return rebuilt(mine, note.ts[seq], note.placed[seq])
                if note.look or seq in note.refused:
                    with conn.pipeline():
                        got = _result(conn, seq, ids)
                    if got is not None:
                        return got
                if note.next is not None and note.next != seq:
                    wait = self.wait_s  # an earlier row's writer does the next batch, mine in it
                    continue
                # This row is the first pending (take the lock: the notifier released it), or
                # none was seen pending when the batch ended (try it: others may too).
                lock = _TAKE if note.next == seq else _TRY
            # After a silent full wait, queue for the lock: its holder may have been killed
            # before notifying.
            with conn.pipeline():
                batch = self._integrate(conn, (seq, mine), lock)
                conn.commit()
            if batch is None:  # another writer's batch: it notifies
                wait = self.wait_s
                continue
            done, rejected = batch
            if seq in rejected:
                raise _refusal(rejected[seq])
            if seq in done:
                return done[seq]
            if not done:  # integrated by a batch not yet seen
                with conn.pipeline():
                    got = _result(conn, seq, ids)
                if got is not None:
                    return got
            wait = 0.0 if done else self.wait_s  # a full batch without this row: the next now

    def _notified(self, conn: Any, wait: float) -> Note | None:
        """What the batches notified since the last call placed; None when nothing came
        within the wait."""
        note: Note | None = None
        # The first that comes (stop_after: otherwise the generator runs out the timeout), then
        # whatever else is already here.
        for timeout, most in ((wait, 1), (0.0, None)):
            for n in conn.notifies(timeout=timeout, stop_after=most):
                note = note or Note()
                note.add(n.payload)
            if note is None:
                return None
        return note


def _result(conn: Any, seq: int, ids: list[str]) -> list[Entry] | None:
    """This writer's entries once integrated; None while still pending; raises if refused."""
    cur, leaves = conn.cursor(), conn.cursor()
    cur.execute("SELECT error FROM ledger_pending WHERE seq = %s", (seq,))
    leaves.execute("SELECT leaf FROM ledger_entry WHERE entry_id = ANY(%s) ORDER BY idx", (ids,))
    row, found = cur.fetchone(), [bytes(r[0]) for r in leaves.fetchall()]
    if row is not None and row[0] is not None:
        cur.execute("DELETE FROM ledger_pending WHERE seq = %s", (seq,))
    conn.commit()
    if row is not None:
        if row[0] is None:
            return None
        raise _refusal(str(row[0]))
    if len(found) != len(ids):
        raise LedgerIntegrityError(
            f"pending entries {ids[0]}...: gone from the queue but not in the tree"
        )
    return [entry_from_leaf(leaf) for leaf in found]


def _refusal(why: str) -> LedgerError:
    return UnknownEntryError(why) if why.startswith("parent") else InvalidEntryError(why)


def _ask(conn: Any, items: list[Prepared]) -> Any:
    """Send the query for ids a caller named and parents already in the tree (refused as the
    direct path refuses them); the cursor to judge it with, or None when nothing to ask."""
    named = [p.entry_id for p in items if p.req.entry_id is not None]
    parents = sorted({x for p in items for x in p.req.parents} - {p.entry_id for p in items})
    if not named and not parents:
        return None
    cur = conn.cursor()
    cur.execute("SELECT entry_id FROM ledger_entry WHERE entry_id = ANY(%s)", (named + parents,))
    return cur


def _judge(conn: Any, asked: Any, items: list[Prepared]) -> None:
    """Raise for an id already used or a parent neither in the tree nor queued (a queued one is
    integrated first: its row's seq is lower)."""
    found = {str(r[0]) for r in asked.fetchall()}
    used = [p.entry_id for p in items if p.req.entry_id is not None and p.entry_id in found]
    if used:
        raise InvalidEntryError(f"entry id already in the ledger ({used[0]})")
    own = {p.entry_id for p in items}
    missing = sorted({x for p in items for x in p.req.parents} - own - found)
    if not missing:
        return
    cur = conn.cursor()
    cur.execute(
        "SELECT DISTINCT unnest(ids) FROM ledger_pending WHERE error IS NULL AND ids && %s",
        (missing,),
    )
    queued = {str(r[0]) for r in cur.fetchall()}
    absent = [p for p in missing if p not in queued]
    if absent:
        raise UnknownEntryError(f"parent entry {absent[0]} is not in the ledger")


def _screen(
    cur: Any, groups: list[tuple[int, list[Prepared]]]
) -> tuple[list[tuple[int, list[Prepared]]], dict[int, str]]:
    """Groups that may join the tree, in order, and why the others may not (never raises: one
    bad row must not stall the queue)."""
    # Ids this code made (UUIDv7, 74 random bits) are new; ids a caller named may not be.
    named = {p.entry_id for _, g in groups for p in g if p.req.entry_id is not None}
    wanted = named | {x for _, g in groups for p in g for x in p.req.parents}
    in_tree: set[str] = set()
    if wanted:
        cur.execute("SELECT entry_id FROM ledger_entry WHERE entry_id = ANY(%s)", (list(wanted),))
        in_tree = {str(r[0]) for r in cur.fetchall()}
    seen: set[str] = set()
    accepted, rejected = [], {}
    for seq, g in groups:
        mine = [p.entry_id for p in g]
        dup = next((i for i in mine if i in in_tree or i in seen), None)
        if dup is not None or len(set(mine)) != len(mine):
            rejected[seq] = f"entry id already in the ledger ({dup or mine[0]})"
            continue
        have = in_tree | seen | set(mine)
        gone = next((x for p in g for x in p.req.parents if x not in have), None)
        if gone is not None:
            rejected[seq] = f"parent entry {gone} is not in the ledger"
            continue
        accepted.append((seq, g))
        seen.update(mine)
    return accepted, rejected
