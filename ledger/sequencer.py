"""PostgreSQL appends in two steps, as Trillian and Tessera do: accept, then integrate in batches.

A writer first tries the integration lock (a transaction-level advisory lock keyed by the
pending table's oid, so ledgers in other schemas do not share it). Holding it, it integrates
every pending entry and its own in ONE transaction: leaves, subtree hashes, index rows, head,
the pending rows deleted. Without it, it makes its entries durable as one pending row (no shared
lock taken) and waits on LISTEN for the batch that integrates them; after a batch that ends
without them it waits 10 ms for the next writer's batch, then tries the lock itself, and a wait
with no notification at all (a holder killed: its transaction rolls back, nothing is sent) ends
in a blocking take of the lock. So contention
makes batches bigger instead of making writers queue on the head row.

Crash safety follows from the transactions: a pending row is either integrated and deleted in
the same commit, or still pending for the next batch; a killed integrator's batch rolls back.
One pending row holds all entries of one ``append_many``, so they stay all-or-nothing and
contiguous. The leaf (which holds the index and the time) is built only at integration.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from ledger.batch import SQL_OTHER, Prepared, check_head, prepare, write_batch
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
from ledger.pending import Note, decode, encode, note_of, rebuilt
from ledger.storage import Storage

MAX_BATCH = 1024  # entries per integrating transaction: bounds a batch's time and memory
WAIT_S = 0.2  # longest wait for a notification before taking the lock anyway
NUDGE_S = 0.01  # after a batch without this writer's row: wait this long for the next batch
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
        self.max_batch, self.wait_s, self.nudge_s = max_batch, wait_s, NUDGE_S
        self._conn: Any = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._key, self._channel = 0, ""
        storage.on_close(self.close)

    def append_many(self, items: Sequence[AppendRequest]) -> list[Entry]:
        prepared = [prepare(r) for r in items]
        with self._locked() as conn:
            cur = conn.cursor()
            # Pipelined: a round trip only where a result is read, and at COMMIT.
            with conn.pipeline():
                if not _check(cur, prepared):  # every parent already in the tree
                    got = self._integrate(conn, prepared, _TRY)
                    if got is not None:
                        conn.commit()
                        return got[0][-1]
                payload = encode(prepared)
                cur.execute(
                    "INSERT INTO ledger_pending (ids, payload) VALUES (%s, %s) RETURNING seq",
                    ([p.entry_id for p in prepared], payload),
                )
                seq = int(cur.fetchone()[0])
                conn.commit()  # accepted: durable, whatever happens to this process now
            return self._wait(conn, seq, prepared)

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
                cur.execute("SELECT 'ledger_pending'::regclass::oid::bigint")
                oid = int(cur.fetchone()[0])
                self._key, self._channel = _LOCK_CLASS | oid, f"ledger_pending_{oid}"
                cur.execute(f"LISTEN {self._channel}")
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

    def _integrate(
        self, conn: Any, own: list[Prepared] | None, lock: str
    ) -> tuple[dict[int, list[Entry]], dict[int, str]] | None:
        """One batch under the lock (``_TRY``: None if another writer holds it): pending rows in
        order, then ``own`` (keyed -1). Returns the entries by pending seq and the rows refused
        (an id already used, a parent missing); the caller commits."""
        cur, pend = conn.cursor(), conn.cursor()
        cur.execute(lock, (self._key,))
        # FOR UPDATE as the direct path (erasures) takes it, so the two never interleave.
        pend.execute(_PENDING, (self._key, self.max_batch))
        row = cur.fetchone()
        if row is None:
            return None
        head = check_head(int(row[0]), bytes(row[1]), int(row[2]))
        groups: list[tuple[int, list[Prepared]]] = []
        room = self.max_batch - (len(own) if own else 0)
        for seq, payload in pend.fetchall():
            items = decode(bytes(payload))
            if groups and len(items) > room:
                break
            groups.append((int(seq), items))
            room -= len(items)
        if own is not None:
            groups.append((-1, own))
        accepted, rejected = _screen(cur, groups)
        if own is not None and -1 in rejected:
            raise _refusal(rejected[-1])  # rolls the batch back; the rest stays pending
        entries = write_batch(cur, SQL_OTHER, [p for _, g in accepted for p in g], head)
        done: dict[int, list[Entry]] = {}
        for seq, g in accepted:
            done[seq], entries = entries[: len(g)], entries[len(g) :]
        seqs = [s for s in done if s >= 0]
        if seqs:
            cur.execute("DELETE FROM ledger_pending WHERE seq = ANY(%s)", (seqs,))
        for s, why in rejected.items():
            cur.execute("UPDATE ledger_pending SET error = %s WHERE seq = %s", (why, s))
        # Always sent: writers whose rows came too late for this batch wake to do the next.
        cur.execute("SELECT pg_notify(%s, %s)", (self._channel, note_of(done, rejected)))
        return done, rejected

    # --- waiting ---------------------------------------------------------------------------

    def _wait(self, conn: Any, seq: int, mine: list[Prepared]) -> list[Entry]:
        ids, wait = [p.entry_id for p in mine], self.wait_s
        while True:
            note = self._notified(conn, wait) if wait else None
            if note is not None:
                if seq in note.placed:
                    return rebuilt(mine, note.ts[seq], note.placed[seq])
                if note.look or seq in note.refused:
                    with conn.pipeline():
                        got = _result(conn, seq, ids)
                    if got is not None:
                        return got
                # A batch without this row (it began before the row was committed): the next
                # writer's batch takes it; only if none comes soon, try the lock (fewer writers
                # racing for it after each batch).
                wait = self.nudge_s
                continue
            # After a silent full wait, queue for the lock: its holder may have been killed
            # before notifying.
            with conn.pipeline():
                batch = self._integrate(conn, None, _TAKE if wait == self.wait_s else _TRY)
                conn.commit()
            if batch is None:  # another writer's batch: it notifies
                wait = self.wait_s
                continue
            done, rejected = batch
            if seq in done:
                return done[seq]
            if seq in rejected or not done:  # refused, or integrated by a batch not yet seen
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


def _check(cur: Any, items: list[Prepared]) -> bool:
    """Refuse ids already used and unknown parents, as the direct path does; True when some
    parent is accepted but not yet integrated (then this batch must queue behind it)."""
    ids = [p.entry_id for p in items]
    if len(set(ids)) != len(ids):
        raise InvalidEntryError("entry id already in the ledger (twice in one append)")
    named = [p.entry_id for p in items if p.req.entry_id is not None]
    parents = sorted({x for p in items for x in p.req.parents} - set(ids))
    if not named and not parents:
        return False
    cur.execute("SELECT entry_id FROM ledger_entry WHERE entry_id = ANY(%s)", (named + parents,))
    found = {str(r[0]) for r in cur.fetchall()}
    used = [i for i in named if i in found]
    if used:
        raise InvalidEntryError(f"entry id already in the ledger ({used[0]})")
    missing = [p for p in parents if p not in found]
    if not missing:
        return False
    cur.execute(
        "SELECT DISTINCT unnest(ids) FROM ledger_pending WHERE error IS NULL AND ids && %s",
        (missing,),
    )
    queued = {str(r[0]) for r in cur.fetchall()}
    absent = [p for p in missing if p not in queued]
    if absent:
        raise UnknownEntryError(f"parent entry {absent[0]} is not in the ledger")
    return True


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
