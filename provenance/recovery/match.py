"""Recovering the recorded original of a stripped copy: the ledger's fingerprint index as a fast
prefilter on one hash, every fingerprint assessed (:func:`fingerprint.choose`), then the leads
confirmed pixel by pixel against the recorded originals (:mod:`provenance.recovery.confirm`).

Example::

    from provenance.home.originals import reader_for
    from provenance.recovery.match import recover

    found = recover(ledger, image, reader_for(home).get)   # image: a PIL image, no credentials
    found.entry, found.pixels.state if found.pixels else None   # entry only when "confirmed"

Without ``original_of`` (or when it has no copy of a lead) nothing is recovered: a perceptual
match is a lead, never proof; ``found.pixels`` says why (``unavailable``, ``altered``...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from ledger.fingerprint_index import index_for
from provenance.recovery import fingerprint

if TYPE_CHECKING:
    from PIL import Image

    from ledger import Entry, Ledger
    from provenance.recovery.confirm import Confirmation

OriginalOf = Callable[[str], bytes | None]  # a recorded output's SHA-256 -> its bytes, if kept

CANDIDATES = 20  # prefilter hits to assess; more than this many look-alikes is noise
LEADS = 3  # strong or possible matches whose pixels are compared with their originals
# The pixels of a lead against its recorded original; "unavailable": no copy of it at hand.
PixelState = Literal["confirmed", "altered", "unaligned", "unavailable"]


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
    pixels: PixelState | None = None  # None: its pixels were not compared (not a lead)


@dataclass(frozen=True)
class Pixels:
    """The pixel comparison that decided: the lead, its state, and the regions that differ."""

    state: PixelState
    candidate: Candidate
    confirmation: Confirmation | None  # None when the original was unavailable


@dataclass
class Recovery:
    """What the search found: ``entry`` is None when nothing was recovered (``reason`` says why);
    ``caveat`` qualifies a recovery (several matches of one lineage); ``pixels`` is the deciding
    pixel comparison (the recovered one's, else the best lead's)."""

    entry: Entry | None
    candidates: list[Candidate] = field(default_factory=list)
    reason: str = ""
    caveat: str | None = None
    pixels: Pixels | None = None


def recover(ledger: Ledger, image: Image.Image, original_of: OriginalOf | None = None) -> Recovery:
    """The entry that produced the recorded original of ``image``, if its pixels are confirmed
    against that original (``original_of``); the fingerprints only choose the leads."""
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
    _, ranked = fingerprint.choose(query, stored)
    candidates = [
        Candidate(key, entry_of[key], a.distances, a.label, a.confident, a.reason)
        for key, a in ranked
    ]
    leads = [c for c in candidates if c.label != "no match"][:LEADS]
    checked: list[Pixels] = []
    for lead in leads:
        if any(p.state == "confirmed" for p in checked) and not lead.confident:
            continue  # only another strong match can confirm too (and make it ambiguous)
        checked.append(_pixels(image, lead, original_of))
    by_output = {p.candidate.output: p for p in checked}
    found = Recovery(
        None, [replace(c, pixels=by_output[c.output].state) if c.output in by_output else c
               for c in candidates]
    )  # fmt: skip
    confirmed = [p for p in checked if p.state == "confirmed"]
    found.pixels = confirmed[0] if confirmed else (checked[0] if checked else None)
    if len(confirmed) == 1:
        found.entry = _producer(ledger, confirmed[0].candidate.output, confirmed[0].candidate.entry)
    elif len(confirmed) > 1:
        entries = [_producer(ledger, p.candidate.output, p.candidate.entry) for p in confirmed]
        found.entry = _one_lineage(ledger, entries)
        if found.entry is not None:
            found.pixels = confirmed[[e.id if e else None for e in entries].index(found.entry.id)]
            found.caveat = (
                f"{len(confirmed)} recorded images of one lineage match (an "
                "edit and its ancestors); reporting the latest of them"
            )
    if found.entry is None:
        found.reason = (
            "several unrelated recorded images match equally well; not recovered"
            if len(confirmed) > 1
            else f"{NO_ENTRY} (look-alikes below, none close enough)"
            if candidates
            else NO_ENTRY
        )
    return found


def _pixels(image: Image.Image, lead: Candidate, original_of: OriginalOf | None) -> Pixels:
    """Compare ``image`` with the recorded original of ``lead``, when one is at hand."""
    data = original_of(lead.output) if original_of is not None else None
    if data is None:
        return Pixels("unavailable", lead, None)
    from provenance.media import imaging
    from provenance.recovery.confirm import confirm

    try:
        original = imaging.open_image(data, name=f"original {lead.output[:16]}")
        found = confirm(image, original)
    except Exception:  # a stored original that cannot be read confirms nothing
        return Pixels("unavailable", lead, None)
    return Pixels(found.state, lead, found)


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
