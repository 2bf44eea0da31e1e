"""Read a published tiles log with no database: the checkpoint (checked with a pinned key),
entries, subtree hashes, and inclusion or consistency proofs computed from tiles.

Example::

    >>> import tempfile
    >>> from ledger import Ledger
    >>> from ledger.checkpoint import generate_log_key
    >>> from ledger.tiles import TileReader, open_source, publish
    >>> led = Ledger.create("sqlite://", origin="example.org/log", log_key=generate_log_key())
    >>> for i in range(5):
    ...     _ = led.append("generate", {"n": i})
    >>> _ = led.checkpoint()
    >>> out = tempfile.mkdtemp()
    >>> _ = publish(led, out)
    >>> reader = TileReader(open_source(out), led.verifier_key)  # the key comes from the caller
    >>> reader.prove(3).ok
    True
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from ledger import merkle
from ledger.checkpoint import Checkpoint, Verifier, open_checkpoint
from ledger.errors import LedgerIntegrityError
from ledger.tiles.layout import (
    HASH_SIZE,
    HEIGHT,
    WIDTH,
    TilesError,
    decode_bundle,
    entries_path,
    split_hashes,
    subtree_hash,
    tile_at,
    tile_path,
)
from ledger.tiles.source import Source

_CACHE = 64  # tiles kept: a proof touches at most two per level


@dataclass(frozen=True)
class InclusionResult:
    """An entry read from a published log and its inclusion proof against the checkpoint."""

    index: int
    leaf: bytes
    proof: list[bytes]
    checkpoint: Checkpoint
    ok: bool


class TileReader:
    """Reads one published log; ``verifier`` is the log's key as the caller pins it."""

    def __init__(self, source: Source, verifier: str | Verifier) -> None:
        self.source = source
        self.verifier = verifier if isinstance(verifier, Verifier) else Verifier.parse(verifier)
        self._tiles: OrderedDict[str, list[bytes]] = OrderedDict()

    def checkpoint(self) -> Checkpoint:
        """The published checkpoint, verified with the pinned key (raises otherwise)."""
        data = self.source.get("checkpoint")
        if data is None:
            raise TilesError(f"{self.source.name}: no checkpoint here (not a published log)")
        try:
            text = data.decode()
        except UnicodeDecodeError as e:
            raise TilesError(f"{self.source.name}/checkpoint: not UTF-8 text") from e
        return open_checkpoint(text, self.verifier)

    def fetch(self, path: str, fallback: str | None, want: int) -> bytes:
        """``path`` (else the full ``fallback`` it is a prefix of), checked to be ``want`` bytes."""
        data = self.source.get(path)
        if data is None and fallback is not None:
            full = self.source.get(fallback)
            data = None if full is None else full[:want]
        if data is None:
            raise TilesError(f"{self.source.name}: {path} is missing")
        if want >= 0 and len(data) != want:
            raise LedgerIntegrityError(f"{path}: {len(data)} bytes, expected {want}")
        return data

    def tile(self, level: int, index: int, size: int) -> list[bytes]:
        """The hashes of tile ``index`` of ``level`` as a tree of ``size`` has it."""
        t = tile_at(size, level, index)
        hit = self._tiles.get(t.path)
        if hit is not None:
            self._tiles.move_to_end(t.path)
            return hit
        full = None if t.full else tile_path(level, index)
        hashes = split_hashes(self.fetch(t.path, full, t.width * HASH_SIZE))
        self._tiles[t.path] = hashes
        if len(self._tiles) > _CACHE:
            self._tiles.popitem(last=False)
        return hashes

    def node(self, level: int, index: int, size: int) -> bytes:
        """Hash of the perfect subtree ``(level, index)`` (RFC 9162 levels) from one tile."""
        tile_level, rest = divmod(level, HEIGHT)
        first = index << rest  # its first hash at the tile level
        hashes = self.tile(tile_level, first // WIDTH, size)
        return subtree_hash(hashes[first % WIDTH : first % WIDTH + (1 << rest)])

    def range_hash(self, lo: int, hi: int, size: int) -> bytes:
        pieces = merkle.perfect_pieces(lo, hi)
        return merkle.fold_pieces([self.node(lv, ix, size) for lv, ix in pieces])

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return [self.range_hash(lo, hi, size) for lo, hi in merkle.inclusion_ranges(index, size)]

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return [self.range_hash(lo, hi, new) for lo, hi in merkle.consistency_ranges(old, new)]

    def entry(self, index: int, size: int) -> bytes:
        """The leaf bytes of entry ``index`` from its entry bundle."""
        t = tile_at(size, 0, index // WIDTH)
        data = self.source.get(t.entries_path)
        if data is None and not t.full:
            data = self.source.get(entries_path(t.index))
        if data is None:
            raise TilesError(f"{self.source.name}: {t.entries_path} is missing")
        leaves, _ = decode_bundle(data)
        if len(leaves) <= index % WIDTH:
            raise LedgerIntegrityError(f"{t.entries_path}: entry {index} is not in the bundle")
        return leaves[index % WIDTH]

    def prove(self, index: int) -> InclusionResult:
        """Entry ``index`` and its inclusion proof, checked against the verified checkpoint."""
        cp = self.checkpoint()
        if not 0 <= index < cp.size:
            raise TilesError(f"entry {index}: the published log has {cp.size} entries")
        leaf = self.entry(index, cp.size)
        proof = self.inclusion_proof(index, cp.size)
        ok = merkle.verify_inclusion(merkle.leaf_hash(leaf), index, cp.size, proof, cp.root)
        return InclusionResult(index, leaf, proof, cp, ok)
