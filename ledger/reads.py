"""Reading entries: by id, index and artifact hash, children and lineage, time ranges, secrets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ledger.entry import Entry, entry_from_leaf, to_micros
from ledger.errors import AUDIT_REMEDY, LedgerIntegrityError, UnknownEntryError
from ledger.models import ENTRY as E
from ledger.models import FINGERPRINT as F
from ledger.models import HEAD as H
from ledger.models import PARENT as P
from ledger.models import SECRET as S
from ledger.storage import Storage


class Reader:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.engine = storage.engine
        self.ts_ordered_from = 0  # entries from here on have non-decreasing times (schema 0004)

    @property
    def size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(H.c.size).where(H.c.id == 1)).scalar_one())

    def _entries(self, stmt: Any) -> list[Entry]:
        with self.engine.connect() as conn:
            return [entry_from_leaf(bytes(leaf)) for leaf in conn.execute(stmt).scalars()]

    def get(self, entry_id: str) -> Entry | None:
        found = [entry_from_leaf(b) for b in self.storage.leaves("by_id", (entry_id,))]
        return found[0] if found and found[0].id == entry_id else None

    def at(self, index: int) -> Entry:
        found = self.storage.leaves("at", (index,))
        if not found:
            raise UnknownEntryError(f"no entry at index {index} (ledger size {self.size})")
        return entry_from_leaf(found[0])

    def by_artifact(self, sha256: str, role: str) -> list[Entry]:
        leaves = self.storage.leaves("by_artifact", (sha256.lower(), role))
        return [entry_from_leaf(b) for b in leaves]

    def by_artifacts(self, shas: Sequence[str], role: str) -> dict[str, list[Entry]]:
        """:meth:`by_artifact` for many hashes in one query: each hash that has entries -> them,
        in index order."""
        wanted = list(dict.fromkeys(s.lower() for s in shas))
        out: dict[str, list[Entry]] = {}
        for sha, leaf in self.storage.artifact_leaves(wanted, role) if wanted else []:
            out.setdefault(sha, []).append(entry_from_leaf(leaf))
        return out

    def children(self, entry_id: str) -> list[Entry]:
        return self._entries(
            select(E.c.leaf)
            .join(P, P.c.child_idx == E.c.idx)
            .where(P.c.parent_id == entry_id)
            .order_by(E.c.idx)
        )

    def lineage(self, entry_id: str) -> list[Entry]:
        """The entry and all its ancestors through ``parents``, each once, nearest first."""
        start = self.get(entry_id)
        if start is None:
            raise UnknownEntryError(f"no entry {entry_id}")
        out, seen, queue = [start], {start.id}, list(start.parents)
        while queue:
            pid = queue.pop(0)
            if pid in seen:
                continue
            seen.add(pid)
            parent = self.get(pid)
            if parent is not None:
                out.append(parent)
                queue.extend(parent.parents)
        return out

    def recent(self, limit: int = 20) -> list[Entry]:
        return self._entries(select(E.c.leaf).order_by(E.c.idx.desc()).limit(limit))

    def iter_entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Sequence[str] | None = None,
    ) -> Iterator[Entry]:
        """Entries in index order, fetched in pages so a large ledger streams."""
        in_range = self._time_range(
            None if since is None else to_micros(since), None if until is None else to_micros(until)
        )
        last = -1
        while True:
            stmt = (
                select(E.c.leaf, E.c.idx)
                .where(E.c.idx > last, in_range)
                .order_by(E.c.idx)
                .limit(1000)
            )
            if kinds is not None:
                stmt = stmt.where(E.c.kind.in_(list(kinds)))
            with self.engine.connect() as conn:
                page = conn.execute(stmt).all()
            if not page:
                return
            for leaf, idx in page:
                yield entry_from_leaf(bytes(leaf))
                last = int(idx)

    def _time_range(self, lo_ts: int | None, hi_ts: int | None) -> ColumnElement[bool]:
        """The entries with ``lo_ts <= ts < hi_ts`` as a condition on their rows."""
        with self.engine.connect() as conn:
            size = int(conn.execute(select(H.c.size).where(H.c.id == 1)).scalar_one())
            ordered = min(self.ts_ordered_from, size)
            # Times are in index order from `ordered` on: the time range is an index range there.
            lo = ordered if lo_ts is None else _first_at(conn, ordered, size, lo_ts)
            hi = size if hi_ts is None else _first_at(conn, lo, size, hi_ts)
        in_range: ColumnElement[bool] = E.c.idx.between(lo, hi - 1)
        if ordered:  # older entries (clock steps allowed): a filtered scan of that prefix
            old: ColumnElement[bool] = E.c.idx < ordered
            if lo_ts is not None:
                old = old & (E.c.ts >= lo_ts)
            if hi_ts is not None:
                old = old & (E.c.ts < hi_ts)
            in_range = or_(old, in_range)
        return in_range

    def secret(self, entry_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(S.c.text).where(S.c.entry_id == entry_id)).scalar()

    def fingerprints_of(self, output_sha256: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(F.c.kind, F.c.value).where(F.c.output == output_sha256).order_by(F.c.id)
            ).all()
        return {str(k): int(v) for k, v in rows}


def _first_at(conn: Connection, lo: int, hi: int, ts: int) -> int:
    """The first index in ``[lo, hi)`` whose time is >= ``ts`` (``hi`` if none), by bisection."""
    stmt = select(E.c.ts).where(E.c.idx == bindparam("i"))
    while lo < hi:
        mid = (lo + hi) // 2
        got = conn.execute(stmt, {"i": mid}).scalar()
        if got is None:
            raise LedgerIntegrityError(f"entry {mid} is missing; {AUDIT_REMEDY}")
        if int(got) < ts:
            lo = mid + 1
        else:
            hi = mid
    return lo
