"""``provenance ledger ...``: checkpoints, receipts, audit, export (filled in by the ledger work)."""

from __future__ import annotations

import click


@click.group("ledger")
def ledger_group() -> None:
    """Inspect and prove the tamper-evident ledger."""
