"""The pictures a verify report carries for its HTML page: the file itself, downscaled, and a
copy's regions that differ from its recorded original, outlined."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from provenance.verify.report import REGIONS_PICTURE, VerificationReport

if TYPE_CHECKING:
    from PIL import Image

_THUMB_EDGE = 320


def regions_picture(
    report: VerificationReport, image: Image.Image, boxes: list[dict[str, int]]
) -> None:
    """The copy with the regions that differ from the recorded original outlined (HTML)."""
    if not boxes:
        return
    from provenance.recovery.confirm import outline

    buf = io.BytesIO()
    outline(image, [(b["x"], b["y"], b["width"], b["height"]) for b in boxes]).save(buf, "PNG")
    report.thumbnails[REGIONS_PICTURE] = buf.getvalue()


def self_thumbnail(
    report: VerificationReport, data: bytes, image: Image.Image | None = None
) -> None:
    """The file itself, downscaled, as the root picture of the HTML report."""
    try:
        from provenance.media import imaging

        img = image if image is not None else imaging.open_image(data, name=report.path)
        small = img.convert("RGB")
        small.thumbnail((_THUMB_EDGE, _THUMB_EDGE))
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=80)
    except Exception:
        return  # a report without a picture is still a report
    report.thumbnails["self:file"] = buf.getvalue()
    if report.chain is not None and report.chain.thumbnail is None:
        report.chain.thumbnail = "self:file"
