"""Tiles fixtures: a 3000-entry SQLite ledger published once per module, copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import AppendRequest, Ledger
from ledger.checkpoint import generate_log_key
from ledger.tiles import publish

ORIGIN = "tiles.example/log"
SIZE = 3000


def grow(led: Ledger, n: int, start: int = 0) -> None:
    """Append ``n`` entries in batches (one transaction each) and sign a checkpoint."""
    for lo in range(0, n, 500):
        led.append_many(
            [AppendRequest("generate", {"n": start + i}) for i in range(lo, min(n, lo + 500))]
        )
    led.checkpoint()


def make_ledger(url: str, key: Ed25519PrivateKey, n: int) -> Ledger:
    Ledger.create(url, origin=ORIGIN, log_key=key).close()
    led = Ledger.open(url, log_key=key, checkpoint_every=None, checkpoint_interval=None)
    if n:
        grow(led, n)
    return led


@dataclass
class Published:
    url: str
    key: Ed25519PrivateKey
    vkey: str
    directory: Path

    def open(self) -> Ledger:
        return Ledger.open(
            self.url, log_key=self.key, checkpoint_every=None, checkpoint_interval=None
        )


@pytest.fixture(scope="module")
def _published_once(tmp_path_factory: pytest.TempPathFactory) -> Published:
    root = tmp_path_factory.mktemp("published")
    key = generate_log_key()
    url = f"sqlite:///{root / 'ledger.db'}"
    with make_ledger(url, key, SIZE) as led:
        publish(led, root / "log")
        vkey = led.verifier_key
    assert vkey is not None
    return Published(url, key, vkey, root / "log")


@pytest.fixture
def published(_published_once: Published, tmp_path: Path) -> Iterator[Published]:
    """A private copy of the module's published ledger (database and directory)."""
    src = _published_once
    db = tmp_path / "ledger.db"
    shutil.copy(src.url.removeprefix("sqlite:///"), db)
    out = tmp_path / "log"
    shutil.copytree(src.directory, out)
    yield Published(f"sqlite:///{db}", src.key, src.vkey, out)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))
