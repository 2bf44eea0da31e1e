"""RFC 9162 Merkle tree hashing, inclusion and consistency proofs. Pure functions, no I/O.

Example::

    >>> from ledger.merkle import MemoryTree, leaf_hash, verify_inclusion
    >>> tree = MemoryTree([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
    >>> proof = tree.inclusion_proof(1, 3)
    >>> verify_inclusion(leaf_hash(b"b"), 1, 3, proof, tree.root(3))
    True

Proof elements are hashes of leaf ranges ``[lo, hi)``. A store keeps only *perfect* subtrees
(``2**level`` leaves starting at ``index * 2**level``); :func:`perfect_pieces` says which of them
make up a range, so building a proof costs O(log n) stored hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()

Range = tuple[int, int]
Node = tuple[
    int, int
]  # (level, index): the perfect subtree of leaves [index<<level, (index+1)<<level)


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


_NODE = b"\x01"  # RFC 9162 domain separation: 0x00 before a leaf, 0x01 before two children


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE + left + right).digest()


def node_hashes(pairs: bytes) -> bytes:
    """:func:`node_hash` of each 64-byte ``left || right`` pair in ``pairs``, concatenated."""
    sha, p = hashlib.sha256, _NODE
    return b"".join([sha(p + pairs[i : i + 64]).digest() for i in range(0, len(pairs), 64)])


def _split(n: int) -> int:
    """Largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def node_key(level: int, index: int) -> int:
    """Integer key of a perfect node, ordered as nodes are completed by successive appends."""
    last_leaf = ((index + 1) << level) - 1
    return last_leaf * 64 + level


def perfect_pieces(lo: int, hi: int) -> list[Node]:
    """The perfect subtrees, left to right, whose fold is ``MTH(D[lo:hi])`` for an RFC range."""
    pieces: list[Node] = []
    while lo < hi:
        size = hi - lo
        level = size.bit_length() - 1  # the largest power of two that fits
        # lo is aligned to every piece size in ranges produced by the RFC recursion.
        pieces.append((level, lo >> level))
        lo += 1 << level
    return pieces


def fold_pieces(hashes: Sequence[bytes]) -> bytes:
    """Hash of a range from its perfect pieces (left to right): folded from the right."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """Leaf ranges whose hashes form the inclusion proof of ``index`` in a tree of ``size``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()  # the RFC lists the path from the leaf upwards
    return out


def consistency_ranges(old: int, new: int) -> list[Range]:
    """Leaf ranges whose hashes form the consistency proof from ``old`` to ``new`` (RFC 9162 2.1.4.1)."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    out: list[Range] = []
    lo, hi, m, complete = 0, new, old, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                out.append((lo, hi))
            break
        k = _split(n)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    out.reverse()
    return out


def range_hash(lo: int, hi: int, perfect: Callable[[int, int], bytes]) -> bytes:
    """``MTH(D[lo:hi])`` from a lookup of perfect node hashes ``perfect(level, index)``."""
    return fold_pieces([perfect(level, idx) for level, idx in perfect_pieces(lo, hi)])


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """``MTH`` of a list of leaf hashes, in O(n) time and O(log n) memory."""
    stack: list[tuple[int, bytes]] = []  # (level, hash), levels strictly decreasing
    for h in leaf_hashes:
        level, acc = 0, h
        while stack and stack[-1][0] == level:
            acc = node_hash(stack.pop()[1], acc)
            level += 1
        stack.append((level, acc))
    return fold_pieces([h for _, h in stack])


def _inner_border(index: int, size: int) -> tuple[int, int]:
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """The root implied by an inclusion proof (RFC 9162 2.1.3.2), or None if its shape is wrong."""
    if not 0 <= index < size:
        return None
    inner, border = _inner_border(index, size)
    if len(proof) != inner + border:
        return None
    acc = leaf
    for i, h in enumerate(proof[:inner]):
        acc = node_hash(h, acc) if (index >> i) & 1 else node_hash(acc, h)
    for h in proof[inner:]:
        acc = node_hash(h, acc)
    return acc


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True when ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree of ``size`` with ``root``."""
    return root_from_inclusion(leaf, index, size, proof) == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True when ``proof`` shows the tree ``(old, old_root)`` is a prefix of ``(new, new_root)``."""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    path = list(proof)
    if old & (old - 1) == 0:  # old is a power of two: its root is the implicit first element
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class MemoryTree:
    """An in-memory tree of leaf hashes with all perfect nodes kept (tests, exports, audits)."""

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        self.levels[0].append(leaf)
        level, idx = 0, len(self.levels[0]) - 1
        while idx & 1:
            if len(self.levels) == level + 1:
                self.levels.append([])
            parent = node_hash(self.levels[level][idx - 1], self.levels[level][idx])
            self.levels[level + 1].append(parent)
            level, idx = level + 1, idx >> 1

    def perfect(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def range_hash(self, lo: int, hi: int) -> bytes:
        return range_hash(lo, hi, self.perfect)

    def root(self, size: int | None = None) -> bytes:
        return self.range_hash(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return [self.range_hash(lo, hi) for lo, hi in inclusion_ranges(index, size)]

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return [self.range_hash(lo, hi) for lo, hi in consistency_ranges(old, new)]
