"""The bulk audit: chunk boundaries, high stored nodes, and index rows checked against the leaves."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, text

from ledger import AppendRequest, Ledger, merkle
from ledger.audit import audit
from tests.ledger.ledger_helpers import make_ledger


def _linked_ledger(url: str, key: Ed25519PrivateKey) -> Ledger:
    """37 entries: the odd ones edit the one before, with two outputs and a fingerprint each."""
    led = make_ledger(url, key)
    prev = None
    for i in range(37):
        out = [f"{i:064x}", f"{i + 1000:064x}"] if i % 2 else [f"{i:064x}"]
        led.append_many(
            [
                AppendRequest(
                    "edit" if prev else "generate",
                    {"n": i},
                    outputs=out,
                    inputs=[f"{i - 1:064x}"] if prev else [],
                    parents=[prev] if prev else [],
                    fingerprints=[(out[0], "phash", 2**64 - 1 - i), (out[0], "dhash", i)],
                )
            ]
        )
        prev = led.at(i).id if i % 2 == 0 else None
        if i in (4, 16, 33):
            led.checkpoint()
    return led


def test_small_chunks_agree_with_the_tree(sqlite_url: str, log_key: Ed25519PrivateKey) -> None:
    with _linked_ledger(sqlite_url, log_key) as led:
        for bits, workers in ((0, 1), (1, 2), (2, 1), (2, 2), (5, 2), (16, 2)):
            report = audit(led, chunk_bits=bits, workers=workers)
            assert report.ok and report.size == 37 and report.checkpoints_checked == 3, bits
        with led.engine.begin() as c:  # a level-4 node lies above 4-leaf chunks
            c.execute(
                text("UPDATE ledger_node SET hash = :h WHERE pos = :p"),
                {"h": bytes(32), "p": merkle.node_key(4, 1)},
            )
        for workers in (1, 2):  # the node lies in the helper's half of the chunks
            report = audit(led, chunk_bits=2, workers=workers)
            assert report.problems[0][:2] == (16, "subtree_hash"), report.problems


def _artifact_changed(c: Connection) -> None:
    c.execute(
        text("UPDATE ledger_artifact SET sha256 = :s WHERE entry_idx = 5 AND role = 'input'"),
        {"s": "f" * 64},
    )


def _artifact_added(c: Connection) -> None:
    c.execute(
        text("INSERT INTO ledger_artifact (entry_idx, role, sha256) VALUES (500, 'output', :s)"),
        {"s": "e" * 64},
    )


def _parent_deleted(c: Connection) -> None:
    c.execute(text("DELETE FROM ledger_parent WHERE child_idx = 7"))


def _fingerprint_changed(c: Connection) -> None:
    c.execute(
        text(
            "UPDATE ledger_fingerprint SET value = 12345 WHERE id = "
            "(SELECT min(id) FROM ledger_fingerprint WHERE kind = 'dhash' AND value = 9)"
        )
    )


def _fingerprint_added(c: Connection) -> None:
    c.execute(
        text(
            "INSERT INTO ledger_fingerprint (entry_id, output, kind, value) "
            "VALUES ('00000000-0000-7000-8000-000000000000', :o, 'phash', 1)"
        ),
        {"o": "0" * 64},
    )


def _late_artifact_changed(c: Connection) -> None:  # in the helper's half at 2-bit chunks
    c.execute(
        text("UPDATE ledger_artifact SET sha256 = :s WHERE entry_idx = 30 AND role = 'output'"),
        {"s": "f" * 64},
    )


def _late_fingerprint_changed(c: Connection) -> None:
    c.execute(text("UPDATE ledger_fingerprint SET value = 7 WHERE kind = 'dhash' AND value = 31"))


class IndexDamage(NamedTuple):
    name: str
    do: Callable[[Connection], None]
    at: int
    table: str


INDEX_CASES = [
    IndexDamage("artifact row changed", _artifact_changed, 5, "artifact"),
    IndexDamage("artifact row added", _artifact_added, 37, "artifact"),
    IndexDamage("parent row deleted", _parent_deleted, 7, "parent"),
    IndexDamage("fingerprint value changed", _fingerprint_changed, 9, "fingerprint"),
    IndexDamage("fingerprint row added", _fingerprint_added, 37, "fingerprint"),
    IndexDamage("artifact row changed late", _late_artifact_changed, 30, "artifact"),
    IndexDamage("fingerprint value changed late", _late_fingerprint_changed, 31, "fingerprint"),
]


@pytest.mark.parametrize("case", INDEX_CASES, ids=[c.name for c in INDEX_CASES])
def test_index_rows_must_match_leaves(
    any_url: str, log_key: Ed25519PrivateKey, case: IndexDamage
) -> None:
    with _linked_ledger(any_url, log_key) as led:
        assert led.audit().ok
        with led.engine.begin() as conn:
            case.do(conn)
        # Two workers at 2-bit chunks: rows of both halves (entries 5-9 parent, 18-36 helper).
        for bits, workers in ((2, 1), (2, 2), (3, 2), (16, 1)):
            report = audit(led, chunk_bits=bits, workers=workers)
            assert not report.ok
            index, kind, detail = report.problems[0]
            assert (index, kind) == (case.at, "index"), report.problems
            assert case.table in detail
