"""The signer's memory: a checkpoint is signed only over a tree that extends the last one signed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoint import Checkpoint, open_checkpoint, verifier_key
from ledger.errors import LedgerIntegrityError, SignerMemoryError
from ledger.signer_memory import SignerMemory, require_extends
from tests.ledger.ledger_helpers import ORIGIN, make_ledger


def test_memory_round_trip_is_atomic_and_private(
    tmp_path: Path, log_key: Ed25519PrivateKey
) -> None:
    vkey = verifier_key(log_key, ORIGIN)
    memory = SignerMemory(tmp_path / "log.signed")
    assert memory.last(vkey) is None and not memory.exists()
    memory.remember(Checkpoint(ORIGIN, 4, bytes(32)).sign(log_key))
    assert _size(memory.last(vkey)) == 4
    assert (tmp_path / "log.signed").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["log.signed"]  # no temp file left


def test_memory_signed_by_another_key_is_refused(
    tmp_path: Path, log_key: Ed25519PrivateKey
) -> None:
    from ledger.checkpoint import generate_log_key

    memory = SignerMemory(tmp_path / "log.signed")
    memory.remember(Checkpoint(ORIGIN, 4, bytes(32)).sign(generate_log_key()))
    with pytest.raises(SignerMemoryError, match="not a checkpoint signed by this log key"):
        memory.last(verifier_key(log_key, ORIGIN))


def test_adoption_is_logged(tmp_path: Path, log_key: Ed25519PrivateKey) -> None:
    memory = SignerMemory(tmp_path / "log.signed")
    memory.adopt(Checkpoint(ORIGIN, 2, bytes(32)).sign(log_key), reason="disk lost", actor="ops")
    log = (tmp_path / "log.signed.log").read_text()
    assert "adopted size=2" in log and "disk lost" in log and "'ops'" in log


def test_require_extends(tmp_path: Path, log_key: Ed25519PrivateKey) -> None:
    vkey = verifier_key(log_key, ORIGIN)
    with make_ledger(f"sqlite:///{tmp_path / 'a.db'}", log_key, 6) as led:
        known = open_checkpoint(Checkpoint(ORIGIN, 6, led.root()).sign(log_key), vkey)
        for i in range(3):
            led.append("generate", {"i": i}, outputs=[f"{i + 50:064x}"])
        require_extends(known, led.size, led.root(), led.consistency_proof, what="memory")
        with make_ledger(f"sqlite:///{tmp_path / 'b.db'}", log_key, 9) as other:
            with pytest.raises(LedgerIntegrityError, match="refusing to sign") as err:
                require_extends(
                    known,
                    other.size,
                    other.root(),
                    other.consistency_proof,
                    what="the last checkpoint this key signed",
                )
            assert "size 9" in str(err.value) and "size 6" in str(err.value)
        with pytest.raises(LedgerIntegrityError, match="does not extend"):
            require_extends(known, 5, bytes(32), led.consistency_proof, what="memory")


def _size(cp: Checkpoint | None) -> int:
    assert cp is not None
    return cp.size
