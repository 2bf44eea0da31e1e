"""The ledger published as a C2SP tlog-tiles log, and audited from it without the database.

Example::

    >>> import tempfile
    >>> from ledger import Ledger
    >>> from ledger.checkpoint import generate_log_key
    >>> from ledger.tiles import audit_tiles, publish
    >>> led = Ledger.create("sqlite://", origin="example.org/log", log_key=generate_log_key())
    >>> _ = led.append("generate", {"model": "m"})
    >>> _ = led.checkpoint()
    >>> out = tempfile.mkdtemp()
    >>> publish(led, out).size
    1
    >>> audit_tiles(out, led.verifier_key).ok
    True
"""

from ledger.tiles.audit import TileProblem, TilesAuditReport, audit_tiles
from ledger.tiles.layout import TilesError, entries_path, tile_path
from ledger.tiles.publish import PublishReport, publish
from ledger.tiles.reader import InclusionResult, TileReader
from ledger.tiles.source import DirectorySource, HttpSource, Source, open_source

__all__ = [
    "DirectorySource",
    "HttpSource",
    "InclusionResult",
    "PublishReport",
    "Source",
    "TileProblem",
    "TileReader",
    "TilesAuditReport",
    "TilesError",
    "audit_tiles",
    "entries_path",
    "open_source",
    "publish",
    "tile_path",
]
