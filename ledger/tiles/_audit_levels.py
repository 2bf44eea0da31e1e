"""The per-level checks of a tiles audit (see :mod:`ledger.tiles.audit`).

Each tile is checked against the layer below; what a tile hands up is a :class:`Lower`: its
root as published, the same subtree's root as the entries alone give it, and whether it agreed
with the layer below. Level 0 compares a tile with its entry bundle; when they disagree, the
hash in the level above (or, for the rightmost tile, the checkpoint's root) says which is right.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.tiles.layout import (
    HASH_SIZE,
    HEIGHT,
    Tile,
    decode_bundle,
    entries_path,
    leaf_hashes,
    root_from_partials,
    split_hashes,
    subtree_hash,
    tile_path,
)
from ledger.tiles.reader import TileReader

Blame = Callable[[str, int | None, str], None]


@dataclass
class Lower:
    path: str
    first: int  # the first entry under the tile
    pub: bytes  # the tile's root from its published hashes
    ent: bytes  # the same subtree's root from the entries alone
    clean: bool  # present and equal to what the layer below gives
    disputes: list[int] = field(default_factory=list)  # level 0: positions tile != bundle
    bundle: str = ""


def _get(reader: TileReader, path: str, full_path: str | None, want: int) -> bytes | None:
    data = reader.source.get(path)
    if data is None and full_path is not None:  # a partial may be gone once its tile is full
        full = reader.source.get(full_path)
        data = None if full is None or len(full) < want else full[:want]
    return data


def _root(t: Tile, hashes: list[bytes]) -> bytes:
    return subtree_hash(hashes) if t.full else b""


def settle(low: Lower, pub_agrees: bool, ent_agrees: bool, above: str, blame: Blame) -> None:
    """Blame a level-0 tile or its bundle for their disagreements, as the layer above decides."""
    first = low.first + low.disputes[0]
    more = f" (and {len(low.disputes) - 1} more in this bundle)" if len(low.disputes) > 1 else ""
    if pub_agrees:
        blame(
            low.bundle,
            first,
            f"entry does not hash to its leaf hash in {low.path}, which {above} confirms: "
            f"the entry was altered{more}",
        )
    elif ent_agrees:
        blame(
            low.path,
            first,
            f"hash {low.disputes[0]} is not the leaf hash of the entry in {low.bundle}, which "
            f"{above} confirms: the tile was altered{more}",
        )
    else:
        blame(low.path, first, f"disagrees with {low.bundle} and neither matches {above}{more}")


class Level0:
    """Level-0 tiles against their entry bundles."""

    def __init__(self, reader: TileReader, size: int, blame: Blame) -> None:
        self.reader, self.size, self.blame = reader, size, blame
        self.partial: tuple[Tile, list[bytes], list[bytes], Lower] | None = None

    def fetch(self, t: Tile) -> tuple[Tile, bytes | None, bytes | None]:
        full = not t.full
        tile = _get(self.reader, t.path, tile_path(0, t.index) if full else None, 32 * t.width)
        bundle = self.reader.source.get(t.entries_path)
        if bundle is None and full:
            bundle = self.reader.source.get(entries_path(t.index))
            if bundle is not None:
                bundle = _first_entries(bundle, t.width)
        return t, tile, bundle

    def _entries(self, t: Tile, bundle: bytes | None) -> list[bytes] | None:
        if bundle is None:
            self.blame(t.entries_path, t.start, "missing")
            return None
        leaves, why = decode_bundle(bundle)
        if why is not None:
            self.blame(t.entries_path, t.start + len(leaves), f"malformed: {why}")
            return None
        if len(leaves) != t.width:
            self.blame(t.entries_path, t.start, f"holds {len(leaves)} entries, not {t.width}")
            return None
        return leaf_hashes(leaves)

    def _tile(self, t: Tile, data: bytes | None) -> list[bytes] | None:
        if data is None:
            self.blame(t.path, t.start, "missing")
        elif len(data) != HASH_SIZE * t.width:
            self.blame(t.path, t.start, f"{len(data)} bytes, not {HASH_SIZE * t.width}")
        else:
            return split_hashes(data)
        return None

    def check(self, t: Tile, tile: bytes | None, bundle: bytes | None) -> Lower:
        ent = self._entries(t, bundle)
        pub = self._tile(t, tile)
        clean = pub is not None and ent is not None
        if ent is not None and tile == b"".join(ent):
            pub = ent  # the common case: one list, one root
        pub = pub or ent or [bytes(HASH_SIZE)] * t.width  # neither readable: nothing to hand up
        ent = ent or pub
        disputes = [] if pub is ent else [i for i in range(t.width) if pub[i] != ent[i]]
        low = Lower(t.path, t.start, _root(t, pub), b"", clean and not disputes, disputes)
        low.ent = low.pub if pub is ent else _root(t, ent)
        low.bundle = t.entries_path
        if not t.full:
            self.partial = (t, pub, ent, low)
        return low

    def partials(self, pub: dict[int, list[bytes]], ent: dict[int, list[bytes]]) -> None:
        if self.partial is not None:
            pub[0], ent[0] = self.partial[1], self.partial[2]

    def settle_partial(self, partials_pub: dict[int, list[bytes]], root: bytes) -> None:
        """The rightmost level-0 tile has no tile above it: the checkpoint's root decides."""
        if self.partial is None or not self.partial[3].disputes:
            return
        _, _, ent, low = self.partial
        pub_ok = root_from_partials(partials_pub) == root
        ent_ok = root_from_partials({**partials_pub, 0: ent}) == root
        settle(low, pub_ok, ent_ok, "the checkpoint's root", self.blame)


def _first_entries(bundle: bytes, count: int) -> bytes:
    """The first ``count`` entries of a full bundle, re-encoded (a partial's fallback)."""
    leaves, _ = decode_bundle(bundle)
    return b"".join(len(x).to_bytes(2, "big") + x for x in leaves[:count])


class LevelAudit:
    """Tiles of one level >= 1 against the tiles below them."""

    def __init__(
        self, reader: TileReader, size: int, level: int, lower: list[Lower], blame: Blame
    ) -> None:
        self.reader, self.size, self.level = reader, size, level
        self.lower, self.blame = lower, blame
        self.partial: tuple[list[bytes], list[bytes]] | None = None

    def fetch(self, t: Tile) -> tuple[Tile, bytes | None]:
        full = None if t.full else tile_path(self.level, t.index)
        return t, _get(self.reader, t.path, full, HASH_SIZE * t.width)

    def check(self, t: Tile, data: bytes | None) -> Lower:
        below = self.lower[t.start : t.start + t.width]
        derived = [low.pub for low in below]
        ent = [low.ent for low in below]
        first = t.start << (HEIGHT * self.level)
        pub: list[bytes] = derived
        clean = False
        if data is None:
            self.blame(t.path, first, "missing")
        elif len(data) != HASH_SIZE * t.width:
            self.blame(t.path, first, f"{len(data)} bytes, not {HASH_SIZE * t.width}")
        else:
            pub = split_hashes(data)
            clean = self._compare(t, pub, below)
        if not t.full:
            self.partial = (pub, ent)
        root = _root(t, pub)
        return Lower(t.path, first, root, root if ent == pub else _root(t, ent), clean)

    def _compare(self, t: Tile, pub: list[bytes], below: list[Lower]) -> bool:
        clean = True
        for i, low in enumerate(below):
            if low.disputes:
                settle(low, pub[i] == low.pub, pub[i] == low.ent, f"{t.path} hash {i}", self.blame)
            if pub[i] != low.pub:
                clean = False
                if low.clean:  # the tile below agrees with everything under it: this hash is wrong
                    self.blame(t.path, low.first, f"hash {i} is not the root of {low.path}")
        return clean

    def partials(self, pub: dict[int, list[bytes]], ent: dict[int, list[bytes]]) -> None:
        if self.partial is not None:
            pub[self.level], ent[self.level] = self.partial
