"""Full audit: recompute every leaf, the stored subtree hashes, the head and every checkpoint.

Example::

    >>> from ledger import Ledger
    >>> led = Ledger.create("sqlite://", origin="example.org/log")
    >>> led.audit().ok
    True

Damage kinds: ``modified`` (a row's bytes changed), ``deleted``, ``swapped``, ``inserted``,
``subtree_hash`` (a stored node rewritten), ``head``, ``checkpoint_forged`` (bad signature or a
note that disagrees with its row), ``checkpoint_inconsistent`` (signed, but not this tree) and
``index`` (an artifact, parent or fingerprint row that disagrees with the leaves) and
``checkpoint_timestamp`` (a stored RFC 3161 token that is not a valid token over its checkpoint).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ledger import merkle
from ledger._bulk_audit import StructureDamaged, check, paused_gc
from ledger.checkpoint import open_checkpoint
from ledger.checkpoint_timestamps import TimestampSummary, audit_timestamps
from ledger.errors import LedgerError
from ledger.models import CHECKPOINT as C
from ledger.models import ENTRY as E
from ledger.models import HEAD as H
from ledger.models import NODE as N

if TYPE_CHECKING:
    from cryptography import x509

    from ledger.store import Ledger


@dataclass
class AuditReport:
    size: int = 0
    checkpoints_checked: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    timestamps: TimestampSummary = field(default_factory=TimestampSummary)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps(
            {
                "ok": self.ok,
                "size": self.size,
                "checkpoints_checked": self.checkpoints_checked,
                "problems": [{"index": i, "kind": k, "detail": d} for i, k, d in self.problems],
                "timestamps": self.timestamps.to_dict(),
            }
        )


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


def _stream(led: Ledger, stmt: Any) -> Iterator[Any]:
    with led.engine.connect() as conn:
        yield from conn.execution_options(stream_results=True, yield_per=20000).execute(stmt)


def audit(
    led: Ledger,
    *,
    chunk_bits: int = 16,
    tsa_anchors: Sequence[x509.Certificate] = (),
    workers: int | None = None,
) -> AuditReport:
    """Audit ``led``; never raises for damage, only reports it.

    A bulk pass checks ``2**chunk_bits`` leaves at a time (memory grows with it); only when it
    finds structural damage does the row-by-row pass run to name the first bad index. Stored
    checkpoint timestamps are checked against their notes (and chained to ``tsa_anchors``).
    ``workers=2`` splits the bulk pass over two processes (default: when the ledger is large).
    """
    try:
        bulk = check(led, chunk_bits=chunk_bits, workers=workers)
    except StructureDamaged:
        with paused_gc():
            detailed = _detailed(led)
        return _with_timestamps(detailed, led, tsa_anchors)
    report = AuditReport(size=bulk.head_size, checkpoints_checked=len(bulk.checkpoints))
    report.problems += bulk.index_problems
    report.problems += _check_checkpoints(
        led, [c[:4] for c in bulk.checkpoints], bulk.roots, bulk.head_size
    )
    return _with_timestamps(report, led, tsa_anchors)


def _with_timestamps(
    report: AuditReport, led: Ledger, anchors: Sequence[x509.Certificate]
) -> AuditReport:
    report.timestamps, problems = audit_timestamps(led, anchors)
    report.problems += problems
    return report


def _detailed(led: Ledger) -> AuditReport:
    """Row-by-row audit that names the first damaged index and its kind (slow, exact)."""
    with led.engine.connect() as conn:
        head = conn.execute(select(H.c.size, H.c.frontier).where(H.c.id == 1)).one()
        cps = conn.execute(select(C.c.id, C.c.size, C.c.root, C.c.note).order_by(C.c.id)).all()
    head_size = int(head[0])
    report = AuditReport(size=head_size)
    rows: list[tuple[int, str, int]] = []  # (position, kind, claimed index) of bad rows
    node_problems: list[tuple[int, str, str]] = []
    cp_sizes = sorted({int(c[1]) for c in cps})
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    calc: list[tuple[int, bytes]] = []  # recomputed perfect subtrees (level, hash)
    kept: list[tuple[int, bytes]] = []  # stored perfect subtrees, checked level by level
    nodes = iter(_stream(led, select(N.c.pos, N.c.hash).order_by(N.c.pos)))
    pending = next(nodes, None)
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
        lh = merkle.leaf_hash(leaf)
        claimed = _claimed_index(leaf)
        # The two stacks: one from leaf bytes (for roots), one from stored nodes (for the table).
        stored: dict[int, bytes] = {}
        level, ix = 0, p
        while True:
            key = merkle.node_key(level, ix)
            while pending is not None and int(pending[0]) < key:
                pending = next(nodes, None)
            if pending is not None and int(pending[0]) == key:
                stored[level] = bytes(pending[1])
                pending = next(nodes, None)
            if not ix & 1:
                break
            level, ix = level + 1, ix >> 1
        if claimed != p:
            rows.append((p, "misplaced", claimed))
        elif (
            lh != stored.get(0)
            or (f'"id":"{eid}"'.encode() not in leaf)
            or (f'"kind":"{kind}"'.encode() not in leaf)
        ):
            rows.append((p, "modified", claimed))
        acc, lv = lh, 0
        kacc = stored.get(0, lh)
        while calc and calc[-1][0] == lv:
            acc = merkle.node_hash(calc.pop()[1], acc)
            kacc = merkle.node_hash(kept.pop()[1], kacc)
            lv += 1
            got = stored.get(lv)
            if got != kacc:
                first = (p + 1) - (1 << lv)
                node_problems.append(
                    (
                        first,
                        "subtree_hash",
                        f"stored hash of leaves {first}..{p} (level {lv}) is wrong",
                    )
                )
            kacc = got if got is not None else kacc
        calc.append((lv, acc))
        kept.append((lv, kacc))
        p += 1
        if p in cp_sizes:
            roots[p] = merkle.fold_pieces([h for _, h in calc])
    while p < head_size:
        rows.append((p, "deleted", -1))
        p += 1
    report.problems += _classify(led, rows)
    if not rows and bytes(head[1]) != b"".join(h for _, h in calc):
        report.problems.append(
            (head_size, "head", "head row's subtree hashes do not match the tree")
        )
    report.problems += node_problems
    report.problems += _check_checkpoints(led, cps, roots, head_size)
    report.checkpoints_checked = len(cps)
    return report


def _classify(led: Ledger, rows: list[tuple[int, str, int]]) -> list[tuple[int, str, str]]:
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


def _check_checkpoints(
    led: Ledger, cps: Sequence[Any], roots: dict[int, bytes], head_size: int
) -> list[tuple[int, str, str]]:
    out: list[tuple[int, str, str]] = []
    vkey = led.verifier_key
    prev_size = 0
    for cid, size, root, note in cps:
        size = int(size)
        if vkey is None:
            out.append(
                (size, "checkpoint_forged", f"checkpoint {cid}: no log key known to check it")
            )
            continue
        try:
            cp = open_checkpoint(note, vkey)
        except LedgerError as e:
            out.append((size, "checkpoint_forged", f"checkpoint {cid}: {e}"))
            continue
        if (cp.size, cp.root) != (size, bytes(root)):
            out.append(
                (size, "checkpoint_forged", f"checkpoint {cid}: row disagrees with its note")
            )
        elif size > head_size or size < prev_size:
            out.append(
                (
                    size,
                    "checkpoint_inconsistent",
                    f"checkpoint {cid}: size {size} goes beyond or behind the log",
                )
            )
        elif roots.get(size) != cp.root:
            out.append(
                (
                    size,
                    "checkpoint_inconsistent",
                    f"checkpoint {cid}: root at size {size} is not this tree's",
                )
            )
        prev_size = max(prev_size, size)
    return out
