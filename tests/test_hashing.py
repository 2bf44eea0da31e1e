"""Content hashes: the SHA-256 hashed beside other work is the file's SHA-256."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from provenance.media import hashing


@pytest.mark.parametrize("size", [0, 1, hashing.ALONGSIDE_MIN_BYTES - 1, 3 * 1024 * 1024])
@pytest.mark.parametrize("alongside", [True, False])
def test_the_hash_alongside_is_the_sha256(
    size: int, alongside: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "alongside", alongside)
    data = os.urandom(size)
    assert hashing.sha256_alongside(data)() == hashlib.sha256(data).hexdigest()


def test_a_large_input_is_hashed_on_the_background_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hashing, "alongside", True)
    where: list[str] = []
    real = hashing.sha256_bytes

    def noting(data: bytes) -> str:
        where.append(threading.current_thread().name)
        return real(data)

    monkeypatch.setattr(hashing, "sha256_bytes", noting)
    hashing.sha256_alongside(b"x" * hashing.ALONGSIDE_MIN_BYTES)()
    hashing.sha256_alongside(b"x" * 100)()
    assert where[0].startswith("provenance-background") and where[1] == "MainThread"
