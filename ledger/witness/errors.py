"""Witness errors: all are :class:`ledger.LedgerError`, so the CLI prints them on one line."""

from __future__ import annotations

from ledger.errors import LedgerError


class WitnessConfigError(LedgerError):
    """A witness directory, key, log list or policy file is missing or malformed."""


class PolicyError(LedgerError):
    """A witness policy (C2SP tlog-policy text) does not parse or is inconsistent."""
