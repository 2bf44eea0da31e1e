"""Appending: entries, their index rows and the tree's new subtree hashes in one transaction.

The head row (size, the hashes of the perfect subtrees covering ``[0, size)``, the last time)
is read under the write lock, each new leaf folds the frontier hashes it completes, and the new
head is written back: an append touches O(1) rows whatever the ledger's size.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import DatabaseError, DBAPIError, IntegrityError

from ledger import merkle
from ledger.entry import (
    AppendRequest,
    Entry,
    build_entry,
    check_request,
    new_entry_id,
    signed64,
    to_micros,
)
from ledger.errors import AUDIT_REMEDY, InvalidEntryError, LedgerIntegrityError, UnknownEntryError
from ledger.schema import db_error
from ledger.storage import Storage

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
_SQL_SQLITE = {k: v.replace("{lock}", "") for k, v in _SQL.items()}
_SQL_OTHER = {k: v.replace("{lock}", " FOR UPDATE").replace("?", "%s") for k, v in _SQL.items()}


@dataclass
class _Rows:
    """The rows one append writes, by statement name."""

    entry: list[tuple[Any, ...]] = field(default_factory=list)
    node: list[tuple[int, bytes]] = field(default_factory=list)
    artifact: list[tuple[int, str, str]] = field(default_factory=list)
    parent: list[tuple[int, str]] = field(default_factory=list)
    secret: list[tuple[str, bytes, str]] = field(default_factory=list)
    fingerprint: list[tuple[str, str, str, int]] = field(default_factory=list)


class Appender:
    """Writes entries through the ledger's storage; never signs (the facade triggers that)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._sql = _SQL_SQLITE if storage.sqlite_sql else _SQL_OTHER

    def append_many(self, items: Sequence[AppendRequest]) -> list[Entry]:
        """Append several entries in ONE transaction (all or nothing)."""
        for req in items:
            check_request(req)
        return self._write(lambda cur: self._append_rows(cur, items))

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

        entry = self._write(work)[0]
        try:
            self.storage.scrub_erased()
        except DatabaseError as e:
            raise db_error(self.storage.url, e) from e
        return entry

    def _write(self, work: Any) -> list[Entry]:
        dbapi = self.storage.dbapi
        try:
            entries: list[Entry] = self.storage.write(work)
        except (IntegrityError, dbapi.IntegrityError) as e:
            raise InvalidEntryError(
                f"entry id already in the ledger ({getattr(e, 'orig', e)})"
            ) from e
        except DatabaseError as e:
            raise db_error(self.storage.url, e) from e
        except dbapi.DatabaseError as e:  # from a DB-API cursor: wrapped as the engine would
            raise db_error(self.storage.url, DBAPIError.instance(None, None, e, dbapi.Error)) from e
        return entries

    def _append_rows(self, cur: Any, items: Sequence[AppendRequest]) -> list[Entry]:
        # The head row lock serialises writers: no fork, no gap, whatever the process count.
        sql = self._sql
        cur.execute(sql["head"])
        size, blob, last_ts = cur.fetchone()
        size, blob = int(size), bytes(blob)
        if len(blob) != 32 * size.bit_count():  # one hash per perfect subtree covering [0, size)
            raise LedgerIntegrityError(
                f"head row's subtree hashes do not fit its size; {AUDIT_REMEDY}"
            )
        self._check_parents(cur, items)
        now = datetime.now(UTC)
        ts = to_micros(now)
        if (
            ts < last_ts
        ):  # the clock stepped back: keep times in index order (time ranges rely on it)
            ts = int(last_ts)
            now = _EPOCH + timedelta(microseconds=ts)
        rows = _Rows()
        entries, size, blob = _build(items, size, blob, now, ts, rows)
        for name in ("entry", "node", "artifact", "parent", "secret", "fingerprint"):
            data = getattr(rows, name)
            if len(data) == 1:
                cur.execute(sql[name], data[0])
            elif data:
                cur.executemany(sql[name], data)
        cur.execute(sql["set_head"], (size, blob, ts))
        return entries

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


def _build(
    items: Sequence[AppendRequest], size: int, blob: bytes, now: datetime, ts: int, rows: _Rows
) -> tuple[list[Entry], int, bytes]:
    """Entries for ``items`` from index ``size`` on, their rows added to ``rows``; returns the
    entries and the new head (size, subtree hashes)."""
    sha, node_hash = hashlib.sha256, merkle.node_hash
    entries: list[Entry] = []
    for req in items:
        eid = req.entry_id or new_entry_id()
        secret_hash = None
        if req.secret is not None:
            salt = os.urandom(16)
            # Salted so an erased prompt cannot be recovered by guessing against the leaf.
            secret_hash = sha(salt + req.secret.encode()).hexdigest()
            rows.secret.append((eid, salt, req.secret))
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
            secret_hash=secret_hash,
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
