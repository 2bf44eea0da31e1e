"""Recovering the recorded original of a stripped copy: the ledger's fingerprint index as a fast
prefilter on one hash, then every fingerprint must agree (:func:`fingerprint.choose`).

Example::

    from provenance.recovery.match import recover

    found = recover(ledger, image)       # a PIL image of a file without credentials
    found.entry, found.candidates[0].label if found.candidates else None
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.fingerprint_index import index_for
from provenance.recovery import fingerprint

if TYPE_CHECKING:
    from PIL import Image

    from ledger import Entry, Ledger

CANDIDATES = 20  # prefilter hits to confirm; more than this many look-alikes is noise


# One phrase for "the ledger has nothing for this file", wherever it is said (issue 12).
NO_ENTRY = "no ledger entry for this file"


@dataclass(frozen=True)
class Candidate:
    """A recorded image the search compared the copy with, and how it judged it."""

    output: str  # the recorded output's SHA-256
    entry: str
    distances: dict[str, int]
    label: str
    confident: bool
    reason: str


@dataclass
class Recovery:
    """What the search found: ``entry`` is None when nothing was recovered (``reason`` says why);
    ``caveat`` qualifies a recovery (several matches of one lineage)."""

    entry: Entry | None
    candidates: list[Candidate] = field(default_factory=list)
    reason: str = ""
    caveat: str | None = None


def recover(ledger: Ledger, image: Image.Image) -> Recovery:
    """The entry that produced the recorded original of ``image``, if the fingerprints agree."""
    query = fingerprint.compute(image)
    hits = index_for(ledger, fingerprint.SEARCH_KIND).search(
        query.phash, fingerprint.SEARCH_RADIUS, CANDIDATES
    )
    stored: dict[str, fingerprint.Fingerprints] = {}
    entry_of: dict[str, str] = {}
    for hit in hits:
        if hit.output in stored:
            continue
        try:
            stored[hit.output] = _stored_fingerprints(ledger, hit.output, hit.entry_id)
        except Exception:  # a partial record cannot confirm anything
            continue
        entry_of[hit.output] = hit.entry_id
    best, ranked = fingerprint.choose(query, stored)
    found = Recovery(
        None,
        [
            Candidate(key, entry_of[key], a.distances, a.label, a.confident, a.reason)
            for key, a in ranked
        ],
    )
    strong = [key for key, a in ranked if a.confident]
    if best is not None:
        found.entry = _producer(ledger, best, entry_of[best])
    elif len(strong) > 1:
        found.entry = _one_lineage(ledger, [_producer(ledger, k, entry_of[k]) for k in strong])
        if found.entry is not None:
            found.caveat = (
                f"{len(strong)} recorded images of one lineage match (an "
                "edit and its ancestors); reporting the latest of them"
            )
    if found.entry is None:
        found.reason = (
            "several unrelated recorded images match equally well; not recovered"
            if strong
            else f"{NO_ENTRY} (look-alikes below, none close enough)"
            if ranked
            else NO_ENTRY
        )
    return found


def _stored_fingerprints(ledger: Ledger, output: str, entry_id: str) -> fingerprint.Fingerprints:
    """The entry body's full fingerprints (with the detail grid that tells words apart), else the
    ledger table's 64-bit kinds (older entries: never confident, since words go unchecked)."""
    entry = ledger.get(entry_id)
    out = entry.body.get("output") if entry is not None else None
    if isinstance(out, dict) and out.get("sha256") == output:
        fps = out.get("fingerprints")
        if isinstance(fps, dict) and "detail" in fps:
            return fingerprint.Fingerprints.from_json(fps)
    return fingerprint.Fingerprints.from_ledger(ledger.fingerprints_of(output))


def _producer(ledger: Ledger, output: str, entry_id: str) -> Entry | None:
    producers = ledger.find_by_output(output)
    return producers[-1] if producers else ledger.get(entry_id)


def _one_lineage(ledger: Ledger, entries: list[Entry | None]) -> Entry | None:
    """The entry whose lineage holds every other one, when the matches are one edit history;
    look-alikes from different histories stay ambiguous."""
    ids = {e.id for e in entries if e is not None}
    if len(ids) != len(entries):
        return None
    for e in sorted((x for x in entries if x is not None), key=lambda x: -x.index):
        if ids <= {x.id for x in ledger.lineage(e.id)}:
            return e
    return None
