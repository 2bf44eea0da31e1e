"""verify's fingerprint index on a real SQLite and PostgreSQL ledger: finds every stored value
within the radius, closest first, and picks up rows appended after it was loaded."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from ledger import AppendRequest, Ledger
from ledger.fingerprint_index import FingerprintIndex
from provenance.recovery.fingerprint import hamming, to_signed64


def _req(i: int, value: int) -> AppendRequest:
    sha = hashlib.sha256(b"out%d" % i).hexdigest()
    return AppendRequest(
        kind="generate",
        body={},
        outputs=[sha],
        fingerprints=[(sha, "phash", to_signed64(value)), (sha, "dhash", to_signed64(~value))],
    )


def _check(url: str) -> None:
    rng = random.Random(5)
    values = [rng.getrandbits(64) for _ in range(3_000)]
    query = values[17] ^ 0b1011  # 3 bits from a stored value
    Ledger.create(url, origin="test.example/log").close()
    with Ledger.open(url, log_key=None, checkpoint_every=None) as led:
        led.append_many([_req(i, v) for i, v in enumerate(values)])
        index = FingerprintIndex(led, "phash")
        hits = index.search(query, 16, 50)
        want = sorted(
            (hamming(query, v), i) for i, v in enumerate(values) if hamming(query, v) <= 16
        )
        assert [h.distance for h in hits] == [d for d, _ in want][:50]
        assert hits[0].output == hashlib.sha256(b"out17").hexdigest()
        assert hits[0].distance == 3
        led.append_many([_req(10_000, query)])  # an exact one, appended after loading
        assert index.search(query, 0, 5)[0].output == hashlib.sha256(b"out10000").hexdigest()
        assert len(index.values) == len(values) + 1  # dhash rows are not loaded


def test_index_on_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'l.db'}")


@pytest.mark.postgres
def test_index_on_postgres(pg_url: str) -> None:
    _check(pg_url)
