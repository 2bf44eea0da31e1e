"""From what a user names to what the ledger recorded: a file path or an entry id -> its entry.

Example::

    from provenance.verify.lookup import resolve_entry

    found = resolve_entry(ledger, "edited.png")          # or an entry id
    found.entry.index, found.sha256

One rule for every command: an existing path must be a regular file and is looked up by its
SHA-256 (the latest entry that records it as an output); anything else is an entry id.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.errors import InputError
from provenance.media.hashing import sha256_file

if TYPE_CHECKING:
    from ledger import Entry, Ledger


@dataclass(frozen=True)
class Resolved:
    """The entry, and the hash it was found by (a file) or its first output (an entry id)."""

    entry: Entry
    sha256: str | None


def latest_producer(
    ledger: Ledger, sha256: str, kinds: Collection[str] | None = None
) -> Entry | None:
    """The latest entry that records ``sha256`` as an output (of one of ``kinds``, if given)."""
    found = [e for e in ledger.find_by_output(sha256) if kinds is None or e.kind in kinds]
    return found[-1] if found else None


def resolve_entry(
    ledger: Ledger,
    target: str | Path,
    *,
    kinds: Collection[str] | None = None,
    hint: str = "",
) -> Resolved:
    """``target`` (a file or an entry id) -> its entry; :class:`InputError` naming it if none.

    ``kinds`` limits a file's look-up to entries of those kinds; ``hint`` ends the message when
    a file is not recorded (e.g. "only recorded files can be reviewed").
    """
    p = Path(target)
    if p.is_file():
        digest = sha256_file(p)
        entry = latest_producer(ledger, digest, kinds)
        if entry is None:
            raise InputError(
                f"{target}: not in the ledger (no entry records this file's SHA-256 "
                f"{digest[:16]}...)" + (f"; {hint}" if hint else "")
            )
        return Resolved(entry, digest)
    if p.exists():
        raise InputError(f"{target}: not a regular file")
    entry = ledger.get(str(target))
    if entry is None:
        raise InputError(f"{target}: no such file and no ledger entry with this id")
    return Resolved(entry, entry.outputs[0] if entry.outputs else None)
