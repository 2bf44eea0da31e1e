"""A three-level log (65,836 entries) written independently of the publisher, then audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import merkle
from ledger.checkpoint import Checkpoint, generate_log_key, verifier_key
from ledger.tiles import TileReader, audit_tiles, open_source
from ledger.tiles.layout import encode_bundle, tiles_for_size

SIZE = 65_536 + 300  # level 0: 257 full + 44; level 1: 1 full + 1; level 2: 1
ORIGIN = "levels.example/log"


@pytest.fixture(scope="module")
def deep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[bytes]]:
    root = tmp_path_factory.mktemp("deep")
    leaves = [f'{{"n":{i}}}'.encode() for i in range(SIZE)]
    tree = merkle.MemoryTree([merkle.leaf_hash(x) for x in leaves])
    for t in tiles_for_size(SIZE):
        hashes = [tree.perfect(8 * t.level, t.start + i) for i in range(t.width)]
        (root / t.path).parent.mkdir(parents=True, exist_ok=True)
        (root / t.path).write_bytes(b"".join(hashes))
        if t.level == 0:
            (root / t.entries_path).parent.mkdir(parents=True, exist_ok=True)
            (root / t.entries_path).write_bytes(encode_bundle(leaves[t.start : t.start + t.width]))
    key = generate_log_key()
    (root / "checkpoint").write_text(Checkpoint(ORIGIN, SIZE, tree.root()).sign(key))
    return root, verifier_key(key, ORIGIN), leaves


def _flip(path: Path, offset: int) -> bytes:
    data = path.read_bytes()
    path.write_bytes(data[:offset] + bytes([data[offset] ^ 1]) + data[offset + 1 :])
    return data


def test_clean(deep: tuple[Path, str, list[bytes]]) -> None:
    root, vkey, leaves = deep
    report = audit_tiles(root, vkey)
    assert report.ok, report.problems
    assert (report.tiles_checked, report.bundles_checked) == (258 + 2 + 1, 258)
    result = TileReader(open_source(root), vkey).prove(65_700)
    assert result.ok and result.leaf == leaves[65_700]


@pytest.mark.parametrize(
    ("path", "offset", "index", "says"),
    [
        ("tile/1/000", 32 * 200, 200 * 256, "hash 200 is not the root of tile/0/200"),
        ("tile/2/000.p/1", 0, 0, "hash 0 is not the root of tile/1/000"),
        ("tile/1/001.p/1", 3, 65_536, "hash 0 is not the root of tile/0/256"),
        ("tile/0/256", 32 * 9, 65_545, "which tile/1/001.p/1 hash 0 confirms: the tile was"),
    ],
)
def test_damage_in_upper_levels(
    deep: tuple[Path, str, list[bytes]], path: str, offset: int, index: int, says: str
) -> None:
    root, vkey, _ = deep
    original = _flip(root / path, offset)
    try:
        report = audit_tiles(root, vkey)
    finally:
        (root / path).write_bytes(original)
    named = [p for p in report.problems if p.path != "checkpoint"]
    assert [(p.path, p.index) for p in named] == [(path, index)], report.problems
    assert says in named[0].detail
