"""The row-by-row audit: slow and exact, it runs only to name the first damaged index.

Two stacks of perfect subtrees walk the tree in index order: one recomputed from the leaf
bytes (for the roots checkpoints are compared with), one from the stored nodes (for the table).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ledger import merkle
from ledger.audit.report import AuditReport, check_checkpoints
from ledger.models import CHECKPOINT as C
from ledger.models import ENTRY as E
from ledger.models import HEAD as H
from ledger.models import NODE as N

if TYPE_CHECKING:
    from ledger.storage import LedgerView


def _claimed_index(leaf: bytes) -> int:
    # The last match: canonical JSON sorts keys, so a body's own "index" keys come before the
    # top-level one, and no later top-level value can hold an unescaped '"index":'.
    at = leaf.rfind(b'"index":')
    if at < 0:
        return -1
    end = at + 8
    while end < len(leaf) and 48 <= leaf[end] <= 57:
        end += 1
    return int(leaf[at + 8 : end]) if end > at + 8 else -1


def _stream(led: LedgerView, stmt: Any) -> Iterator[Any]:
    with led.engine.connect() as conn:
        yield from conn.execution_options(stream_results=True, yield_per=20000).execute(stmt)


class _Walk:
    def __init__(self, nodes: Iterator[Any], cp_sizes: set[int]) -> None:
        self.nodes, self.pending = nodes, next(nodes, None)
        self.cp_sizes = cp_sizes
        self.rows: list[tuple[int, str, int]] = []  # (position, kind, claimed index) of bad rows
        self.node_problems: list[tuple[int, str, str]] = []
        self.roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
        self.calc: list[tuple[int, bytes]] = []  # recomputed perfect subtrees (level, hash)
        self.kept: list[tuple[int, bytes]] = []  # stored perfect subtrees, checked level by level

    def stored_at(self, p: int) -> dict[int, bytes]:
        """The stored hashes, by level, of the nodes leaf ``p`` completes."""
        stored: dict[int, bytes] = {}
        level, ix = 0, p
        while True:
            key = merkle.node_key(level, ix)
            while self.pending is not None and int(self.pending[0]) < key:
                self.pending = next(self.nodes, None)
            if self.pending is not None and int(self.pending[0]) == key:
                stored[level] = bytes(self.pending[1])
                self.pending = next(self.nodes, None)
            if not ix & 1:
                return stored
            level, ix = level + 1, ix >> 1

    def leaf(self, p: int, eid: str, kind: str, leaf: bytes) -> None:
        lh = merkle.leaf_hash(leaf)
        claimed = _claimed_index(leaf)
        stored = self.stored_at(p)
        if claimed != p:
            self.rows.append((p, "misplaced", claimed))
        elif (
            lh != stored.get(0)
            or (f'"id":"{eid}"'.encode() not in leaf)
            or (f'"kind":"{kind}"'.encode() not in leaf)
        ):
            self.rows.append((p, "modified", claimed))
        acc, lv = lh, 0
        kacc = stored.get(0, lh)
        while self.calc and self.calc[-1][0] == lv:
            acc = merkle.node_hash(self.calc.pop()[1], acc)
            kacc = merkle.node_hash(self.kept.pop()[1], kacc)
            lv += 1
            got = stored.get(lv)
            if got != kacc:
                first = (p + 1) - (1 << lv)
                detail = f"stored hash of leaves {first}..{p} (level {lv}) is wrong"
                self.node_problems.append((first, "subtree_hash", detail))
            kacc = got if got is not None else kacc
        self.calc.append((lv, acc))
        self.kept.append((lv, kacc))
        if p + 1 in self.cp_sizes:
            self.roots[p + 1] = merkle.fold_pieces([h for _, h in self.calc])


def detailed(led: LedgerView, verifier_key: str | None = None) -> AuditReport:
    """Row-by-row audit that names the first damaged index and its kind (slow, exact)."""
    with led.engine.connect() as conn:
        head = conn.execute(select(H.c.size, H.c.frontier).where(H.c.id == 1)).one()
        cps = conn.execute(select(C.c.id, C.c.size, C.c.root, C.c.note).order_by(C.c.id)).all()
    head_size = int(head[0])
    report = AuditReport(size=head_size)
    nodes = iter(_stream(led, select(N.c.pos, N.c.hash).order_by(N.c.pos)))
    walk = _Walk(nodes, {int(c[1]) for c in cps})
    rows = walk.rows
    p = 0
    for idx, eid, kind, leaf in _stream(
        led, select(E.c.idx, E.c.entry_id, E.c.kind, E.c.leaf).order_by(E.c.idx)
    ):
        idx, leaf = int(idx), bytes(leaf)
        while p < idx:  # gap: rows missing
            rows.append((p, "deleted", -1))
            p += 1
        if idx >= head_size:
            rows.append((idx, "inserted", _claimed_index(leaf)))
            p = idx + 1
            continue
        walk.leaf(p, eid, kind, leaf)
        p += 1
    while p < head_size:
        rows.append((p, "deleted", -1))
        p += 1
    report.problems += _classify(led, rows)
    if not rows and bytes(head[1]) != b"".join(h for _, h in walk.calc):
        report.problems.append(
            (head_size, "head", "head row's subtree hashes do not match the tree")
        )
    report.problems += walk.node_problems
    report.problems += check_checkpoints(led, cps, walk.roots, head_size, verifier_key)
    report.checkpoints_checked = len(cps)
    return report


def _classify(led: LedgerView, rows: list[tuple[int, str, int]]) -> list[tuple[int, str, str]]:
    """Name the first bad row and its kind of damage; later bad rows are summarised."""
    if not rows:
        return []
    pos, kind, claimed = rows[0]
    claims = {r[0]: r[2] for r in rows}
    if kind == "misplaced":
        if claimed > pos and claims.get(claimed) == pos:
            kind, detail = "swapped", f"rows {pos} and {claimed} are swapped"
        elif 0 <= claimed < pos:
            kind, detail = "inserted", f"a row was inserted before {pos} (it holds entry {claimed})"
        else:
            kind, detail = "deleted", f"row {pos} is gone; entry {claimed} moved into its place"
    elif kind == "modified" and claims.get(pos + 1) == pos:
        kind, detail = "inserted", f"row {pos} was inserted; the entries after it are shifted"
    elif kind == "modified":
        detail = f"row {pos}'s bytes do not hash to the stored leaf hash"
    elif kind == "deleted":
        detail = f"row {pos} is missing"
    else:
        detail = f"row {pos} lies beyond the head (size {led.size})"
    out = [(pos, kind, detail)]
    if len(rows) > 1:
        out.append((rows[1][0], "more", f"{len(rows) - 1} further damaged rows"))
    return out
