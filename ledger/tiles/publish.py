"""Publish a ledger as a static C2SP tlog-tiles log: tiles, entry bundles and ``checkpoint``.

Example::

    >>> import tempfile
    >>> from ledger import Ledger
    >>> from ledger.checkpoint import generate_log_key
    >>> from ledger.tiles import publish
    >>> led = Ledger.create("sqlite://", origin="example.org/log", log_key=generate_log_key())
    >>> for i in range(300):
    ...     _ = led.append("generate", {"n": i})
    >>> _ = led.checkpoint()
    >>> report = publish(led, tempfile.mkdtemp())
    >>> (report.size, report.tiles_written, report.bundles_written)
    (300, 3, 2)

Only what changed since the last publish is written: full tiles never change, and the rightmost
partial tile of each level is replaced by a wider one under a new name. Every file is written to
a temporary name, fsynced and renamed; the ``checkpoint`` goes last, so a reader that sees a
checkpoint finds every tile it needs. The published size is that of the ledger's latest signed
checkpoint; newer entries wait for the next checkpoint.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ledger import merkle
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.errors import AUDIT_REMEDY, LedgerError, LedgerIntegrityError
from ledger.tiles._files import Writer, locked
from ledger.tiles.layout import (
    WIDTH,
    Tile,
    TilesError,
    changed_tiles,
    encode_bundle,
    first_changed,
    hashes_at,
    leaf_hashes,
    level_tiles,
    levels,
    root_from_partials,
    split_hashes,
    subtree_hash,
    tile_path,
)

if TYPE_CHECKING:
    from ledger.store import Ledger

Progress = Callable[[int, int], None]  # (entries done, entries to do)


@dataclass
class PublishReport:
    """What one publish did. ``*_skipped``: already published and unchanged, not rewritten."""

    directory: str
    origin: str
    size: int
    previous_size: int
    ledger_size: int
    tiles_written: int = 0
    tiles_skipped: int = 0
    bundles_written: int = 0
    bundles_skipped: int = 0
    bytes_written: int = 0
    partials_removed: int = 0
    repaired: list[str] = field(default_factory=list)

    @property
    def unpublished(self) -> int:
        """Entries newer than the latest signed checkpoint, left for the next publish."""
        return self.ledger_size - self.size

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "unpublished": self.unpublished}, sort_keys=True)

    def describe(self) -> str:
        text = (
            f"published {self.origin} at size {self.size} (was {self.previous_size}) to "
            f"{self.directory}: {self.tiles_written} tiles and {self.bundles_written} entry "
            f"bundles written, {self.tiles_skipped} tiles and {self.bundles_skipped} bundles "
            "unchanged"
        )
        if self.unpublished:
            text += (
                f"; {self.unpublished} newer entries are not covered by a signed checkpoint "
                "yet and were not published"
            )
        return text


def publish(
    led: Ledger,
    directory: str | Path,
    *,
    verifier: str | None = None,
    durable: bool = True,
    progress: Progress | None = None,
) -> PublishReport:
    """Bring the tiles log in ``directory`` up to the ledger's latest signed checkpoint.

    ``verifier``: the log's verifier key (default: the ledger's own); the published and the
    new checkpoint must both verify with it, and the new one must extend the published one.
    """
    root = Path(directory)
    vkey = verifier or led.verifier_key
    if vkey is None:
        raise TilesError("the log's verifier key is not known: pass it to publish")
    latest = led.latest_checkpoint()
    if latest is None:
        raise TilesError(
            f"ledger {led.origin!r} has no signed checkpoint yet: sign one first "
            "(`provenance ledger checkpoint`)"
        )
    cp = open_checkpoint(latest.note, vkey)
    with locked(root):
        old = _published(root, vkey, led, cp)
        report = PublishReport(str(root), cp.origin, cp.size, old.size, led.size)
        writer = Writer(root, durable=durable)
        if cp.size > old.size:
            partials = _Job(led, writer, old.size, cp.size, report, progress).run()
            got = root_from_partials(partials)
            if got != cp.root:
                raise _mismatch(led, root, old.size, cp, got)
            writer.sync()  # every tile durable before the checkpoint that needs it
        if writer.same("checkpoint", cp.note.encode()) is not True:
            writer.write("checkpoint", cp.note.encode())
            writer.sync()
        report.partials_removed = _prune(root, old.size, cp.size)
    report.bytes_written = writer.bytes_written
    total = sum(1 for _ in _all_tiles(cp.size))
    report.tiles_skipped = total - report.tiles_written
    report.bundles_skipped = sum(1 for _ in level_tiles(cp.size, 0)) - report.bundles_written
    return report


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def _mismatch(led: Ledger, root: Path, old: int, cp: Checkpoint, got: bytes) -> LedgerError:
    """Whose fault a wrong new root is: the ledger's leaves, or the tiles already published."""
    if old and merkle.root_of([merkle.leaf_hash(x) for x in _leaves(led, 0, cp.size)]) == cp.root:
        return TilesError(
            f"{root}: the tiles published there before do not match the ledger (run `provenance "
            "ledger audit-tiles` on it); checkpoint not published, publish into an empty "
            "directory to rebuild"
        )
    return LedgerIntegrityError(
        f"the ledger's entries give root {_b64(got)} at size {cp.size} but its checkpoint says "
        f"{_b64(cp.root)}: checkpoint not published ({AUDIT_REMEDY})"
    )


def _all_tiles(size: int) -> Iterator[Tile]:
    for level in range(levels(size)):
        yield from level_tiles(size, level)


def _published(root: Path, vkey: str, led: Ledger, cp: Checkpoint) -> Checkpoint:
    """The checkpoint already in ``root`` (size 0 if none), checked to be extended by ``cp``."""
    try:
        text = (root / "checkpoint").read_text()
    except FileNotFoundError:
        return Checkpoint(cp.origin, 0, merkle.EMPTY_ROOT)
    except (OSError, UnicodeDecodeError) as e:
        raise TilesError(f"{root / 'checkpoint'}: cannot read ({e})") from e
    try:
        old = open_checkpoint(text, vkey)
    except LedgerError as e:
        raise TilesError(
            f"{root / 'checkpoint'}: not a checkpoint of this log ({e}); "
            "publish into an empty directory"
        ) from e
    if old.size > cp.size:
        raise TilesError(
            f"{root} already holds size {old.size}, more than the ledger's latest "
            f"checkpoint ({cp.size})"
        )
    proof = led.consistency_proof(old.size, cp.size)
    if not merkle.verify_consistency(old.size, cp.size, old.root, cp.root, proof):
        raise LedgerIntegrityError(
            f"the published checkpoint (size {old.size}, root {_b64(old.root)}) is not "
            f"consistent with the ledger's (size {cp.size}, root {_b64(cp.root)}): the "
            "history was rewritten; refusing to publish over it"
        )
    return old


class _Job:
    """One incremental publish from size ``old`` to ``new``, level by level."""

    def __init__(
        self,
        led: Ledger,
        writer: Writer,
        old: int,
        new: int,
        report: PublishReport,
        progress: Progress | None,
    ) -> None:
        self.led, self.w, self.old, self.new = led, writer, old, new
        self.report, self.progress = report, progress

    def run(self) -> dict[int, list[bytes]]:
        """Write the changed tiles; returns the hashes of each level's rightmost partial tile."""
        partials: dict[int, list[bytes]] = {}
        below = self._level0(partials)
        for level in range(1, levels(self.new)):
            below = self._upper(level, below, partials)
        return partials

    def _put(self, rel: str, data: bytes, bundle: bool) -> None:
        same = self.w.same(rel, data)
        if same:
            return  # left by a publish that stopped before its checkpoint
        if same is False:
            self.report.repaired.append(rel)
        self.w.write(rel, data)
        if bundle:
            self.report.bundles_written += 1
        else:
            self.report.tiles_written += 1

    def _level0(self, partials: dict[int, list[bytes]]) -> list[bytes]:
        base = first_changed(self.old, 0) * WIDTH
        leaves = _leaves(self.led, base, self.new)
        below: list[bytes] = []
        for tile in changed_tiles(self.old, self.new, 0):
            chunk = [next(leaves) for _ in range(tile.width)]
            hashes = leaf_hashes(chunk)
            self._put(tile.entries_path, encode_bundle(chunk), bundle=True)
            self._put(tile.path, b"".join(hashes), bundle=False)
            if tile.full:
                below.append(subtree_hash(hashes))
            else:
                partials[0] = hashes
            if self.progress is not None:
                self.progress(tile.start + tile.width - base, self.new - base)
        return below

    def _upper(
        self, level: int, below: list[bytes], partials: dict[int, list[bytes]]
    ) -> list[bytes]:
        """Level ``level``: its new hashes are the roots of the full tiles just made below."""
        first = first_changed(self.old, level)
        row = self._prefix(level, first * WIDTH, hashes_at(self.old, level)) + below
        out: list[bytes] = []
        for tile in changed_tiles(self.old, self.new, level):
            hashes = row[tile.start - first * WIDTH :][: tile.width]
            self._put(tile.path, b"".join(hashes), bundle=False)
            if tile.full:
                out.append(subtree_hash(hashes))
        rest = hashes_at(self.new, level) % WIDTH
        if rest:
            partials[level] = row[len(row) - rest :]
        return out

    def _prefix(self, level: int, lo: int, hi: int) -> list[bytes]:
        """Hashes ``[lo, hi)`` of ``level`` as published before (the old partial tile)."""
        if hi == lo:
            return []
        rel = tile_path(level, lo // WIDTH, hi - lo)
        try:
            data = (self.w.root / rel).read_bytes()
        except OSError:
            data = b""
        if len(data) == 32 * (hi - lo):
            return split_hashes(data)
        out = []  # the old partial tile is gone: rebuild it from the full tiles below
        for pos in range(lo, hi):
            below = self.w.root / tile_path(level - 1, pos)
            try:
                data = below.read_bytes()
            except OSError as e:
                raise TilesError(
                    f"{self.w.root}: {rel} and {below.name} are missing, so the published log "
                    "cannot be extended; publish into an empty directory"
                ) from e
            out.append(subtree_hash(split_hashes(data)))
        return out


def _leaves(led: Ledger, lo: int, hi: int) -> Iterator[bytes]:
    """Leaf bytes of entries ``[lo, hi)`` in index order, read in pages by index range.

    The bytes as stored and hashed, without building an :class:`~ledger.entry.Entry` (parsing
    each leaf was nine tenths of a publish); the root check against the signed checkpoint
    vouches for them. When the ledger grows a leaf-range read, this is the one place to use it.
    """
    from sqlalchemy import select

    from ledger.models import ENTRY

    page = 4096
    for start in range(lo, hi, page):
        stop = min(hi, start + page)
        stmt = (
            select(ENTRY.c.idx, ENTRY.c.leaf)
            .where(ENTRY.c.idx >= start, ENTRY.c.idx < stop)
            .order_by(ENTRY.c.idx)
        )
        with led.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        for expect, (idx, leaf) in enumerate(rows, start):
            if int(idx) != expect:
                break
            yield bytes(leaf)
        if len(rows) != stop - start or int(rows[-1][0]) != stop - 1:
            missing = next(
                (i for i, (x, _) in enumerate(rows, start) if int(x) != i), start + len(rows)
            )
            raise LedgerIntegrityError(f"entry {missing} is missing from the ledger")


def _prune(root: Path, old: int, new: int) -> int:
    """Delete partial tiles whose full tile now exists (tlog-tiles allows it); returns a count."""
    removed = 0
    for level in range(levels(new)):
        for tile in changed_tiles(old, new, level):
            if not tile.full:
                continue
            paths = [tile.path] + ([tile.entries_path] if level == 0 else [])
            for rel in paths:
                partial = root / (rel + ".p")
                if partial.is_dir():
                    removed += sum(1 for p in partial.iterdir() if p.is_file())
                    shutil.rmtree(partial, ignore_errors=True)
    return removed
