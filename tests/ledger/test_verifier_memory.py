"""The verifier's memory: a log that rewrites or truncates what a verifier saw is a fork alarm."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import Ledger
from ledger.checkpoint import Checkpoint, generate_log_key, open_checkpoint, verifier_key
from ledger.errors import ForkDetectedError, MalformedNoteError
from ledger.verifier_memory import CheckpointMemory, split_notes
from tests.ledger.ledger_helpers import ORIGIN, make_ledger


def _signed(led: Ledger, key: Ed25519PrivateKey) -> Checkpoint:
    note = Checkpoint(ORIGIN, led.size, led.root()).sign(key)
    return open_checkpoint(note, verifier_key(key, ORIGIN))


def test_consistent_growth_is_remembered(
    tmp_path: Path, sqlite_url: str, log_key: Ed25519PrivateKey
) -> None:
    vkey = verifier_key(log_key, ORIGIN)
    memory = CheckpointMemory(tmp_path / "state")
    with make_ledger(sqlite_url, log_key, 5) as led:
        assert memory.advance(_signed(led, log_key), vkey, led.consistency_proof).size == 5
        for i in range(7):
            led.append("generate", {"more": i}, outputs=[f"{i + 100:064x}"])
        assert memory.advance(_signed(led, log_key), vkey, led.consistency_proof).size == 12
        # an older (consistent) checkpoint does not move the memory back, and is no alarm
        assert _size(memory.last(vkey)) == 12
    assert len(memory.remembered()) == 1
    assert split_notes("\n".join(memory.remembered()))[0].startswith(ORIGIN)


@pytest.mark.parametrize("attack", ["truncate", "rewrite-same-size", "rewrite-and-grow"])
def test_key_holder_rewrite_after_a_verifier_saw_a_checkpoint_is_a_fork(
    tmp_path: Path, log_key: Ed25519PrivateKey, attack: str
) -> None:
    vkey = verifier_key(log_key, ORIGIN)
    memory = CheckpointMemory(tmp_path / "state")
    honest = make_ledger(f"sqlite:///{tmp_path / 'a.db'}", log_key, 8)
    memory.advance(_signed(honest, log_key), vkey, honest.consistency_proof)
    # the key holder builds another history (it can sign anything) and shows it next
    n = {"truncate": 5, "rewrite-same-size": 8, "rewrite-and-grow": 12}[attack]
    forged = make_ledger(f"sqlite:///{tmp_path / 'b.db'}", log_key, 0)
    for i in range(n):
        forged.append("generate", {"n": i, "forged": True}, outputs=[f"{i:064x}"])
    shown = _signed(forged, log_key)
    with pytest.raises(ForkDetectedError) as err:
        memory.advance(shown, vkey, forged.consistency_proof)
    assert "fork alarm" in str(err.value)
    # both signed notes are the evidence, and both verify offline with the public key
    assert open_checkpoint(err.value.previous, vkey).size == 8
    assert open_checkpoint(err.value.current, vkey).size == n
    assert _size(memory.last(vkey)) == 8  # memory unchanged
    honest.close()
    forged.close()


def test_memory_is_per_log_key(tmp_path: Path, sqlite_url: str, log_key: Ed25519PrivateKey) -> None:
    memory = CheckpointMemory(tmp_path / "state")
    other = generate_log_key()
    with make_ledger(sqlite_url, log_key, 3) as led:
        memory.advance(_signed(led, log_key), verifier_key(log_key, ORIGIN), led.consistency_proof)
        assert memory.last(verifier_key(other, ORIGIN)) is None


def test_split_notes_rejects_a_note_without_signatures() -> None:
    with pytest.raises(MalformedNoteError):
        split_notes("example.org/log\n3\n" + "A" * 43 + "=\n")


def _size(cp: Checkpoint | None) -> int:
    assert cp is not None
    return cp.size
