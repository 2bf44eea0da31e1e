"""What an insider with write access to the database (and no log key) can do to it.

Each function edits the tables directly, as a hostile database writer would, and leaves a ledger
whose own structure is consistent again: leaves, subtree hashes and head all agree, so the audit
finds nothing. Only memory kept outside the database can notice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text

from ledger import merkle
from ledger.entry import canonical_json


def rewrite_entry(url: str, index: int, change: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite entry ``index``'s body, rebuild every subtree hash and the head, and delete the
    checkpoint rows (and their timestamps) that would contradict the new tree."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            rows = conn.execute(text("SELECT idx, leaf FROM ledger_entry ORDER BY idx")).all()
            leaves = [bytes(r[1]) for r in rows]
            doc = json.loads(leaves[index])
            change(doc["body"])
            leaves[index] = canonical_json(doc)
            conn.execute(
                text("UPDATE ledger_entry SET leaf = :leaf WHERE idx = :idx"),
                {"leaf": leaves[index], "idx": index},
            )
            _rebuild_tree(conn, leaves)
            conn.execute(text("DELETE FROM ledger_checkpoint_timestamp"))
            conn.execute(text("DELETE FROM ledger_checkpoint"))
    finally:
        engine.dispose()


def swap_verifier_key(url: str, vkey: str) -> None:
    """Put another verifier key into the ledger's metadata."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE ledger_meta SET value = :v WHERE key = 'verifier_key'"), {"v": vkey}
            )
    finally:
        engine.dispose()


def _rebuild_tree(conn: Any, leaves: list[bytes]) -> None:
    tree = merkle.MemoryTree([merkle.leaf_hash(leaf) for leaf in leaves])
    conn.execute(text("DELETE FROM ledger_node"))
    rows = [
        {"pos": merkle.node_key(level, i), "hash": h}
        for level, hashes in enumerate(tree.levels)
        for i, h in enumerate(hashes)
    ]
    if rows:
        conn.execute(text("INSERT INTO ledger_node (pos, hash) VALUES (:pos, :hash)"), rows)
    frontier = b"".join(tree.perfect(lv, ix) for lv, ix in merkle.perfect_pieces(0, tree.size))
    conn.execute(text("UPDATE ledger_head SET frontier = :f WHERE id = 1"), {"f": frontier})
