"""SQLite ledger files answer lookups and proofs on their own DB-API connection; the answers must
be exactly those of the SQLAlchemy path (used for other databases and URLs with options)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import Ledger
from ledger.errors import LedgerError, LedgerIntegrityError
from ledger.merkle import inclusion_ranges, verify_inclusion
from ledger.storage import EngineStorage, SqliteFileStorage
from tests.ledger.ledger_helpers import make_ledger


def _both(tmp_path: Path, log_key: Ed25519PrivateKey, n: int) -> tuple[Ledger, Ledger]:
    path = tmp_path / "l.db"
    make_ledger(f"sqlite:///{path}", log_key, n).close()
    fast = Ledger.open(f"sqlite:///{path}", checkpoint_every=None)
    engine = Ledger.open(f"sqlite:///{path}?timeout=30", checkpoint_every=None)  # options: engine
    assert isinstance(fast.storage, SqliteFileStorage)
    assert isinstance(engine.storage, EngineStorage)
    return fast, engine


def test_raw_reads_equal_the_engine_path(tmp_path: Path, log_key: Ed25519PrivateKey) -> None:
    fast, engine = _both(tmp_path, log_key, 37)
    with fast, engine:
        for i in (0, 1, 17, 36):
            e = fast.at(i)
            assert e == engine.at(i)
            assert fast.get(e.id) == engine.get(e.id) == e
            assert fast.find_by_output(f"{i:064x}") == engine.find_by_output(f"{i:064x}") == [e]
            for size in (i + 1, 20, 37):
                if i < size:
                    proof = fast.inclusion_proof(i, size)
                    assert proof == engine.inclusion_proof(i, size)
                    assert verify_inclusion(e.leaf_hash, i, size, proof, engine.root(size))
        for old, new in ((0, 37), (1, 37), (13, 29), (36, 37)):
            assert fast.consistency_proof(old, new) == engine.consistency_proof(old, new)
        assert fast.get("00000000-0000-7000-8000-000000000000") is None
        assert fast.find_by_output("f" * 64) == []


def test_raw_reads_report_damage_and_bad_sizes(tmp_path: Path, log_key: Ed25519PrivateKey) -> None:
    fast, engine = _both(tmp_path, log_key, 9)
    with fast, engine:
        with pytest.raises(LedgerError, match="has 9 entries"):
            fast.inclusion_proof(0, 10)
        with sqlite3.connect(tmp_path / "l.db") as db:
            db.execute("DELETE FROM ledger_node WHERE pos = (SELECT max(pos) FROM ledger_node)")
        for led in (fast, engine):
            with pytest.raises(LedgerIntegrityError, match="missing"):
                for i in range(9):
                    led.inclusion_proof(i, 9)


def test_inclusion_proofs_from_the_node_cache_equal_fresh_ones_as_the_log_grows(
    tmp_path: Path, log_key: Ed25519PrivateKey
) -> None:
    """One ledger object answers every proof (most from the nodes it read for earlier ones,
    across block edges and as the log grows); each equals the proof a fresh reader builds and
    verifies against the root of its tree size."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    led = make_ledger(url, log_key, 70)
    try:
        for n in (70, 130, 131, 200):
            while led.size < n:
                led.append("generate", {"n": led.size}, outputs=[f"{led.size:064x}"])
            with Ledger.open(url, checkpoint_every=None) as fresh:
                for size in sorted({1, 63, 64, 65, 70, n - 1, n}):
                    root = fresh.root(size)
                    for i in range(size):
                        proof = led.inclusion_proof(i, size)
                        # the uncached read of the same ranges
                        assert proof == fresh.proofs._hashes(size, inclusion_ranges(i, size))
                        assert verify_inclusion(led.at(i).leaf_hash, i, size, proof, root)
        with pytest.raises(LedgerError, match="the ledger has 200 entries"):
            led.inclusion_proof(5, 201)
    finally:
        led.close()


@pytest.mark.parametrize("max_in", [500, 3])  # 3: many chunks, each in index order, merged
def test_grouped_output_lookup_equals_one_lookup_per_hash(
    tmp_path: Path, log_key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch, max_in: int
) -> None:
    import ledger.storage

    monkeypatch.setattr(ledger.storage, "MAX_IN", max_in)
    fast, engine = _both(tmp_path, log_key, 12)
    with fast, engine:
        shared = f"{5:064x}"  # recorded again by two later entries: all three, in index order
        fast.append("edit", {"n": "a"}, outputs=[shared, "ab" * 32])
        fast.append("edit", {"n": "b"}, outputs=["ab" * 32, shared], inputs=["cd" * 32])
        asked = [f"{i:064x}" for i in (11, 0, 5, 3)] + ["ab" * 32, "f" * 64, shared.upper()]
        asked += ["cd" * 32, f"{11:064x}"]  # an input only, and a repeat
        want = {h.lower(): fast.find_by_output(h) for h in asked if fast.find_by_output(h)}
        assert len(want[shared]) == 3 and "cd" * 32 not in want and "f" * 64 not in want
        for led in (fast, engine):
            got = led.find_by_outputs(asked)
            assert got == want
            assert [e.index for e in got[shared]] == sorted(e.index for e in got[shared])
        assert fast.find_by_outputs([]) == {}


def test_grouped_output_lookup_on_any_database(any_url: str, log_key: Ed25519PrivateKey) -> None:
    with make_ledger(any_url, log_key, 7) as led:
        led.append("edit", {"n": "a"}, outputs=[f"{2:064x}"])
        asked = [f"{i:064x}" for i in (6, 2, 0)] + ["e" * 64]
        want = {h: led.find_by_output(h) for h in asked if led.find_by_output(h)}
        assert led.find_by_outputs(asked) == want and len(want[f"{2:064x}"]) == 2
