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

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ledger.audit.bulk import StructureDamaged, check
from ledger.audit.detailed import detailed
from ledger.audit.reading import paused_gc
from ledger.audit.report import AuditReport, check_checkpoints
from ledger.audit.timestamps import TimestampSummary, audit_timestamps

if TYPE_CHECKING:
    from cryptography import x509

    from ledger.storage import LedgerView

__all__ = ["AuditReport", "TimestampSummary", "audit", "detailed", "paused_gc"]


def audit(
    led: LedgerView,
    *,
    verifier_key: str | None = None,
    chunk_bits: int = 16,
    tsa_anchors: Sequence[x509.Certificate] = (),
    workers: int | None = None,
) -> AuditReport:
    """Audit ``led``; never raises for damage, only reports it.

    A bulk pass checks ``2**chunk_bits`` leaves at a time (memory grows with it); only when it
    finds structural damage does the row-by-row pass run to name the first bad index. Stored
    checkpoint timestamps are checked against their notes (and chained to ``tsa_anchors``).
    Checkpoint signatures are checked with ``verifier_key``, the caller's pinned key; without one
    they are reported as not verified (the key the database names is never used; the
    ledger's own log key, when it was opened with it, is).
    ``workers=2`` splits the bulk pass over two processes (default: when the ledger is large).
    """
    verifier_key = verifier_key or led.verifier_key  # led's own key, if opened with it
    try:
        bulk = check(led, chunk_bits=chunk_bits, workers=workers)
    except StructureDamaged:
        with paused_gc():
            found = detailed(led, verifier_key)
        return _with_timestamps(found, led, tsa_anchors)
    report = AuditReport(size=bulk.head_size, checkpoints_checked=len(bulk.checkpoints))
    report.problems += bulk.index_problems
    report.problems += check_checkpoints(
        led, [c[:4] for c in bulk.checkpoints], bulk.roots, bulk.head_size, verifier_key
    )
    return _with_timestamps(report, led, tsa_anchors)


def _with_timestamps(
    report: AuditReport, led: LedgerView, anchors: Sequence[x509.Certificate]
) -> AuditReport:
    report.timestamps, problems = audit_timestamps(led, anchors)
    report.problems += problems
    return report
