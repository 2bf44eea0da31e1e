"""The store on real SQLite and PostgreSQL: appends, lookups, lineage, secrets, proofs, faults."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, text

from ledger import AppendRequest, Ledger, LedgerError, merkle
from ledger.checkpoint import generate_log_key, open_checkpoint
from ledger.errors import (
    CorruptLedgerError,
    InvalidEntryError,
    LedgerExistsError,
    LedgerNotFoundError,
    NotALedgerError,
    SchemaTooNewError,
    UnknownEntryError,
    WrongLogKeyError,
)
from tests.ledger.ledger_helpers import ORIGIN, make_ledger

SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64


def test_append_lookup_lineage_and_proofs(any_url: str, log_key: Ed25519PrivateKey) -> None:
    with make_ledger(any_url, log_key) as led:
        eid = led.new_entry_id()
        root = led.append(
            "generate",
            {"model": "m", "n": 1},
            entry_id=eid,
            outputs=[SHA_A],
            fingerprints=[(SHA_A, "phash", 2**64 - 1)],
            secret="a red fox",
        )
        assert root.id == eid and root.index == 0 and root.leaf_hash == merkle.leaf_hash(root.leaf)
        child, twin = led.append_many(
            [
                AppendRequest(
                    "edit",
                    {"op": "crop"},
                    outputs=[SHA_B],
                    inputs=[SHA_A],
                    parents=[eid],
                    fingerprints=[(SHA_B, "phash", 2**64 - 2)],
                ),
                AppendRequest(
                    "edit", {"op": "gray"}, outputs=[SHA_C], inputs=[SHA_A], parents=[eid]
                ),
            ]
        )
        grand = led.append("edit", {}, parents=[child.id, twin.id])
        assert led.size == 4 and led.at(2) == twin and led.get(eid) == root
        assert led.find_by_output(SHA_B) == [child] and led.find_by_input(SHA_A) == [child, twin]
        assert led.children(eid) == [child, twin]
        assert [e.id for e in led.lineage(grand.id)] == [grand.id, child.id, twin.id, eid]
        assert [e.index for e in led.recent(2)] == [3, 2]
        assert [e.index for e in led.iter_entries(kinds=["edit"])] == [1, 2, 3]
        assert led.fingerprints_of(SHA_A) == {"phash": -1}
        hits = led.search_fingerprints("phash", 2**64 - 1, 1)
        assert [(h.output, h.distance) for h in hits] == [(SHA_A, 0), (SHA_B, 1)]
        led.append("generate", {}, outputs=[SHA_C], fingerprints=[(SHA_C, "phash", 2**64 - 1)])
        assert len(led.search_fingerprints("phash", -1, 0)) == 2  # the cache picks up new rows
        # secrets live outside the leaf: erasing one keeps the tree and the audit clean
        assert led.secret(eid) == "a red fox" and b"red fox" not in root.leaf
        cp1 = led.checkpoint()
        erased = led.erase_secret(eid, reason="GDPR request", actor="desk")
        assert erased.kind == "erasure" and led.secret(eid) is None
        cp2 = led.checkpoint()
        proof = led.consistency_proof(cp1.size, cp2.size)
        assert merkle.verify_consistency(cp1.size, cp2.size, cp1.root, cp2.root, proof)
        for i in range(led.size):
            assert merkle.verify_inclusion(
                led.at(i).leaf_hash, i, cp2.size, led.inclusion_proof(i, cp2.size), cp2.root
            )
        assert led.root() == cp2.root == merkle.root_of([led.at(i).leaf_hash for i in range(6)])
        assert led.audit().ok


def test_bad_appends_write_nothing(sqlite_url: str, log_key: Ed25519PrivateKey) -> None:
    with make_ledger(sqlite_url, log_key, 2) as led:
        bad = [
            dict(kind="Bad Kind", body={}),
            dict(kind="x", body={}, outputs=["nothex"]),
            dict(kind="x", body={}, parents=["00000000-0000-7000-8000-000000000000"]),
            dict(kind="x", body={"f": float("nan")}),
            dict(kind="x", body={}, entry_id=led.at(0).id),
            dict(kind="x", body={}, outputs=[SHA_A], fingerprints=[(SHA_B, "phash", 1)]),
        ]
        for kwargs in bad:
            with pytest.raises(LedgerError):
                led.append(**kwargs)  # type: ignore[arg-type]
        with pytest.raises(InvalidEntryError):  # a batch is all or nothing
            led.append_many([AppendRequest("ok", {}), AppendRequest("x", {}, outputs=["zz"])])
        assert led.size == 2 and led.audit().ok
        with pytest.raises(UnknownEntryError):
            led.erase_secret(led.at(0).id, reason="r", actor="a")


def test_before_commit_runs_before_the_append_is_durable(
    any_url: str, log_key: Ed25519PrivateKey
) -> None:
    """The recorder's temp files must be durable before their entries: ``before_commit`` runs
    while no other reader can see the append yet, and its error appends nothing."""
    with make_ledger(any_url, log_key) as led, Ledger.open(any_url) as other:
        seen: list[int] = []
        entry = led.append_many(
            [AppendRequest("generate", {"n": 1})], before_commit=lambda: seen.append(other.size)
        )[0]
        assert seen == [0] and entry.index == 0 and other.size == 1

        def fail() -> None:
            raise OSError("the temp file's fsync failed")

        with pytest.raises(OSError, match="fsync failed"):
            led.append_many([AppendRequest("generate", {"n": 2})], before_commit=fail)
        assert led.size == other.size == 1
        assert led.append("generate", {"n": 3}).index == 1 and led.audit().ok


def test_open_faults(tmp_path: Path, log_key: Ed25519PrivateKey) -> None:
    with pytest.raises(LedgerNotFoundError, match="provenance init"):
        Ledger.open(f"sqlite:///{tmp_path / 'missing.db'}")
    assert not (tmp_path / "missing.db").exists()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"hello, not a database" * 100)
    with pytest.raises(NotALedgerError):
        Ledger.open(f"sqlite:///{junk}")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE photos (id INTEGER)")
    with pytest.raises(NotALedgerError):
        Ledger.open(f"sqlite:///{other}")
    url = f"sqlite:///{tmp_path / 'l.db'}"
    make_ledger(url, log_key, 300).close()
    with pytest.raises(LedgerExistsError):
        Ledger.create(url, origin=ORIGIN)
    with pytest.raises(WrongLogKeyError):
        Ledger.open(url, log_key=generate_log_key())
    newer = create_engine(url)
    with newer.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    newer.dispose()
    with pytest.raises(SchemaTooNewError, match="newer"):
        Ledger.open(url)
    with newer.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    newer.dispose()
    data = (tmp_path / "l.db").read_bytes()
    (tmp_path / "l.db").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptLedgerError, match="truncated"):
        Ledger.open(url)


def test_checkpoints_need_the_key_and_are_cut_every_n(
    sqlite_url: str, log_key: Ed25519PrivateKey
) -> None:
    make_ledger(sqlite_url, log_key).close()
    with Ledger.open(sqlite_url) as ro:
        ro.append("x", {})
        with pytest.raises(LedgerError, match="log key"):
            ro.checkpoint()
    with Ledger.open(
        sqlite_url, log_key=log_key, checkpoint_every=5, checkpoint_interval=None
    ) as led:
        for _ in range(11):
            led.append("x", {})
        assert [c.size for c in led.checkpoints()] == [5, 10]
        cp = led.latest_checkpoint()
        assert cp is not None and open_checkpoint(cp.note, str(led.verifier_key)).size == 10
