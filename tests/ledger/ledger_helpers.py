"""Helpers shared by the ledger tests (imported by module name: pytest puts this folder on the path)."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import Ledger

ORIGIN = "test.example/log"


def make_ledger(
    url: str, key: Ed25519PrivateKey, n: int = 0, *, memory: Path | None = None
) -> Ledger:
    """A ledger of ``n`` entries; ``memory``: the signer's memory file, as a home keeps it."""
    Ledger.create(url, origin=ORIGIN, log_key=key, signer_memory=memory).close()
    led = Ledger.open(
        url, log_key=key, checkpoint_every=None, checkpoint_interval=None, signer_memory=memory
    )
    for i in range(n):
        led.append("generate", {"n": i}, outputs=[f"{i:064x}"])
    return led
