"""How a desk reads C2PA facts: human action names and one AI-disclosure line (text and HTML).

Example::

    >>> action_name("c2pa.color_adjustments")
    'Color adjustments'
"""

from __future__ import annotations

from provenance.verify.printable import printable as p
from provenance.verify.report import VerificationReport

# C2PA action names as a desk reads them (Content Credentials Verify's wording).
_ACTIONS = {
    "c2pa.created": "Created",
    "c2pa.opened": "Opened",
    "c2pa.edited": "Edited",
    "c2pa.edited.metadata": "Edited metadata",
    "c2pa.color_adjustments": "Color adjustments",
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
    """One AI-disclosure statement that cannot contradict itself."""
    dst = r.digital_source_type
    by = f" by {p(r.model)}" if r.model else ""
    if r.ai_generated:
        edit = dst is not None and dst.startswith("composite")
        kind = "AI editing" if edit else "AI generation"
        return f"declares {kind}{by}" + (f" ({p(dst)})" if dst else "")
    if dst == "algorithmicMedia":
        return f"a procedural (non-AI) engine{by} (algorithmicMedia)"
    return "declares no AI use"
