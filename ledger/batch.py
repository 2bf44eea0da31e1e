"""The rows of a batch of new entries: leaves, subtree hashes, index rows (shared by both paths).

SQLite appends build them in the writer's own transaction (:mod:`ledger.append`); PostgreSQL
builds them in the sequencer's integrating transaction (:mod:`ledger.sequencer`). Either way the
head (size, the hashes of the perfect subtrees covering ``[0, size)``) is read under the write
lock and each new leaf folds the frontier hashes it completes: O(1) rows per entry.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger import merkle
from ledger.entry import AppendRequest, Entry, build_entry, new_entry_id, signed64, to_micros
from ledger.errors import AUDIT_REMEDY, LedgerIntegrityError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_SQL = {
    "head": "SELECT size, frontier, last_ts FROM ledger_head WHERE id = 1{lock}",
    "parents": "SELECT entry_id FROM ledger_entry WHERE entry_id IN ({marks})",
    "entry": "INSERT INTO ledger_entry (idx, entry_id, kind, ts, leaf) VALUES (?, ?, ?, ?, ?)",
    "node": "INSERT INTO ledger_node (pos, hash) VALUES (?, ?)",
    "artifact": "INSERT INTO ledger_artifact (entry_idx, role, sha256) VALUES (?, ?, ?)",
    "parent": "INSERT INTO ledger_parent (child_idx, parent_id) VALUES (?, ?)",
    "secret": "INSERT INTO ledger_secret (entry_id, salt, text) VALUES (?, ?, ?)",
    "fingerprint": "INSERT INTO ledger_fingerprint (entry_id, output, kind, value) VALUES (?, ?, ?, ?)",
    "set_head": "UPDATE ledger_head SET size = ?, frontier = ?, last_ts = ? WHERE id = 1",
    "erase": "DELETE FROM ledger_secret WHERE entry_id = ?",
    "mark": "?",
}
# SQLite's BEGIN IMMEDIATE already holds the write lock; elsewhere the head row is locked.
SQL_SQLITE = {k: v.replace("{lock}", "") for k, v in _SQL.items()}
SQL_OTHER = {k: v.replace("{lock}", " FOR UPDATE").replace("?", "%s") for k, v in _SQL.items()}


@dataclass(frozen=True)
class Prepared:
    """A request with what is fixed when it is accepted: its id and its salted secret."""

    req: AppendRequest
    entry_id: str
    salt: bytes | None = None
    secret_hash: str | None = None


def prepare(req: AppendRequest) -> Prepared:
    eid = req.entry_id or new_entry_id()
    if req.secret is None:
        return Prepared(req, eid)
    salt = os.urandom(16)
    # Salted so an erased prompt cannot be recovered by guessing against the leaf.
    return Prepared(req, eid, salt, hashlib.sha256(salt + req.secret.encode()).hexdigest())


@dataclass
class Rows:
    """The rows one batch writes, by statement name."""

    entry: list[tuple[Any, ...]] = field(default_factory=list)
    node: list[tuple[int, bytes]] = field(default_factory=list)
    artifact: list[tuple[int, str, str]] = field(default_factory=list)
    parent: list[tuple[int, str]] = field(default_factory=list)
    secret: list[tuple[str, bytes, str]] = field(default_factory=list)
    fingerprint: list[tuple[str, str, str, int]] = field(default_factory=list)


def read_head(cur: Any, sql: dict[str, str]) -> tuple[int, bytes, int]:
    """The head row (size, subtree hashes, last time), checked for shape."""
    cur.execute(sql["head"])
    size, blob, last_ts = cur.fetchone()
    return check_head(int(size), bytes(blob), int(last_ts))


def check_head(size: int, blob: bytes, last_ts: int) -> tuple[int, bytes, int]:
    if len(blob) != 32 * size.bit_count():  # one hash per perfect subtree covering [0, size)
        raise LedgerIntegrityError(f"head row's subtree hashes do not fit its size; {AUDIT_REMEDY}")
    return size, blob, last_ts


def stamp(last_ts: int) -> tuple[datetime, int]:
    """The batch's time: now, or the last entry's if the clock stepped back (time ranges rely
    on times following the index)."""
    now = datetime.now(UTC)
    ts = to_micros(now)
    if ts < last_ts:
        return _EPOCH + timedelta(microseconds=last_ts), last_ts
    return now, ts


def write_batch(
    cur: Any, sql: dict[str, str], items: Sequence[Prepared], head: tuple[int, bytes, int]
) -> list[Entry]:
    """Build and write ``items`` on top of ``head`` (read under the write lock), new head too."""
    size, blob, last_ts = head
    now, ts = stamp(last_ts)
    rows = Rows()
    entries, size, blob = build(items, size, blob, now, ts, rows)
    for name in ("entry", "node", "artifact", "parent", "secret", "fingerprint"):
        data = getattr(rows, name)
        if len(data) == 1:
            cur.execute(sql[name], data[0])
        elif data:
            cur.executemany(sql[name], data)
    cur.execute(sql["set_head"], (size, blob, ts))
    return entries


# PostgreSQL (the sequencer's batches): each table's rows in one ``unnest`` insert, columns as
# arrays, and the new head, as the data-modifying CTEs of ONE statement that the sequencer ends
# with its own (the queue rows deleted, the waiters notified): a batch's write is one statement.
_ARRAYS = {
    "entry": "ledger_entry (idx, entry_id, kind, ts, leaf)/bigint,text,text,bigint,bytea",
    "node": "ledger_node (pos, hash)/bigint,bytea",
    "artifact": "ledger_artifact (entry_idx, role, sha256)/bigint,text,text",
    "parent": "ledger_parent (child_idx, parent_id)/bigint,text",
    "secret": "ledger_secret (entry_id, salt, text)/text,bytea,text",
    "fingerprint": "ledger_fingerprint (entry_id, output, kind, value)/text,text,text,bigint",
}
SQL_ARRAYS = {
    name: f"w_{name} AS (INSERT INTO {target} SELECT * FROM unnest("
    + ", ".join(f"%(w_{name}_{k})s::{t}[]" for k, t in enumerate(types.split(",")))
    + "))"
    for name, (target, types) in ((n, v.split("/")) for n, v in _ARRAYS.items())
}
_SET_HEAD = (
    "w_head AS (UPDATE ledger_head SET size = %(w_size)s, frontier = %(w_frontier)s, "
    "last_ts = %(w_ts)s WHERE id = 1)"
)


def write_arrays(
    items: Sequence[Prepared], head: tuple[int, bytes, int]
) -> tuple[list[Entry], str, dict[str, Any]]:
    """:func:`write_batch` for PostgreSQL: the entries, and ``WITH`` clauses (without the
    statement's final query) that write their rows and the new head, with their parameters."""
    size, blob, last_ts = head
    now, ts = stamp(last_ts)
    rows = Rows()
    entries, size, blob = build(items, size, blob, now, ts, rows)
    parts, params = [], {"w_size": size, "w_frontier": blob, "w_ts": ts}
    for name, sql in SQL_ARRAYS.items():
        data = getattr(rows, name)
        if data:
            parts.append(sql)
            for k, col in enumerate(zip(*data, strict=True)):
                params[f"w_{name}_{k}"] = list(col)
    return entries, "WITH " + ", ".join([*parts, _SET_HEAD]), params


def build(
    items: Sequence[Prepared], size: int, blob: bytes, now: datetime, ts: int, rows: Rows
) -> tuple[list[Entry], int, bytes]:
    """Entries for ``items`` from index ``size`` on, their rows added to ``rows``; returns the
    entries and the new head (size, subtree hashes)."""
    node_hash = merkle.node_hash
    entries: list[Entry] = []
    for item in items:
        req, eid = item.req, item.entry_id
        if item.salt is not None and req.secret is not None:
            rows.secret.append((eid, item.salt, req.secret))
        entry = build_entry(
            size,
            eid,
            req.kind,
            now,
            req.body,
            outputs=req.outputs,
            inputs=req.inputs,
            parents=req.parents,
            fingerprints=req.fingerprints,
            secret_hash=item.secret_hash,
        )
        rows.entry.append((size, eid, req.kind, ts, entry.leaf))
        # Leaf `size` completes one perfect subtree per trailing 1 bit of `size`: it folds in
        # that many frontier hashes (smallest last), and every node it completes is keyed
        # size * 64 + level (ledger.merkle.node_key).
        acc, key = entry.leaf_hash, size * 64
        rows.node.append((key, acc))
        for level in range(1, ((size ^ (size + 1)).bit_length())):
            acc = node_hash(blob[-32:], acc)
            blob = blob[:-32]
            rows.node.append((key + level, acc))
        blob += acc
        if req.outputs or req.inputs:
            rows.artifact += [(size, "output", o) for o in dict.fromkeys(req.outputs)]
            rows.artifact += [(size, "input", i) for i in dict.fromkeys(req.inputs)]
        if req.parents:
            rows.parent += [(size, p) for p in dict.fromkeys(req.parents)]
        if req.fingerprints:
            rows.fingerprint += [(eid, o, k, signed64(v)) for o, k, v in req.fingerprints]
        entries.append(entry)
        size += 1
    return entries, size, blob
