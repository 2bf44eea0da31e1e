"""Ledger errors. The ledger never imports ``provenance``; the CLI catches :class:`LedgerError`."""

from __future__ import annotations

# Remedies named as the library's calls (the ledger knows no CLI); the CLI words them as its
# commands (provenance/cli/messages.py).
AUDIT_REMEDY = "run Ledger.audit()"
CHECKPOINT_REMEDY = "sign one with Ledger.checkpoint() (opened with the log key)"


class LedgerError(Exception):
    """The ledger cannot do what was asked (cannot open, not a ledger, unknown entry, ...)."""

    exit_code: int = 2

    def diagnostics(self) -> str:
        return str(self)


class LedgerIntegrityError(LedgerError):
    """The stored log contradicts itself or its signed checkpoints (tampering or corruption)."""

    exit_code = 1


class LedgerNotFoundError(LedgerError):
    """No ledger at the given location."""


class NotALedgerError(LedgerError):
    """The database exists but does not hold a ledger."""


class LedgerExistsError(LedgerError):
    """A ledger with data already exists where a new one was to be created."""


class SchemaTooNewError(LedgerError):
    """The ledger was written by a newer version of this software."""


class CorruptLedgerError(LedgerError):
    """The database file is truncated or damaged beyond opening."""


class WrongLogKeyError(LedgerError):
    """A log key or verifier key does not belong to this log."""


class NoLogKeyError(LedgerError):
    """The ledger was opened without its log key, so it cannot sign checkpoints."""


class MalformedNoteError(LedgerError):
    """A signed note, checkpoint, verifier key or receipt is not well-formed."""


class UnknownEntryError(LedgerError):
    """No entry with that id, index or output."""


class InvalidEntryError(LedgerError):
    """An entry to append is malformed (bad kind, digest, parent or body)."""


class SignerMemoryError(LedgerError):
    """The log signer's own memory of its last checkpoint is missing, unreadable or not ours."""


class ForkDetectedError(LedgerIntegrityError):
    """The log showed a history that does not extend a checkpoint seen before (a fork).

    ``previous`` and ``current`` are the two signed notes: together with the log's public key
    they are evidence that anyone can check offline.
    """

    def __init__(self, message: str, previous: str, current: str) -> None:
        super().__init__(message)
        self.previous = previous
        self.current = current
