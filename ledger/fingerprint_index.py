"""An in-memory index of one fingerprint kind over the whole ledger, for stripped-copy search.

Only row ids and 64-bit values are loaded (two numpy arrays, 16 bytes a row): building a Python
object per stored fingerprint made loading a million of them take seconds. The few hits of a
query are resolved to their entry and output with one more query. New rows are picked up on each
search (``id > last seen``), so a long-lived process sees new recordings.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import select

from ledger.models import FINGERPRINT as F
from ledger.storage import LedgerView

_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class Hit:
    entry_id: str
    output: str
    distance: int


class FingerprintIndex:
    def __init__(self, ledger: LedgerView, kind: str) -> None:
        self._ledger = ledger
        self.kind = kind
        self.last_id = 0
        self.ids: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.values: npt.NDArray[np.uint64] = np.zeros(0, dtype=np.uint64)
        self._lock = threading.Lock()

    def refresh(self) -> None:
        engine = self._ledger.engine
        # The driver's cursor directly: SQLAlchemy's per-row processing cost ~5 us a row, which
        # is seconds for a million. The bound values are ours (a kind name and an int).
        sql = str(
            select(F.c.id, F.c.value)
            .where(F.c.kind == self.kind, F.c.id > self.last_id)
            .order_by(F.c.id)
            .compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        )
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(sql)
            rows = cur.fetchall()
            cur.close()
        finally:
            raw.close()
        if not rows:
            return
        flat = np.fromiter(
            itertools.chain.from_iterable(rows), dtype=np.int64, count=2 * len(rows)
        ).reshape(-1, 2)
        self.ids = np.concatenate([self.ids, flat[:, 0]])
        self.values = np.concatenate([self.values, flat[:, 1].view(np.uint64)])
        self.last_id = int(flat[-1, 0])

    def search(self, value: int, max_distance: int, limit: int) -> list[Hit]:
        """Stored fingerprints within ``max_distance`` bits of ``value``, closest first."""
        with self._lock:
            self.refresh()
            target = np.uint64(value & _MASK64)
            dist = np.bitwise_count(self.values ^ target)
            near = np.flatnonzero(dist <= max_distance)
            near = near[np.argsort(dist[near], kind="stable")][:limit]
            row_ids = [int(self.ids[i]) for i in near]
            by_row = {int(i): int(dist[j]) for i, j in zip(row_ids, near, strict=True)}
        if not row_ids:
            return []
        with self._ledger.engine.connect() as conn:
            found = conn.execute(
                select(F.c.id, F.c.entry_id, F.c.output).where(F.c.id.in_(row_ids))
            ).all()
        # Closest first; equal distances in the order the rows were stored.
        found = sorted(found, key=lambda r: (by_row[int(r[0])], int(r[0])))
        return [Hit(str(e), str(o), by_row[int(i)]) for i, e, o in found]


_indexes: weakref.WeakKeyDictionary[LedgerView, dict[str, FingerprintIndex]] = (
    weakref.WeakKeyDictionary()
)
_guard = threading.Lock()


def index_for(ledger: LedgerView, kind: str) -> FingerprintIndex:
    """The index of ``kind`` for this open ledger (built on first use, kept while it is open)."""
    with _guard:
        per = _indexes.setdefault(ledger, {})
        if kind not in per:
            per[kind] = FingerprintIndex(ledger, kind)
        return per[kind]
