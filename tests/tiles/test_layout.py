"""Tile paths, widths and hash encoding, checked against the C2SP tlog-tiles text and RFC 9162."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from ledger import merkle
from ledger.checkpoint import generate_log_key, verifier_key
from ledger.tiles import DirectorySource, TileReader
from ledger.tiles.layout import (
    WIDTH,
    decode_bundle,
    encode_bundle,
    encode_index,
    entries_path,
    root_from_partials,
    tile_path,
    tiles_for_size,
)

from .conftest import SIZE, Published


@pytest.mark.parametrize(
    ("n", "encoded"),
    [
        (0, "000"),
        (5, "005"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),  # the spec's example
        (10**9, "x001/x000/x000/000"),
    ],
)
def test_index_encoding(n: int, encoded: str) -> None:
    assert encode_index(n) == encoded


def test_paths() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(2, 3, 17) == "tile/2/003.p/17"
    assert tile_path(63, 0, 255) == "tile/63/000.p/255"
    assert entries_path(1234067) == "tile/entries/x001/x234/067"
    assert entries_path(11, 184) == "tile/entries/011.p/184"


@pytest.mark.parametrize(
    "call",
    [lambda: tile_path(64, 0), lambda: tile_path(0, 0, 0), lambda: tile_path(0, 0, 257)],
)
def test_paths_out_of_range(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def _shape(size: int) -> list[tuple[int, int, int]]:
    return [(t.level, t.index, t.width) for t in tiles_for_size(size)]


def test_spec_example_70000() -> None:
    """273 full level-0 tiles, a partial of 112; one full level-1 tile, a partial of 17; a
    level-2 partial of 1 (tlog-tiles, "Partial Tiles")."""
    shape = _shape(70_000)
    level0 = [s for s in shape if s[0] == 0]
    assert len(level0) == 274 and all(w == WIDTH for _, _, w in level0[:273])
    assert level0[-1] == (0, 273, 112)
    assert [s for s in shape if s[0] > 0] == [(1, 0, 256), (1, 1, 17), (2, 0, 1)]


@pytest.mark.parametrize(
    ("size", "shape"),
    [
        (0, []),  # empty tiles are never served
        (1, [(0, 0, 1)]),
        (255, [(0, 0, 255)]),
        (256, [(0, 0, 256), (1, 0, 1)]),  # the spec's second example
        (257, [(0, 0, 256), (0, 1, 1), (1, 0, 1)]),
        (512, [(0, 0, 256), (0, 1, 256), (1, 0, 2)]),
    ],
)
def test_partial_widths(size: int, shape: list[tuple[int, int, int]]) -> None:
    assert _shape(size) == shape


def test_bundle_encoding_is_uint16_length_prefixed() -> None:
    leaves = [b"", b"a", b"x" * 300]
    data = encode_bundle(leaves)
    assert data == b"\x00\x00" + b"\x00\x01a" + struct.pack(">H", 300) + b"x" * 300
    assert decode_bundle(data) == (leaves, None)
    assert decode_bundle(data[:-1])[1] == "entry 2 is cut short (299 of 300 bytes)"


def _synthetic(size: int) -> merkle.MemoryTree:
    return merkle.MemoryTree([hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(size)])


def _write_tiles(tree: merkle.MemoryTree, root: Path) -> None:
    """The tiles of ``tree`` written from its perfect nodes, independently of the publisher."""
    for t in tiles_for_size(tree.size):
        hashes = [tree.perfect(8 * t.level, t.start + i) for i in range(t.width)]
        path = root / t.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(hashes))


@pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 511, 513, 65_536 + 300])
def test_root_and_proofs_from_tiles_match_rfc9162(size: int, tmp_path: Path) -> None:
    tree = _synthetic(size)
    _write_tiles(tree, tmp_path)
    partials = {}
    for t in tiles_for_size(size):
        if t.width < WIDTH:
            partials[t.level] = [tree.perfect(8 * t.level, t.start + i) for i in range(t.width)]
    assert root_from_partials(partials) == tree.root()
    reader = TileReader(DirectorySource(tmp_path), verifier_key(generate_log_key(), "x.example"))
    for index in sorted({0, size // 3, size - 1}):
        assert reader.inclusion_proof(index, size) == tree.inclusion_proof(index, size)
    for old in sorted({1, size // 2, size - 1} - {0}):
        assert reader.consistency_proof(old, size) == tree.consistency_proof(old, size)


def test_published_tiles_hold_rfc9162_hashes(published: Published) -> None:
    """tile/0/N are SHA-256(0x00 || leaf) of the entries; tile/1 the roots of full level-0
    tiles, computed here with ledger.merkle from the ledger's own leaves."""
    with published.open() as led:
        leaves = [e.leaf for e in led.iter_entries()]
    assert len(leaves) == SIZE
    leaf_hashes = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    assert leaf_hashes[:3] == [merkle.leaf_hash(x) for x in leaves[:3]]
    tree = merkle.MemoryTree(leaf_hashes)
    d = published.directory
    assert (d / "tile/0/000").read_bytes() == b"".join(leaf_hashes[:256])
    assert (d / "tile/0/010").read_bytes() == b"".join(leaf_hashes[2560:2816])
    assert (d / "tile/0/011.p/184").read_bytes() == b"".join(leaf_hashes[2816:])
    level1 = [tree.range_hash(256 * i, 256 * (i + 1)) for i in range(11)]
    assert (d / "tile/1/000.p/11").read_bytes() == b"".join(level1)
    bundle = (d / "tile/entries/004").read_bytes()
    assert decode_bundle(bundle) == (leaves[1024:1280], None)
    assert (d / "checkpoint").read_text().splitlines()[:2] == ["tiles.example/log", "3000"]
