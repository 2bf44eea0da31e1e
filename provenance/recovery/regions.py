"""The regions where a copy differs from its recorded original: boxes around the differing pixels
(:func:`regions_of`), mapped between the two frames, and a picture of them (:func:`outline`).

Example::

    >>> import numpy as np
    >>> mask = np.zeros((100, 200), dtype=bool)
    >>> mask[40:60, 120:150] = True
    >>> regions_of(mask, 1.0)
    [Region(x=119, y=39, width=34, height=24)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageOps

Mask = npt.NDArray[Any]  # bool
Affine = npt.NDArray[Any]  # 3x3

_MIN_AREA = 12  # copy pixels: a differing blob smaller than this is edge noise
_MAX_REGIONS = 12


@dataclass(frozen=True)
class Region:
    """A box where the copy's pixels differ from the original's (original pixel coordinates)."""

    x: int
    y: int
    width: int
    height: int


def regions_of(mask: Mask, scale: float) -> list[Region]:
    """Boxes around the differing blobs (nearby ones merged), largest first."""
    grow = max(1, round(2 * max(1.0, scale)))
    blob = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    blob = cv2.dilate(blob, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(blob, connectivity=8)
    min_area = _MIN_AREA * max(1.0, scale) ** 2 + (2 * grow + 1) ** 2
    boxes = [
        Region(int(x), int(y), int(w), int(h))
        for x, y, w, h, area in stats[1:count]
        if area >= min_area
    ]
    return sorted(_merged(boxes), key=lambda r: -r.width * r.height)[:_MAX_REGIONS]


def _merged(boxes: list[Region]) -> list[Region]:
    """Overlapping boxes joined into one (a glyph's blob inside its word's box, say)."""
    out: list[Region] = []
    for b in boxes:
        while hit := next((o for o in out if _overlap(o, b)), None):
            out.remove(hit)
            x0, y0 = min(hit.x, b.x), min(hit.y, b.y)
            x1 = max(hit.x + hit.width, b.x + b.width)
            y1 = max(hit.y + hit.height, b.y + b.height)
            b = Region(x0, y0, x1 - x0, y1 - y0)
        out.append(b)
    return out


def _overlap(a: Region, b: Region) -> bool:
    return (
        a.x < b.x + b.width
        and b.x < a.x + a.width
        and a.y < b.y + b.height
        and b.y < a.y + a.height
    )


def mapped(r: Region, m: Affine) -> Region:
    corners = np.array([[r.x, r.y, 1], [r.x + r.width, r.y + r.height, 1]], dtype=np.float64) @ m.T
    (x0, y0), (x1, y1) = corners[:, :2].min(axis=0), corners[:, :2].max(axis=0)
    return Region(int(x0), int(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0)))


OUTLINE = (255, 0, 170)  # the colour regions are outlined in (rare in photographs)


def outline(
    copy: Image.Image, boxes: Sequence[tuple[int, int, int, int]], long_side: int = 480
) -> Image.Image:
    """The copy, downscaled, with each box ``(x, y, width, height)`` in the copy's pixels (a
    :attr:`Confirmation.copy_regions`) outlined in :data:`OUTLINE`."""
    picture = ImageOps.exif_transpose(copy).convert("RGB")
    k = min(1.0, long_side / max(picture.size))
    picture = picture.resize((max(1, round(picture.width * k)), max(1, round(picture.height * k))))
    draw = ImageDraw.Draw(picture)
    width = max(2, round(max(picture.size) / 160))
    for x, y, w, h in boxes:
        box = (x * k - width, y * k - width, (x + w) * k + width, (y + h) * k + width)
        draw.rectangle(box, outline=OUTLINE, width=width)
    return picture
