"""A tamper-evident transparency log of recorded calls (RFC 9162 tree, C2SP checkpoints).

Example::

    >>> from ledger import Ledger
    >>> from ledger.checkpoint import generate_log_key
    >>> led = Ledger.create("sqlite://", origin="example.org/log", log_key=generate_log_key())
    >>> led.append("generate", {"model": "m"}).index
    0
"""

from ledger.audit import AuditReport
from ledger.checkpoint import Checkpoint
from ledger.entry import AppendRequest, Entry
from ledger.errors import LedgerError, LedgerIntegrityError
from ledger.receipt import ReceiptResult, verify_receipt
from ledger.store import Ledger

__all__ = [
    "AppendRequest",
    "AuditReport",
    "Checkpoint",
    "Entry",
    "Ledger",
    "LedgerError",
    "LedgerIntegrityError",
    "ReceiptResult",
    "verify_receipt",
]
