"""Witness fixtures: real ledgers (SQLite) for real notes and proofs, real witnesses on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import Ledger
from ledger.checkpoint import Checkpoint, generate_log_key
from ledger.witness.home import add_log, init_witness, load_witness
from ledger.witness.server import BackgroundServer, make_app

ORIGIN = "test.example/log"


class Log:
    """A ledger with its log key; ``grow(n)`` appends n entries and signs a checkpoint."""

    def __init__(self, path: Path, key: Ed25519PrivateKey, origin: str = ORIGIN) -> None:
        url = f"sqlite:///{path}"
        Ledger.create(url, origin=origin, log_key=key).close()
        self.key = key
        self.led = Ledger.open(url, log_key=key, checkpoint_every=None, checkpoint_interval=None)
        self.vkey = str(self.led.verifier_key)

    def grow(self, n: int, tag: str = "") -> Checkpoint:
        for _ in range(n):
            self.led.append("generate", {"n": self.led.size, "tag": tag})
        return self.led.checkpoint()

    def proof(self, old: int, new: int) -> list[bytes]:
        return self.led.consistency_proof(old, new)


class RunningWitness:
    """A witness directory and its server; ``restart()`` serves the same directory anew."""

    def __init__(self, directory: Path, name: str) -> None:
        self.dir, self.name = directory, name
        self.vkey = init_witness(directory, name)
        self.server: BackgroundServer | None = None

    def start(self) -> str:
        self.server = BackgroundServer(make_app(load_witness(self.dir)))
        return self.server.start()

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart(self) -> str:
        self.stop()
        return self.start()

    def post(self, body: bytes) -> httpx2.Response:
        return httpx2.post(self.url + "/add-checkpoint", content=body, timeout=10)


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    lg = Log(tmp_path / "ledger.db", generate_log_key())
    yield lg
    lg.led.close()


@pytest.fixture
def witness(tmp_path: Path, log: Log) -> Iterator[RunningWitness]:
    w = RunningWitness(tmp_path / "w1", "witness.example/w1")
    add_log(w.dir, log.vkey)
    w.start()
    yield w
    w.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh ledger database URL: an SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'witnessed.db'}"
    return str(request.getfixturevalue("pg_url"))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
