"""The audit names the first bad index and the kind of damage, one case per kind, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, text

from ledger import Ledger, merkle
from ledger.audit import audit
from ledger.checkpoint import Checkpoint, generate_log_key
from tests.ledger.ledger_helpers import ORIGIN, make_ledger


def _modify(c: Connection, led: Ledger, key: Ed25519PrivateKey) -> None:
    leaf = c.execute(text("SELECT leaf FROM ledger_entry WHERE idx = 3")).scalar_one()
    c.execute(
        text("UPDATE ledger_entry SET leaf = :l WHERE idx = 3"),
        {"l": bytes(leaf).replace(b'"n":3', b'"n":9')},
    )


def _delete(c: Connection, led: Ledger, key: Ed25519PrivateKey) -> None:
    c.execute(text("DELETE FROM ledger_entry WHERE idx = 3"))


def _swap(c: Connection, led: Ledger, key: Ed25519PrivateKey) -> None:
    c.execute(text("UPDATE ledger_entry SET idx = -1 WHERE idx = 2"))
    c.execute(text("UPDATE ledger_entry SET idx = 2 WHERE idx = 5"))
    c.execute(text("UPDATE ledger_entry SET idx = 5 WHERE idx = -1"))


def _insert(c: Connection, led: Ledger, key: Ed25519PrivateKey) -> None:
    c.execute(text("UPDATE ledger_entry SET idx = idx + 1000 WHERE idx >= 4"))
    c.execute(text("UPDATE ledger_entry SET idx = idx - 999 WHERE idx >= 1000"))
    forged = led.at(3).leaf.replace(b'"index":3', b'"index":4').replace(b'"n":3', b'"n":99')
    c.execute(
        text(
            "INSERT INTO ledger_entry (idx, entry_id, kind, ts, leaf) "
            "VALUES (4, '00000000-0000-7000-8000-000000000000', 'generate', 0, :l)"
        ),
        {"l": forged},
    )
    c.execute(text("UPDATE ledger_head SET size = size + 1"))


def _rewrite_node(c: Connection, led: Ledger, key: Ed25519PrivateKey) -> None:
    c.execute(
        text("UPDATE ledger_node SET hash = :h WHERE pos = :p"),
        {"h": bytes(32), "p": merkle.node_key(1, 1)},
    )


def _forge_checkpoint(c: Connection, led: Ledger, key: Ed25519PrivateKey) -> None:
    note = Checkpoint(ORIGIN, 10, led.root()).sign(generate_log_key())
    c.execute(
        text("INSERT INTO ledger_checkpoint (size, root, note, ts) VALUES (10, :r, :n, 0)"),
        {"r": led.root(), "n": note},
    )


def _inconsistent_checkpoint(c: Connection, led: Ledger, key: Ed25519PrivateKey) -> None:
    note = Checkpoint(ORIGIN, 10, bytes(32)).sign(key)
    c.execute(
        text("INSERT INTO ledger_checkpoint (size, root, note, ts) VALUES (10, :r, :n, 0)"),
        {"r": bytes(32), "n": note},
    )


class Damage(NamedTuple):
    name: str
    do: Callable[[Connection, Ledger, Ed25519PrivateKey], None]
    at: int
    kind: str


CASES = [
    Damage("modified row", _modify, 3, "modified"),
    Damage("deleted row", _delete, 3, "deleted"),
    Damage("two rows swapped", _swap, 2, "swapped"),
    Damage("inserted row", _insert, 4, "inserted"),
    Damage("rewritten subtree hash", _rewrite_node, 2, "subtree_hash"),
    Damage("forged checkpoint", _forge_checkpoint, 10, "checkpoint_forged"),
    Damage("inconsistent checkpoint", _inconsistent_checkpoint, 10, "checkpoint_inconsistent"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_audit_names_damage(any_url: str, log_key: Ed25519PrivateKey, case: Damage) -> None:
    with make_ledger(any_url, log_key, 10) as led:
        led.checkpoint()
        clean = led.audit()
        assert clean.ok and clean.size == 10 and clean.checkpoints_checked == 1
        with led.engine.begin() as conn:
            case.do(conn, led, log_key)
        report = led.audit()
        assert not report.ok
        index, kind, detail = report.problems[0]
        assert (index, kind) == (case.at, case.kind), report.problems
        assert detail and f'"kind": "{case.kind}"' in report.to_json()
        # The same answer when a helper process checks the upper half of 2-entry chunks.
        assert audit(led, chunk_bits=1, workers=2).problems == report.problems
