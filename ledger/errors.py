"""Ledger errors. The ledger never imports ``provenance``; the CLI catches :class:`LedgerError`."""

from __future__ import annotations


class LedgerError(Exception):
    """The ledger cannot do what was asked (cannot open, not a ledger, unknown entry, ...)."""

    exit_code: int = 2

    def diagnostics(self) -> str:
        return str(self)


class LedgerIntegrityError(LedgerError):
    """The stored log contradicts itself or its signed checkpoints (tampering or corruption)."""

    exit_code = 1
