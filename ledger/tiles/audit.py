"""Audit a published tiles log from the files alone: no database, the log key pinned by the caller.

Example::

    >>> import tempfile
    >>> from ledger import Ledger
    >>> from ledger.checkpoint import generate_log_key
    >>> from ledger.tiles import audit_tiles, publish
    >>> led = Ledger.create("sqlite://", origin="example.org/log", log_key=generate_log_key())
    >>> for i in range(600):
    ...     _ = led.append("generate", {"n": i})
    >>> _ = led.checkpoint()
    >>> out = tempfile.mkdtemp()
    >>> _ = publish(led, out)
    >>> audit_tiles(out, led.verifier_key).ok
    True

Every entry is re-hashed from its bundle; every tile hash is checked against the tile below it
(level 0 against the entries); the root made of the rightmost tiles is checked against the
checkpoint. A disagreement between two layers is blamed on the one the other layers side with,
so a report names the damaged file and the first entry it concerns.
"""

from __future__ import annotations

import base64
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

from ledger.errors import LedgerError
from ledger.tiles._audit_levels import Level0, LevelAudit, Lower
from ledger.tiles.layout import Tile, TilesError, level_tiles, levels, root_from_partials
from ledger.tiles.reader import TileReader
from ledger.tiles.source import Source, open_source

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class TileProblem:
    """One finding: the damaged resource, the first entry it concerns, and what is wrong."""

    path: str
    index: int | None
    detail: str

    def line(self) -> str:
        at = "" if self.index is None else f" (entry {self.index})"
        return f"{self.path}{at}: {self.detail}"


@dataclass
class TilesAuditReport:
    source: str
    origin: str = ""
    size: int = 0
    root: str = ""
    checkpoint_ok: bool = False
    tiles_checked: int = 0
    bundles_checked: int = 0
    problems: list[TileProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checkpoint_ok and not self.problems

    def to_json(self) -> str:
        doc = asdict(self)
        doc["ok"] = self.ok
        doc["problems"] = [{**asdict(p), "message": p.line()} for p in self.problems]
        return json.dumps(doc, sort_keys=True)

    def describe(self) -> str:
        state = "clean" if self.ok else "DAMAGED"
        return (
            f"{state}: {self.size} entries of {self.origin or '?'} at {self.source}, "
            f"{self.tiles_checked} tiles and {self.bundles_checked} entry bundles checked"
        )


def audit_tiles(
    location: str | Path | Source,
    verifier: str,
    *,
    workers: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> TilesAuditReport:
    """Audit the log at ``location`` (directory, URL or :class:`Source`) against ``verifier``."""
    source = open_source(location) if isinstance(location, str | Path) else location
    try:
        return _audit(TileReader(source, verifier), workers, progress)
    finally:
        if source is not location:
            source.close()


def _audit(
    reader: TileReader, workers: int, progress: Callable[[int, int], None] | None
) -> TilesAuditReport:
    report = TilesAuditReport(reader.source.name)
    try:
        cp = reader.checkpoint()
    except TilesError:
        raise  # nothing to audit there (unreachable, no checkpoint): not a finding
    except LedgerError as e:
        report.problems.append(TileProblem("checkpoint", None, f"not verified: {e}"))
        return report
    report.origin, report.size, report.checkpoint_ok = cp.origin, cp.size, True
    report.root = base64.b64encode(cp.root).decode()
    found: list[TileProblem] = []

    def blame(path: str, index: int | None, detail: str) -> None:
        found.append(TileProblem(path, index, detail))

    level0 = Level0(reader, cp.size, blame)
    tiles = list(level_tiles(cp.size, 0))
    lower: list[Lower] = []
    for done, got in enumerate(_prefetched(level0.fetch, tiles, workers), 1):
        lower.append(level0.check(*got))
        if progress is not None:
            progress(done, len(tiles))
    report.bundles_checked = report.tiles_checked = len(tiles)
    partials_pub: dict[int, list[bytes]] = {}
    partials_ent: dict[int, list[bytes]] = {}
    level0.partials(partials_pub, partials_ent)
    for level in range(1, levels(cp.size)):
        audit = LevelAudit(reader, cp.size, level, lower, blame)
        upper = list(level_tiles(cp.size, level))
        lower = [audit.check(t, data) for t, data in _prefetched(audit.fetch, upper, workers)]
        audit.partials(partials_pub, partials_ent)
        report.tiles_checked += len(upper)
    level0.settle_partial(partials_pub, cp.root)
    if root_from_partials(partials_pub) != cp.root:
        blame("checkpoint", None, "the rightmost tiles do not hash to the checkpoint's root")
    if root_from_partials(partials_ent) != cp.root:
        blame("checkpoint", None, "the entries do not hash to the checkpoint's root")
    report.problems = sorted(found, key=lambda p: (p.index is None, p.index or 0, p.path))
    return report


def _prefetched(fetch: Callable[[Tile], R], items: Iterable[Tile], workers: int) -> Iterator[R]:
    """``fetch`` over ``items`` in order, a bounded window of them in flight at once."""
    with ThreadPoolExecutor(max(1, workers)) as pool:
        it = iter(items)
        window = deque(pool.submit(fetch, t) for _, t in zip(range(4 * workers), it, strict=False))
        while window:
            fut = window.popleft()
            nxt = next(it, None)
            if nxt is not None:
                window.append(pool.submit(fetch, nxt))
            yield fut.result()


__all__ = ["TileProblem", "TilesAuditReport", "audit_tiles"]
