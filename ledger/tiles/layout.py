"""Where things live in a C2SP tlog-tiles log and how tile hashes relate: pure, no I/O.

Example::

    >>> from ledger.tiles.layout import tile_path, entries_path, tiles_for_size
    >>> tile_path(0, 1234067)
    'tile/0/x001/x234/067'
    >>> tile_path(1, 3, 17)
    'tile/1/003.p/17'
    >>> entries_path(5, 112)
    'tile/entries/005.p/112'
    >>> [(t.level, t.index, t.width) for t in tiles_for_size(70_000)][-3:]
    [(1, 0, 256), (1, 1, 17), (2, 0, 1)]

A tile at level ``L`` holds up to 256 hashes; hash ``i`` of tile ``N`` is the Merkle tree hash
of leaves ``[(N*256+i) * 256**L, (N*256+i+1) * 256**L)`` (C2SP tlog-tiles, "Merkle Tree"), i.e.
the RFC 9162 perfect subtree at tree level ``8*L``. Only the rightmost tile of a level may be
partial (``.p/<W>``, 1..255 hashes); empty tiles do not exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from ledger import merkle
from ledger.errors import LedgerError

HEIGHT = 8  # tree levels per tile
WIDTH = 1 << HEIGHT  # hashes in a full tile
HASH_SIZE = 32
MAX_ENTRY = 0xFFFF  # entry bundles length-prefix each entry with a big-endian uint16


class TilesError(LedgerError):
    """A published log cannot be read or written (missing source, bad path, refused update)."""


def encode_index(n: int) -> str:
    """``N`` as zero-padded 3-digit path elements, all but the last prefixed with ``x``."""
    if n < 0:
        raise ValueError(f"tile index {n}: must be non-negative")
    parts = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        parts.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(parts))


def _suffix(width: int) -> str:
    if not 1 <= width <= WIDTH:
        raise ValueError(f"tile width {width}: must be 1..256")
    return "" if width == WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]``."""
    if not 0 <= level <= 63:
        raise ValueError(f"tile level {level}: must be 0..63")
    return f"tile/{level}/{encode_index(index)}{_suffix(width)}"


def entries_path(index: int, width: int = WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]``."""
    return f"tile/entries/{encode_index(index)}{_suffix(width)}"


@dataclass(frozen=True)
class Tile:
    """One tile of a tree of a given size: its level, index and width (256 when full)."""

    level: int
    index: int
    width: int

    @property
    def path(self) -> str:
        return tile_path(self.level, self.index, self.width)

    @property
    def entries_path(self) -> str:
        return entries_path(self.index, self.width)

    @property
    def full(self) -> bool:
        return self.width == WIDTH

    @property
    def start(self) -> int:
        """Position, among the hashes of its level, of the tile's first hash."""
        return self.index * WIDTH


def hashes_at(size: int, level: int) -> int:
    """How many hashes level ``level`` has in a tree of ``size`` leaves."""
    return size >> (HEIGHT * level)


def levels(size: int) -> int:
    """Number of tile levels of a tree of ``size`` leaves (0 for the empty tree)."""
    n = 0
    while hashes_at(size, n):
        n += 1
    return n


def tile_at(size: int, level: int, index: int) -> Tile:
    """The tile ``index`` of ``level`` as a tree of ``size`` has it (full or partial)."""
    width = min(WIDTH, hashes_at(size, level) - index * WIDTH)
    if width <= 0:
        raise ValueError(f"tile {level}/{index} does not exist in a tree of size {size}")
    return Tile(level, index, width)


def level_tiles(size: int, level: int, first: int = 0) -> Iterator[Tile]:
    """The tiles of one level from index ``first`` on, left to right."""
    n = hashes_at(size, level)
    for index in range(first, -(-n // WIDTH)):
        yield Tile(level, index, min(WIDTH, n - index * WIDTH))


def tiles_for_size(size: int) -> Iterator[Tile]:
    """Every tile of a tree of ``size`` leaves, level by level."""
    for level in range(levels(size)):
        yield from level_tiles(size, level)


def first_changed(old: int, level: int) -> int:
    """Index of the first tile of ``level`` that differs between size ``old`` and any larger size."""
    return hashes_at(old, level) >> HEIGHT


def changed_tiles(old: int, new: int, level: int) -> Iterator[Tile]:
    """Tiles of ``level`` in a tree of ``new`` leaves that a tree of ``old`` leaves lacks."""
    if hashes_at(new, level) > hashes_at(old, level):
        yield from level_tiles(new, level, first_changed(old, level))


def split_hashes(data: bytes) -> list[bytes]:
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def subtree_hash(hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 hash of a perfect subtree given its bottom row (a power-of-two count)."""
    row = list(hashes)
    sha = hashlib.sha256
    while len(row) > 1:
        row = [sha(b"\x01" + row[i] + row[i + 1]).digest() for i in range(0, len(row), 2)]
    return row[0]


def partial_pieces(hashes: Sequence[bytes]) -> list[bytes]:
    """The perfect-subtree hashes, largest first, that the hashes of a partial tile make."""
    out, at = [], 0
    for bit in range(HEIGHT - 1, -1, -1):
        if len(hashes) >> bit & 1:
            out.append(subtree_hash(hashes[at : at + (1 << bit)]))
            at += 1 << bit
    return out


def root_from_partials(partials: Mapping[int, Sequence[bytes]]) -> bytes:
    """The tree's root from the rightmost partial tile of each level (``level -> hashes``).

    The root's perfect pieces follow the set bits of the size, and bits ``8L..8L+7`` are exactly
    the hashes of the partial tile at level ``L``: no other tile is needed.
    """
    pieces: list[bytes] = []
    for level in sorted(partials, reverse=True):
        pieces += partial_pieces(partials[level])
    return merkle.fold_pieces(pieces)


def leaf_hashes(leaves: Sequence[bytes]) -> list[bytes]:
    sha = hashlib.sha256
    return [sha(b"\x00" + leaf).digest() for leaf in leaves]


def encode_bundle(leaves: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes."""
    out = bytearray()
    for leaf in leaves:
        if len(leaf) > MAX_ENTRY:
            raise TilesError(f"entry of {len(leaf)} bytes: an entry bundle holds at most 65535")
        out += len(leaf).to_bytes(2, "big") + leaf
    return bytes(out)


def decode_bundle(data: bytes) -> tuple[list[bytes], str | None]:
    """The entries of a bundle and, if it is malformed, why (the entries before the damage)."""
    out: list[bytes] = []
    at = 0
    while at < len(data):
        if at + 2 > len(data):
            return out, f"a truncated length prefix after {len(out)} entries"
        n = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + n > len(data):
            return out, f"entry {len(out)} is cut short ({len(data) - at - 2} of {n} bytes)"
        out.append(data[at + 2 : at + 2 + n])
        at += 2 + n
    return out, None
