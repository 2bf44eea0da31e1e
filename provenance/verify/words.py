"""How a desk reads C2PA facts: human action names, one AI-disclosure line (text and HTML), and
one phrase per situation of a stripped copy's pixel check.

Example::

    >>> action_name("c2pa.color_adjustments")
    'Color adjustments'
    >>> action_name("c2pa.adjustedColor")  # the same action under its current name
    'Color adjustments'
"""

from __future__ import annotations

from provenance.verify.printable import printable as p
from provenance.verify.report import Signer, VerificationReport

# C2PA action names as a desk reads them (Content Credentials Verify's wording).
_ACTIONS = {
    "c2pa.created": "Created",
    "c2pa.opened": "Opened",
    "c2pa.edited": "Edited",
    "c2pa.edited.metadata": "Edited metadata",
    "c2pa.color_adjustments": "Color adjustments",
    "c2pa.adjustedColor": "Color adjustments",  # the current name (spec 2.2) of the one above
    "c2pa.addedText": "Added text",
    "c2pa.resized.proportional": "Resized",
    "c2pa.enhanced": "Enhanced",
    "c2pa.cropped": "Cropped",
    "c2pa.resized": "Resized",
    "c2pa.filtered": "Filtered",
    "c2pa.drawing": "Drawing",
    "c2pa.orientation": "Orientation changed",
    "c2pa.placed": "Placed an element",
    "c2pa.removed": "Removed an element",
    "c2pa.converted": "Converted",
    "c2pa.transcoded": "Transcoded",
    "c2pa.repackaged": "Repackaged",
    "c2pa.published": "Published",
    "c2pa.watermarked": "Watermarked",
    "c2pa.redacted": "Redacted",
    "c2pa.unknown": "Other edits",
}


def action_name(action: str) -> str:
    """A human name for a C2PA action (``c2pa.color_adjustments`` -> ``Color adjustments``)."""
    if action in _ACTIONS:
        return _ACTIONS[action]
    return p(action.removeprefix("c2pa.").replace("_", " ").capitalize())


def ai_line(r: VerificationReport) -> str:
    """One AI-disclosure statement that cannot contradict itself, ending with the label the C2PA
    signals rubric gives the file (the words other validators show), when it gives one."""
    label = signals_label(r)
    return _ai_words(r) + (f"; C2PA signals: {label}" if label else "")


def _ai_words(r: VerificationReport) -> str:
    dst = r.digital_source_type
    by = f" by {p(r.model)}" if r.model else ""
    if r.ai_generated:
        edit = dst is not None and dst.startswith("composite")
        kind = "AI editing" if edit else "AI generation"
        return f"declares {kind}{by}" + (f" ({p(dst)})" if dst else "")
    if dst == "algorithmicMedia":
        return f"a procedural (non-AI) engine{by} (algorithmicMedia)"
    return "declares no AI use"


# Actions that change no pixels: they are no "perceptible transformation" for the rubric.
_NOT_PERCEPTIBLE = {
    "c2pa.created",
    "c2pa.opened",
    "c2pa.placed",
    "c2pa.published",
    "c2pa.converted",
    "c2pa.transcoded",
    "c2pa.repackaged",
    "c2pa.edited.metadata",
    "c2pa.watermarked",
}


def signals_label(r: VerificationReport) -> str | None:
    """The signals rubric's classification (docs/conformance.md) of what the file declares.

    >>> from provenance.verify.report import Signer, VerificationReport
    >>> signals_label(VerificationReport("a.png", "trusted", ai_generated=True,
    ...     digital_source_type="trainedAlgorithmicMedia"))
    'Fully GenAI Media'
    """
    dst = r.digital_source_type or ""
    if r.ai_generated:
        return (
            "Perceptible GenAI Transformations"
            if dst.startswith("composite")
            else ("Fully GenAI Media")
        )
    if any(a not in _NOT_PERCEPTIBLE for a in r.actions):
        return "Perceptible Non-GenAI Transformations"
    return None


def stamp_words(signer: Signer) -> str:
    """Whether a time-stamp vouches for the signing time, and which TSA list vouched for it."""
    if signer.time_stamped:
        by = f" by {signer.tsa}" if signer.tsa else ""
        return f"time-stamped{by} ({signer.tsa_source})" if signer.tsa_source else "time-stamped"
    if signer.time:
        return "time-stamp not trusted: its TSA is on no TSA list in force"
    return "no time-stamp"


def product_words(signer: Signer) -> str | None:
    """The signer's product on the C2PA Conforming Products List, when it has one."""
    return f"on the C2PA Conforming Products List: {signer.product}" if signer.product else None


# One phrase per situation of a perceptual lead's pixels (recovery.confirm): text, JSON, HTML.
PIXELS_CONFIRMED = "pixels confirmed against the recorded original"
POSSIBLE_ALTERED = "possible match, altered"
POSSIBLE_UNAVAILABLE = "possible match"
_PIXEL_WHY = {
    "altered": "its pixels differ from the recorded original in {regions}",
    "unaligned": "its pixels could not be compared with the recorded original ({why})",
    "unavailable": "the recorded original was not available to confirm its pixels (no copy in "
    "this home's originals store)",
}


def pixel_words(
    state: str, index: int | None, regions: list[dict[str, int]], reason: str = ""
) -> str:
    """The one sentence for a lead whose pixels did not confirm it (``state`` not confirmed);
    ``reason`` is the comparison's own (why an unaligned copy could not be compared)."""
    head = POSSIBLE_ALTERED if state == "altered" else POSSIBLE_UNAVAILABLE
    boxes = ", ".join(region_words(r) for r in regions[:4]) + (" ..." if len(regions) > 4 else "")
    why = _PIXEL_WHY.get(state, state).format(
        regions=f"{len(regions)} region{'s' if len(regions) != 1 else ''} ({boxes})",
        why=reason or "no alignment found",
    )
    entry = f"ledger entry {index}" if index is not None else "a recorded output"
    return f"{head}: it looks like {entry}, but {why}; not recovered"


def region_words(r: dict[str, int]) -> str:
    """``{x, y, width, height}`` -> ``"120x40 at (300, 96)"``."""
    return f"{r['width']}x{r['height']} at ({r['x']}, {r['y']})"
