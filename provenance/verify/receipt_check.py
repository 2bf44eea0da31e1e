"""A receipt checked offline and, when the log is reachable, against the log as it is today.

An old receipt stays valid offline forever: its checkpoint was signed. What it cannot show by
itself is whether the log later deleted or rewrote the entry. So, with the log at hand, the
receipt's checkpoint must be proven a prefix of the log's newest signed checkpoint (a consistency
proof); if it is not, both signed notes are the evidence.

Example::

    from provenance.verify.receipt_check import check_receipt
    from provenance.home.ledger import open_ledger
    from provenance.home import home_from_env

    with open_ledger(home_from_env(), read_only=True) as led:
        result = check_receipt(receipt_text, vkey, ledger=led)
    print(result.ok, result.reason)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from provenance.verify.report import Fork

if TYPE_CHECKING:
    from ledger import Ledger, ReceiptResult


@dataclass(frozen=True)
class ReceiptCheck:
    offline: ReceiptResult
    checked_against_log: bool  # False: no log reachable, only the offline check was done
    current_size: int | None = None
    reason: str = ""
    fork: Fork | None = None

    @property
    def ok(self) -> bool:
        return self.offline.ok and self.fork is None and not self.reason.startswith("FAILED")


def check_receipt(
    text: str, vkey: str, *, file_sha256: str | None = None, ledger: Ledger | None = None
) -> ReceiptCheck:
    """Verify ``text`` (a C2SP tlog-proof) with the pinned ``vkey``; with ``ledger``, also prove
    its checkpoint is consistent with the log's newest one (and remember that one)."""
    from ledger import verify_receipt

    offline = verify_receipt(text, vkey, file_sha256=file_sha256)
    if ledger is None or not offline.ok:
        why = "" if ledger is None else "not checked against the log: the receipt itself fails"
        return ReceiptCheck(offline, False, reason=why or "not checked against today's log")
    return _against_log(text, vkey, offline, ledger)


def _against_log(text: str, vkey: str, offline: ReceiptResult, ledger: Ledger) -> ReceiptCheck:
    from ledger.checkpoint import open_checkpoint
    from ledger.errors import ForkDetectedError, LedgerError
    from ledger.verifier_memory import check_extends, check_same_history
    from provenance.home.log_keys import remember

    then = open_checkpoint(text.partition("\n\n")[2], vkey)
    if ledger.origin != then.origin:  # the ledger at hand is no evidence about another log
        why = (
            f"not checked against today's log: the ledger at hand is another log ({ledger.origin})"
        )
        return ReceiptCheck(offline, False, reason=why)
    latest = ledger.latest_checkpoint()
    if latest is None:
        return ReceiptCheck(offline, False, reason="the log has no signed checkpoint to compare")
    try:
        now = open_checkpoint(latest.note, vkey)
    except LedgerError as e:
        return ReceiptCheck(offline, True, reason=f"FAILED: the log's newest checkpoint ({e})")
    try:
        if now.size <= then.size:
            check_same_history(then, now)
        else:
            check_extends(then, now, ledger.consistency_proof)
    except ForkDetectedError as e:
        fork = Fork(
            f"the receipt's checkpoint (size {then.size}) is not part of the log's history today "
            f"(size {now.size}): entry {offline.index} was deleted or rewritten since",
            e.previous,
            e.current,
        )
        return ReceiptCheck(offline, True, now.size, fork.reason, fork)
    seen = remember(now, vkey, ledger.consistency_proof)
    if seen is not None:
        return ReceiptCheck(
            offline, True, now.size, str(seen), Fork(str(seen), seen.previous, seen.current)
        )
    why = f"consistent with the log's newest signed checkpoint (size {now.size})"
    return ReceiptCheck(offline, True, now.size, why)
