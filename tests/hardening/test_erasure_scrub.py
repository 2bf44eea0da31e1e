"""Issue 13: erasing a prompt leaves no copy in the files the project controls.

SQLite: the database file and its WAL are read byte for byte after the erasure. Before the fix
the WAL still held the inserted page (and the file's freed cell kept the text wherever SQLite is
built without secure delete). PostgreSQL: the secret table's raw heap pages (``pageinspect``)
still held the deleted row, as no VACUUM ran.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from provenance.home.identity import create_local_identity
from provenance.home.ledger import create_ledger, open_ledger
from provenance.home.paths import ENV_HOME, ENV_LEDGER_URL, Home
from provenance.record.recorder import Recorder


def _record_and_erase(home: Home, work: Path, token: str) -> Callable[[], None]:
    with Recorder(home) as rec:
        [out] = rec.generate(f"A red circle {token}", work / "a.png", size="64x64")

    def erase() -> None:
        with open_ledger(home) as ledger:
            ledger.erase_secret(out.entry_id, reason="GDPR art. 17", actor="dpo@example.org")
            assert ledger.secret(out.entry_id) is None

    return erase


def _sqlite_bytes(home: Home) -> bytes:
    db = home.ledger_db
    parts = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-journal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def _pg_pages(url: str, table: str = "ledger_secret") -> bytes:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public"))
            blocks = conn.execute(
                text(f"SELECT pg_relation_size('{table}') / current_setting('block_size')::int")
            ).scalar_one()
            pages = [
                bytes(
                    conn.execute(text(f"SELECT public.get_raw_page('{table}', {i})")).scalar_one()
                )
                for i in range(int(blocks))
            ]
    finally:
        engine.dispose()
    return b"".join(pages)


@pytest.mark.parametrize("repeat", [1, 3], ids=["one", "three"])
def test_sqlite_erasure_leaves_no_copy_in_db_or_wal(home: Home, workdir: Path, repeat: int) -> None:
    tokens = [f"ERASE-ME-{uuid.uuid4().hex}" for _ in range(repeat)]
    # Another process keeps the ledger open (a server, a batch job): the WAL then outlives each
    # connection of ours instead of being folded in and deleted when the last one closes.
    held = sqlite3.connect(home.ledger_db)
    held.execute("SELECT size FROM ledger_head").fetchall()
    erasers = []
    for i, token in enumerate(tokens):
        sub = workdir / str(i)
        sub.mkdir()
        erasers.append(_record_and_erase(home, sub, token))
    assert all(t.encode() in _sqlite_bytes(home) for t in tokens)  # it was stored
    for erase in erasers:
        erase()
    data = _sqlite_bytes(home)
    held.close()
    assert [t for t in tokens if t.encode() in data] == []


@pytest.mark.postgres
def test_postgres_erasure_leaves_no_copy_in_the_heap(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = Home(tmp_path / "home")
    monkeypatch.setenv(ENV_HOME, str(home.root))
    monkeypatch.setenv(ENV_LEDGER_URL, pg_url)
    create_local_identity(home, actor="pg@example.org")
    create_ledger(home)
    token = f"ERASE-ME-{uuid.uuid4().hex}"
    erase = _record_and_erase(home, tmp_path, token)
    assert token.encode() in _pg_pages(pg_url)
    erase()
    assert token.encode() not in _pg_pages(pg_url)
