"""Merkle proofs against the RFC 6962 worked example and an exhaustive comparison with the RFC text."""

from __future__ import annotations

import hashlib
import os

import pytest

from ledger.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# The RFC 6962 worked example's leaves (certificate-transparency's merkle_tree_test vectors).
RFC_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
RFC_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
RFC_INCLUSION = {  # (index, size) -> path
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
RFC_CONSISTENCY = {  # (old, new) -> proof
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


def _rfc_tree() -> MemoryTree:
    return MemoryTree([leaf_hash(d) for d in RFC_LEAVES])


def test_empty_tree_root_is_hash_of_nothing() -> None:
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", sorted(RFC_ROOTS))
def test_rfc_roots(size: int) -> None:
    assert _rfc_tree().root(size).hex() == RFC_ROOTS[size]
    assert root_of([leaf_hash(d) for d in RFC_LEAVES[:size]]).hex() == RFC_ROOTS[size]


@pytest.mark.parametrize(("index", "size"), sorted(RFC_INCLUSION))
def test_rfc_inclusion_proofs(index: int, size: int) -> None:
    proof = _rfc_tree().inclusion_proof(index, size)
    assert [p.hex() for p in proof] == RFC_INCLUSION[(index, size)]
    root = bytes.fromhex(RFC_ROOTS[size])
    assert verify_inclusion(leaf_hash(RFC_LEAVES[index]), index, size, proof, root)


@pytest.mark.parametrize(("old", "new"), sorted(RFC_CONSISTENCY))
def test_rfc_consistency_proofs(old: int, new: int) -> None:
    proof = _rfc_tree().consistency_proof(old, new)
    assert [p.hex() for p in proof] == RFC_CONSISTENCY[(old, new)]
    assert verify_consistency(
        old, new, bytes.fromhex(RFC_ROOTS[old]), bytes.fromhex(RFC_ROOTS[new]), proof
    )


# --- straight transcription of the RFC 9162 definitions, used as the oracle -------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return leaf_hash(d[0])
    k = _k(len(d))
    return node_hash(_mth(d[:k]), _mth(d[k:]))


def _path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*_path(m, d[:k]), _mth(d[k:])]
    return [*_path(m - k, d[k:]), _mth(d[:k])]


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*_subproof(m, d[:k], b), _mth(d[k:])]
    return [*_subproof(m - k, d[k:], False), _mth(d[:k])]


MAX_SIZE = int(os.environ.get("LEDGER_MERKLE_MAX", "130"))
DATA = [i.to_bytes(4, "big") for i in range(MAX_SIZE)]
TREE = MemoryTree([leaf_hash(d) for d in DATA])


def _tampered(proof: list[bytes]) -> list[list[bytes]]:
    out: list[list[bytes]] = []
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        out.append(bad)
    if proof:
        out.append(proof[:-1])
        out.append([*proof, proof[-1]])
    return out


def test_every_inclusion_proof_matches_rfc_and_tampering_fails() -> None:
    for size in range(1, MAX_SIZE + 1):
        root = TREE.root(size)
        assert root == _mth(DATA[:size])
        for index in range(size):
            proof = TREE.inclusion_proof(index, size)
            leaf = leaf_hash(DATA[index])
            assert verify_inclusion(leaf, index, size, proof, root), (index, size)
            if size <= 40 or index % 7 == 0:  # the oracle is quadratic; sample it past 40
                assert proof == _path(index, DATA[:size])
            for bad in _tampered(proof):
                assert not verify_inclusion(leaf, index, size, bad, root)
            assert not verify_inclusion(leaf_hash(b"other"), index, size, proof, root)
            if size > 1:
                assert not verify_inclusion(leaf, (index + 1) % size, size, proof, root)
        assert root_from_inclusion(leaf_hash(b"x"), size, size, []) is None


def test_every_consistency_proof_matches_rfc_and_tampering_fails() -> None:
    roots = [TREE.root(n) for n in range(MAX_SIZE + 1)]
    for new in range(1, MAX_SIZE + 1):
        for old in range(1, new + 1):
            proof = TREE.consistency_proof(old, new)
            assert verify_consistency(old, new, roots[old], roots[new], proof), (old, new)
            if new <= 40:
                assert proof == _subproof(old, DATA[:new], True)
            if old == new:
                continue
            for bad in _tampered(proof):
                assert not verify_consistency(old, new, roots[old], roots[new], bad)
            assert not verify_consistency(old, new, roots[old - 1], roots[new], proof)
            assert not verify_consistency(old, new, roots[old], roots[new - 1], proof)
