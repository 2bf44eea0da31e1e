"""Proofs: inclusion and consistency proofs and roots from stored subtree hashes, and the one
check that an entry's leaf is included in a signed checkpoint.

Example::

    >>> from ledger import Ledger
    >>> from ledger.checkpoint import generate_log_key
    >>> from ledger.proofs import is_included
    >>> led = Ledger.create("sqlite://", origin="example.org/log", log_key=generate_log_key())
    >>> e = led.append("generate", {"model": "m"})
    >>> cp = led.checkpoint()
    >>> is_included(e.leaf, e.index, led.inclusion_proof(e.index, cp.size), cp.note,
    ...             led.verifier_key or "")
    True
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import Connection, select

from ledger import merkle
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.errors import LedgerError, LedgerIntegrityError
from ledger.models import HEAD as H
from ledger.storage import Storage, read_nodes


@functools.lru_cache(maxsize=64)
def signed_checkpoint(note: str, verifier_key: str) -> Checkpoint:
    """The checkpoint a signed note states, once its signature verifies with ``verifier_key``
    (raises otherwise). Pure, so a batch checks each note once."""
    return open_checkpoint(note, verifier_key)


def is_included(
    leaf: bytes, index: int, proof: Sequence[bytes], note: str, verifier_key: str
) -> bool:
    """Whether ``leaf`` is entry ``index`` of the tree the signed checkpoint ``note`` commits to.

    The signature is checked first (a note that does not verify raises, as
    :func:`signed_checkpoint`), then the inclusion proof against the note's size and root.
    """
    cp = signed_checkpoint(note, verifier_key)
    return merkle.verify_inclusion(merkle.leaf_hash(leaf), index, cp.size, list(proof), cp.root)


def _fold(pieces: list[list[merkle.Node]], found: dict[int, bytes]) -> list[bytes]:
    try:
        return [
            merkle.fold_pieces([found[merkle.node_key(lv, ix)] for lv, ix in ps]) for ps in pieces
        ]
    except KeyError:
        raise LedgerIntegrityError(
            "stored subtree hashes are missing; run `provenance ledger audit`"
        ) from None


def hashes_in(conn: Connection, ranges: list[merkle.Range]) -> list[bytes]:
    """The hashes of leaf ranges, read on ``conn`` (inside the caller's transaction)."""
    pieces = [merkle.perfect_pieces(lo, hi) for lo, hi in ranges]
    keys = [merkle.node_key(lv, ix) for ps in pieces for lv, ix in ps]
    return _fold(pieces, read_nodes(conn, keys))


# An inclusion proof that misses the cache also reads every stored node inside the aligned
# block of this many leaves around its index: the next files of a batch (usually neighbours in
# the log) then find their proofs without a query.
_BLOCK_LEVEL = 6
_MAX_CACHED = 1 << 16


def _block_keys(index: int, tree_size: int) -> list[int]:
    """The perfect nodes whose leaves all lie in ``index``'s block and inside the tree."""
    lo = index >> _BLOCK_LEVEL << _BLOCK_LEVEL
    hi = min(tree_size, lo + (1 << _BLOCK_LEVEL))
    return [
        merkle.node_key(lv, ix)
        for lv in range(_BLOCK_LEVEL + 1)
        for ix in range(lo >> lv, hi >> lv)
        if (ix + 1) << lv <= hi
    ]


class Proofs:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        # Stored subtree hashes already read for inclusion proofs. A perfect subtree's hash
        # never changes as the log grows, and every proof is checked against a signed root by
        # whoever uses it, so a hash read once serves the proofs that follow.
        self._nodes: dict[int, bytes] = {}
        self._size = 0  # the largest head size read with them

    def _hashes(self, tree_size: int, ranges: list[merkle.Range]) -> list[bytes]:
        pieces = [merkle.perfect_pieces(lo, hi) for lo, hi in ranges]
        keys = list(dict.fromkeys(merkle.node_key(lv, ix) for ps in pieces for lv, ix in ps))
        size, found = self.storage.subtree_hashes(keys)
        if not 0 <= tree_size <= size:
            raise LedgerError(f"tree size {tree_size}: the ledger has {size} entries")
        return _fold(pieces, found)

    def inclusion(self, index: int, tree_size: int) -> list[bytes]:
        if not 0 <= index < tree_size:
            raise LedgerError(f"index {index}: not in a tree of size {tree_size}")
        pieces = [
            merkle.perfect_pieces(lo, hi) for lo, hi in merkle.inclusion_ranges(index, tree_size)
        ]
        keys = [merkle.node_key(lv, ix) for ps in pieces for lv, ix in ps]
        nodes = self._nodes
        if tree_size > self._size or not all(k in nodes for k in keys):
            extra = [k for k in _block_keys(index, tree_size) if k not in nodes]
            size, found = self.storage.subtree_hashes(list(dict.fromkeys(keys + extra)))
            if not 0 <= tree_size <= size:
                raise LedgerError(f"tree size {tree_size}: the ledger has {size} entries")
            if len(nodes) + len(found) > _MAX_CACHED:
                nodes.clear()
            nodes.update(found)
            self._size = max(self._size, size)
        return _fold(pieces, nodes)

    def consistency(self, old: int, new: int) -> list[bytes]:
        if not 0 <= old <= new:
            raise LedgerError(f"no consistency proof from size {old} to {new}")
        return self._hashes(new, merkle.consistency_ranges(old, new))

    def root(self, tree_size: int | None = None) -> bytes:
        if tree_size is not None:
            return self._hashes(tree_size, [(0, tree_size)])[0]
        with self.storage.engine.connect() as conn:
            blob = bytes(conn.execute(select(H.c.frontier).where(H.c.id == 1)).scalar_one())
        return head_root(blob)


def head_root(frontier: bytes) -> bytes:
    """The root from the head row's subtree hashes (32 bytes each, largest subtree first)."""
    return merkle.fold_pieces([frontier[i : i + 32] for i in range(0, len(frontier), 32)])
