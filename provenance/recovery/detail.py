"""The local-detail grid: tells apart same-layout images that differ only in a few words.

Global hashes (pHash, dHash, PDQ, colour) see a poster titled "Election night" and one titled
"Election day" as the same picture. This grid keeps, for each of 32x32 blocks of the 256x256
working image, the mean luminance (8 bits) and the texture (standard deviation, 4 bits on a square
root scale), plus the source's short side. :func:`detail_mismatch` counts blocks whose luminance
differs by more than re-encoding or resizing explains; calibrated in docs/recovery.md.

Example::

    >>> from PIL import Image, ImageDraw
    >>> card = Image.new("L", (256, 256), 255)
    >>> ImageDraw.Draw(card).text((20, 100), "Election night", fill=0, font_size=32)
    >>> other = Image.new("L", (256, 256), 255)
    >>> ImageDraw.Draw(other).text((20, 100), "Election day", fill=0, font_size=32)
    >>> detail_mismatch(detail_grid(card, 1024), detail_grid(card, 1024))
    0
    >>> detail_mismatch(detail_grid(other, 1024), detail_grid(card, 1024)) > 0
    True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

GRID = 32
DETAIL_BYTES = 2 + GRID * GRID + GRID * GRID // 2  # short side, means, texture nibbles
_WORK = 256
_BLOCK = _WORK // GRID
_TEX_SCALE = 1.4  # texture level = round(sqrt(std) * 1.4), 0..15: finer steps for smooth blocks

# Calibrated in bench/calibrate_fingerprints.py (docs/recovery.md): a block differs when its
# luminance step exceeds _FLOOR levels, plus _NOISE times this copy's median step (JPEG
# and brightness move every block a little), plus its texture times the larger of _TEX_MIN and
# _SPREAD times the copy's median error per unit of texture (resampling moves textured blocks
# more, and evenly; a changed word moves a few blocks while the rest of the text agrees).
_FLOOR = 8.0
_NOISE = 2.0
_TEX_MIN = 0.1
_SPREAD = 2.0
_TEXTURED = 8.0  # blocks at least this textured estimate the copy's typical error
_FULL_DETAIL_SIDE = 256  # a smaller source is compared on a coarser grid (2x2 or 4x4 blocks)
_GAIN = (0.7, 1.4)  # brightness/contrast changes allowed before falling back to an offset only

Grid = npt.NDArray[np.float64]


def detail_grid(gray: Image.Image, short_side: int) -> bytes:
    """The grid of a 256x256 grayscale working image whose source's short side is given."""
    pixels = np.asarray(gray, dtype=np.float64)
    if pixels.shape != (_WORK, _WORK):
        raise ValueError(f"detail grid needs a {_WORK}x{_WORK} image, got {pixels.shape}")
    blocks = pixels.reshape(GRID, _BLOCK, GRID, _BLOCK)
    means = np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)
    levels = np.minimum(15, np.rint(np.sqrt(blocks.std(axis=(1, 3))) * _TEX_SCALE)).astype(np.uint8)
    nibbles = (levels[:, 0::2] << 4) | levels[:, 1::2]
    grid: bytes = means.tobytes() + nibbles.tobytes()
    return min(short_side, 0xFFFF).to_bytes(2, "big") + grid


def _parse(data: bytes) -> tuple[int, Grid, Grid]:
    side = int.from_bytes(data[:2], "big")
    means = np.frombuffer(data, np.uint8, GRID * GRID, 2).reshape(GRID, GRID).astype(np.float64)
    packed = np.frombuffer(data, np.uint8, GRID * GRID // 2, 2 + GRID * GRID).reshape(GRID, -1)
    levels = np.empty((GRID, GRID), dtype=np.float64)
    levels[:, 0::2], levels[:, 1::2] = packed >> 4, packed & 15
    return side, means, (levels / _TEX_SCALE) ** 2


def _pool(means: Grid, tex: Grid, factor: int) -> tuple[Grid, Grid]:
    """Merge factor x factor blocks: the mean of means, and the pooled standard deviation."""
    if factor == 1:
        return means, tex
    n = GRID // factor
    pooled = means.reshape(n, factor, n, factor).mean(axis=(1, 3))
    power = (tex**2 + means**2).reshape(n, factor, n, factor).mean(axis=(1, 3))
    return pooled, np.sqrt(np.maximum(power - pooled**2, 0.0))


def detail_mismatch(query: bytes, candidate: bytes) -> int:
    """Blocks where the query differs from the candidate beyond re-encoding noise (0: agree)."""
    q_side, q_means, q_tex = _parse(query)
    c_side, c_means, c_tex = _parse(candidate)
    factor = 1
    # A small source cannot show fine detail: compare on the grid its pixels can resolve.
    while min(q_side, c_side) * factor < _FULL_DETAIL_SIDE and factor < 4:
        factor *= 2
    q_means, q_tex = _pool(q_means, q_tex, factor)
    c_means, c_tex = _pool(c_means, c_tex, factor)
    expected, clipped = _tone_matched(c_means, c_tex, q_means)
    residual = np.abs(q_means - expected)
    # Texture both sides share: where one side is flat, ink added or removed there shows.
    texture = np.minimum(q_tex, c_tex)
    textured = texture >= _TEXTURED
    spread = (
        float(np.median(residual[textured] / texture[textured])) if textured.sum() >= 8 else 0.0
    )
    noise = float(np.median(residual))
    tolerance = _FLOOR + _NOISE * noise + clipped + texture * max(_TEX_MIN, _SPREAD * spread)
    return int((residual > tolerance).sum())


def _tone_matched(candidate: Grid, tex: Grid, query: Grid) -> tuple[Grid, Grid]:
    """The candidate's means after the brightness/contrast change that best explains the query,
    and per block how much clipping at black or white that change may have cost a textured block
    (a brightened copy loses its highlights, so its block means fall short of the linear guess)."""
    design = np.stack([candidate.ravel(), np.ones(candidate.size)], axis=1)
    (gain, offset), *_ = np.linalg.lstsq(design, query.ravel(), rcond=None)
    if not _GAIN[0] <= gain <= _GAIN[1]:
        gain, offset = 1.0, float(np.mean(query - candidate))
    linear = candidate * gain + offset
    high, low = candidate + tex, candidate - tex
    # Only the overflow the tone change adds: an unchanged copy gets no extra tolerance.
    over = np.maximum(high * gain + offset - 255.0, 0.0) - np.maximum(high - 255.0, 0.0)
    under = np.maximum(-(low * gain + offset), 0.0) - np.maximum(-low, 0.0)
    return np.clip(linear, 0.0, 255.0), np.maximum(over, 0.0) + np.maximum(under, 0.0)
