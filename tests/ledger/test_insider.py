"""Insider attacks on the ledger, each as one case: what the attacker does, and what notices."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import Ledger
from ledger.checkpoint import open_checkpoint, verifier_key
from ledger.errors import LedgerIntegrityError, SignerMemoryError
from tests.ledger.forge import rewrite_entry

ORIGIN = "insider.example/log"


def _ledger(url: str, key: Ed25519PrivateKey, memory: Path, n: int) -> Ledger:
    Ledger.create(url, origin=ORIGIN, log_key=key, signer_memory=memory).close()
    led = Ledger.open(url, log_key=key, checkpoint_every=1, signer_memory=memory)
    for i in range(n):
        led.append("generate", {"actor": "desk@example.org", "n": i}, outputs=[f"{i:064x}"])
    return led


def test_create_with_a_memory_signs_the_empty_tree(
    tmp_path: Path, log_key: Ed25519PrivateKey
) -> None:
    memory = tmp_path / "log.signed"
    Ledger.create(
        f"sqlite:///{tmp_path / 'l.db'}", origin=ORIGIN, log_key=log_key, signer_memory=memory
    ).close()
    assert open_checkpoint(memory.read_text(), verifier_key(log_key, ORIGIN)).size == 0


def test_database_rewrite_with_deleted_checkpoints_is_refused(
    tmp_path: Path, any_url: str, log_key: Ed25519PrivateKey
) -> None:
    memory = tmp_path / "log.signed"
    with _ledger(any_url, log_key, memory, 6) as led:
        assert led.latest_checkpoint().size == 6  # type: ignore[union-attr]
    before = memory.read_text()
    rewrite_entry(any_url, 2, lambda body: body.update(actor="mallory@example.org"))
    with Ledger.open(any_url, log_key=log_key, checkpoint_every=1, signer_memory=memory) as led:
        assert led.audit().ok  # the tree is self-consistent again: the audit cannot tell
        with pytest.raises(LedgerIntegrityError, match="refusing to sign") as err:
            led.append("generate", {"actor": "desk@example.org"}, outputs=["f" * 64])
        message = str(err.value)
        assert "size 6" in message and "size 7" in message  # both sizes (and roots) named
        assert "\n" not in message
        assert led.checkpoints() == []  # nothing signed
    assert memory.read_text() == before


def test_without_the_memory_the_same_rewrite_would_be_signed(
    tmp_path: Path, sqlite_url: str, log_key: Ed25519PrivateKey
) -> None:
    """The attack as it worked before: a signer that only trusts the database's own rows."""
    with _ledger(sqlite_url, log_key, tmp_path / "log.signed", 3) as led:
        pass
    rewrite_entry(sqlite_url, 0, lambda body: body.update(actor="mallory@example.org"))
    with Ledger.open(sqlite_url, log_key=log_key, checkpoint_every=1) as led:  # no memory file
        assert led.checkpoint().size == 3


def test_lost_memory_needs_an_explicit_logged_adoption(
    tmp_path: Path, sqlite_url: str, log_key: Ed25519PrivateKey
) -> None:
    memory = tmp_path / "log.signed"
    with _ledger(sqlite_url, log_key, memory, 2):
        pass
    memory.unlink()
    with Ledger.open(sqlite_url, log_key=log_key, checkpoint_every=1, signer_memory=memory) as led:
        with pytest.raises(SignerMemoryError, match="memory of its last checkpoint is missing"):
            led.append("generate", {"n": 9}, outputs=["e" * 64])
        assert led.size == 3  # the entry is recorded; only the checkpoint was refused
        adopted = led.adopt_checkpoint(reason="disk replaced", actor="ops@example.org")
        assert adopted.size == 2
        assert led.checkpoint().size == 3
    assert "disk replaced" in (tmp_path / "log.signed.log").read_text()


def test_two_signers_sharing_a_key_keep_their_own_memories(
    tmp_path: Path, any_url: str, log_key: Ed25519PrivateKey
) -> None:
    """Two machines, one key, one database: each remembers its own last signature and checks the
    newest one the other stored."""
    a, b = tmp_path / "a.signed", tmp_path / "b.signed"
    with _ledger(any_url, log_key, a, 2):
        pass
    b.write_text(a.read_text())  # machine b was set up from the same state
    led_a = Ledger.open(any_url, log_key=log_key, checkpoint_every=1, signer_memory=a)
    led_b = Ledger.open(any_url, log_key=log_key, checkpoint_every=1, signer_memory=b)
    for i in range(3):
        led_a.append("generate", {"a": i}, outputs=[f"{i + 10:064x}"])
        led_b.append("generate", {"b": i}, outputs=[f"{i + 20:064x}"])
    vkey = verifier_key(log_key, ORIGIN)
    assert open_checkpoint(a.read_text(), vkey).size == 7
    assert open_checkpoint(b.read_text(), vkey).size == 8
    assert led_a.audit().ok
    led_a.close()
    led_b.close()
