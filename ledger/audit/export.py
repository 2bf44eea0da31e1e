"""Export entries as JSON lines so a third party can rebuild and compare the tree.

Example::

    >>> import io, json
    >>> from ledger import Ledger
    >>> led = Ledger.create("sqlite://", origin="example.org/log")
    >>> led.export(io.StringIO())
    0

Each line: ``{"index": i, "leaf_hash": hex, "leaf": <the leaf's canonical JSON text>}``;
``SHA-256(0x00 || leaf.encode())`` is the leaf hash.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import select

from ledger import merkle
from ledger.models import ENTRY as E

if TYPE_CHECKING:
    from ledger.storage import LedgerView


def export(led: LedgerView, out: TextIO) -> int:
    n = 0
    with led.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=10000).execute(
            select(E.c.idx, E.c.leaf).order_by(E.c.idx)
        )
        for idx, leaf in result:
            leaf = bytes(leaf)
            out.write(
                json.dumps(
                    {
                        "index": int(idx),
                        "leaf_hash": merkle.leaf_hash(leaf).hex(),
                        "leaf": leaf.decode(),
                    }
                )
                + "\n"
            )
            n += 1
    return n
