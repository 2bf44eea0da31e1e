"""Pixel confirmation: is a stripped copy the recorded original's pixels, or a doctored look-alike?

Perceptual fingerprints only say "looks like": an image with other numbers whose 32x32 block means
were shifted back to the recorded ones fools every one of them. :func:`confirm` aligns the copy
to the recorded original (OpenCV: the copy may be resized, re-encoded, slightly cropped, made
grayscale or uniformly brightened), then compares them at the original's full resolution, after
blurring both to the detail the copy can still show. Differences beyond what re-encoding leaves
are reported as regions, in the original's pixel coordinates. Calibrated in
``bench/calibrate_fingerprints.py`` (docs/recovery.md).

Example::

    >>> from PIL import Image, ImageDraw
    >>> card = Image.new("RGB", (512, 512), "white")
    >>> ImageDraw.Draw(card).text((40, 200), "68% to 32%", fill="black", font_size=60)
    >>> confirm(card.resize((256, 256)).convert("L"), card).state
    'confirmed'
    >>> doctored = card.copy()
    >>> ImageDraw.Draw(doctored).rectangle((40, 200, 200, 270), fill="white")
    >>> ImageDraw.Draw(doctored).text((40, 200), "86%", fill="black", font_size=60)
    >>> found = confirm(doctored, card)
    >>> found.state, len(found.regions) >= 1
    ('altered', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from provenance.recovery.regions import OUTLINE as OUTLINE  # re-exported with outline
from provenance.recovery.regions import Region, mapped, regions_of
from provenance.recovery.regions import outline as outline

__all__ = ["OUTLINE", "Confirmation", "Region", "confirm", "outline"]

State = Literal["confirmed", "altered", "unaligned"]
Plane = npt.NDArray[Any]  # float32 (OpenCV's stubs type every result loosely)
Mask = npt.NDArray[Any]  # bool
Affine = npt.NDArray[Any]  # 3x3: copy pixel (x, y, 1) -> original pixel

MAX_COMPARE_PIXELS = 16_000_000  # larger originals are compared at this many pixels
MAX_CROP = 0.15  # a copy may lack up to this fraction of the original's width or height
_WORK = 256  # long side of the scale and offset search
_REFINE = 768  # long side at which the alignment is refined (ECC)
_MIN_CORRELATION = 0.6  # below this, the copy is not this original, however it was transformed
# Calibrated (docs/recovery.md): after both sides are blurred to what the copy can resolve, a
# pixel differs when its luminance step exceeds _FLOOR + _NOISE x the copy's typical step (its
# re-encoding noise, measured on the whole frame), or its chroma step _CHROMA_FLOOR + the same.
_FLOOR = 14.0
_NOISE = 4.0
_CHROMA_FLOOR = 18.0
_GAIN = (0.7, 1.4)
# A uniform brightening or darkening moves luma by at most this many levels: an unbounded offset
# would map the whole original onto a flat copy (a black square "confirmed" a recorded poster).
_MAX_OFFSET = 40.0
# A copy smaller than a quarter of the original (linear) shows too little to vouch for its
# pixels: a doctored poster shrunk to 24x24 px "confirmed". (4.1: rounding of an exact quarter.)
MAX_SCALE = 4.1
_NOISE_CAP = 4.0
_FIT_SAMPLES = 20_000


@dataclass(frozen=True)
class Confirmation:
    """The verdict on the pixels: ``confirmed``, ``altered`` (see ``regions``) or ``unaligned``.

    ``copy_regions`` are the same boxes in the copy's own pixel coordinates (for pictures);
    ``coverage`` is the fraction of the original the copy shows (below 1 for a cropped copy)."""

    state: State
    reason: str
    regions: list[Region] = field(default_factory=list)
    copy_regions: list[Region] = field(default_factory=list)
    coverage: float = 0.0
    scale: float = 0.0  # original pixels per copy pixel
    original_size: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class _Planes:
    y: Plane
    cb: Plane | None  # None: the image has no colour (grayscale)
    cr: Plane | None

    @property
    def size(self) -> tuple[int, int]:
        return self.y.shape[1], self.y.shape[0]


def _planes(image: Image.Image) -> _Planes:
    """Luma (ITU-R 601, as Pillow's ``convert("L")``) and chroma, as float32 planes."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    if image.mode in ("L", "I;16", "I", "F", "1"):
        return _Planes(np.asarray(image.convert("L"), dtype=np.float32), None, None)
    ycc = np.asarray(image.convert("RGB").convert("YCbCr"), dtype=np.float32)
    cb, cr = ycc[..., 1], ycc[..., 2]
    if float(np.abs(cb - 128).max()) <= 2 and float(np.abs(cr - 128).max()) <= 2:
        return _Planes(np.ascontiguousarray(ycc[..., 0]), None, None)  # RGB, but gray
    return _Planes(*(np.ascontiguousarray(ycc[..., i]) for i in range(3)))


def _resize_map(kx: float, ky: float) -> Affine:
    """The pixel-centre mapping of a resize by (kx, ky): x' = kx (x + 0.5) - 0.5."""
    return np.array([[kx, 0, (kx - 1) / 2], [0, ky, (ky - 1) / 2], [0, 0, 1]], dtype=np.float64)


def _shrink(plane: Plane, long_side: int) -> tuple[Plane, Affine]:
    """``plane`` downscaled to ``long_side`` (never enlarged) and the map full -> small."""
    h, w = plane.shape
    k = min(1.0, long_side / max(w, h))
    if k == 1.0:
        return plane, np.eye(3)
    size = (max(8, round(w * k)), max(8, round(h * k)))
    small = cv2.resize(plane, size, interpolation=cv2.INTER_AREA)
    return small, _resize_map(size[0] / w, size[1] / h)


def _search(copy: Plane, original: Plane) -> tuple[Affine, float] | None:
    """Scale and offset of the copy inside the original (at _WORK px): template matching over
    every scale from "fills the frame" down to MAX_CROP smaller; map copy -> original, score."""
    o_small, o_map = _shrink(original, _WORK)
    c_small, c_map = _shrink(copy, 2 * _WORK)
    oh, ow = o_small.shape
    ch, cw = c_small.shape
    fit = min(ow / cw, oh / ch)
    best: tuple[float, float, tuple[int, int], tuple[int, int]] | None = None
    steps = max(2, round(max(ow, oh) * MAX_CROP))
    for k in np.linspace(fit, fit * (1 - MAX_CROP), steps + 1):
        size = (min(ow, max(8, round(cw * k))), min(oh, max(8, round(ch * k))))
        template = cv2.resize(c_small, size, interpolation=cv2.INTER_AREA)
        if float(template.std()) < 1e-3:
            continue
        scores = cv2.matchTemplate(o_small, template, cv2.TM_CCOEFF_NORMED)
        _, score, _, at = cv2.minMaxLoc(scores)
        if best is None or score > best[0]:
            best = (float(score), float(k), (int(at[0]), int(at[1])), size)
    if best is None:
        return None
    score, _, (x, y), size = best
    # copy full -> copy small -> template (resize) -> original small (shift) -> original full
    to_template = _resize_map(size[0] / cw, size[1] / ch) @ c_map
    shift = np.array([[1, 0, x], [0, 1, y], [0, 0, 1]], dtype=np.float64)
    return np.linalg.inv(o_map) @ shift @ to_template, score


def _refine(copy: Plane, original: Plane, guess: Affine) -> Affine:
    """ECC (enhanced correlation) refinement of ``guess`` to sub-pixel accuracy at _REFINE px."""
    c_small, c_map = _shrink(copy, _REFINE)
    scale = float(np.sqrt(abs(np.linalg.det(guess[:2, :2]))))
    o_small, o_map = _shrink(original, max(8, round(_REFINE * scale)))
    # the guess between the two small planes: copy small -> copy -> original -> original small
    between = o_map @ guess @ np.linalg.inv(c_map)
    warp = between[:2].astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    try:
        _, warp = cv2.findTransformECC(
            c_small,
            o_small,
            warp,
            cv2.MOTION_AFFINE,
            criteria,
            None,
            5,  # type: ignore[call-overload]
        )
    except cv2.error:
        return guess  # flat images may not converge: the search's estimate stands
    refined: Affine = np.vstack([np.asarray(warp, dtype=np.float64), [0, 0, 1]])
    if np.abs(refined - between).max() > 0.05 * max(o_small.shape) + 1:
        return guess  # ECC wandered off
    full: Affine = np.linalg.inv(o_map) @ refined @ c_map
    return full


def _full_frame(copy: Plane, original: Plane) -> Affine | None:
    """The exact map of a copy that shows the whole frame, resized (aspect kept within 1%)."""
    (ch, cw), (oh, ow) = copy.shape, original.shape
    if abs((ow / cw) / (oh / ch) - 1) > 0.01:
        return None
    return _resize_map(ow / cw, oh / ch)


def confirm(copy: Image.Image, original: Image.Image) -> Confirmation:
    """Align ``copy`` to ``original`` and compare them at the original's full resolution (above
    :data:`MAX_COMPARE_PIXELS`, at that many: memory stays bounded; regions are scaled back)."""
    w, h = original.size
    if w * h <= MAX_COMPARE_PIXELS:
        return _big_enough(_confirm(_planes(copy), _planes(original)))
    k = (MAX_COMPARE_PIXELS / (w * h)) ** 0.5
    small = original.resize((max(8, int(w * k)), max(8, int(h * k))), Image.Resampling.BOX)
    if copy.width * copy.height > MAX_COMPARE_PIXELS:  # the same filter on both sides
        copy = copy.resize(
            (max(8, int(copy.width * k)), max(8, int(copy.height * k))), Image.Resampling.BOX
        )
    # two different downscales of one picture: compare them a little softer
    found = _confirm(_planes(copy), _planes(small), soften=2.5)
    back = (w / small.width, h / small.height)
    regions = [
        Region(round(r.x * back[0]), round(r.y * back[1]), round(r.width * back[0]),
               round(r.height * back[1]))
        for r in found.regions
    ]  # fmt: skip
    scale = found.scale * back[0]
    return _big_enough(replace(found, regions=regions, scale=scale, original_size=(w, h)))


def _big_enough(found: Confirmation) -> Confirmation:
    """Pixels compared across more than :data:`MAX_SCALE` in size vouch for nothing: a copy
    that much smaller cannot show what was changed, one that much larger shows detail the
    original never had. Such a copy's pixels count as not compared, whatever they agree on."""
    if found.state == "unaligned" or 1 / MAX_SCALE <= found.scale <= MAX_SCALE:
        return found
    why = (
        f"the copy is {1 / found.scale:.0%} of the recorded original's size: under 25% it shows "
        "too little detail to confirm its pixels"
        if found.scale > MAX_SCALE
        else f"the copy is {1 / found.scale:.1f} times the recorded original's size: over 4 "
        "times it shows detail the original does not have, which cannot be confirmed"
    )
    return replace(found, state="unaligned", reason=why, regions=[], copy_regions=[])


def _confirm(cp: _Planes, og: _Planes, soften: float = 1.0) -> Confirmation:
    best: Confirmation | None = None
    exact = _full_frame(cp.y, og.y)
    if exact is not None:  # the common case (re-encoded or resized): no search needed
        best = _compare(cp, og, exact, soften)
        if best.state == "confirmed":
            return best
    found = _search(cp.y, og.y)
    if found is not None and found[1] >= _MIN_CORRELATION:
        result = _compare(cp, og, _refine(cp.y, og.y, found[0]), soften)
        if best is None or _area(result) < _area(best):
            best = result
    if best is None:
        why = "no scale or small crop of the copy lines up with the recorded original"
        return Confirmation("unaligned", why, original_size=og.size)
    return best


def _area(c: Confirmation) -> int:
    """How much differs: a confirmation beats any alteration, which beats no alignment."""
    if c.state == "confirmed":
        return -1
    return sum(r.width * r.height for r in c.regions) if c.state == "altered" else 1 << 62


def _compare(cp: _Planes, og: _Planes, warp: Affine, soften: float = 1.0) -> Confirmation:
    """Differences between the copy (warped into the original's frame) and the original."""
    w, h = og.size
    scale = float(np.sqrt(abs(np.linalg.det(warp[:2, :2]))))
    m = warp[:2].astype(np.float64)
    shown = cv2.warpAffine(np.ones_like(cp.y), m, (w, h), flags=cv2.INTER_NEAREST)
    margin = max(4, round(4 * scale))  # resampling smears the copy's own borders
    inside: Mask = cv2.erode(shown, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) > 0.5
    coverage = float(inside.mean())
    if coverage < (1 - MAX_CROP) ** 2 * 0.97:
        why = f"the copy shows only {coverage:.0%} of the recorded original"
        return Confirmation("unaligned", why, coverage=coverage, scale=scale, original_size=(w, h))
    sigma = max(soften, scale)
    y_copy = _blur(cv2.warpAffine(cp.y, m, (w, h), flags=cv2.INTER_LINEAR), sigma)
    y_orig = _tone_matched(_blur(_as_seen(og.y, scale), sigma), y_copy, inside, None)
    differs = _differs(np.abs(y_copy - y_orig), inside, _FLOOR)
    if cp.cb is not None and cp.cr is not None:  # a grayscale copy has no colour to compare
        differs |= _chroma_differs(cp, og, warp, inside)
    regions = regions_of(differs & inside, scale)
    if not regions:
        return Confirmation(
            "confirmed", _confirmed_words(coverage), [], [], coverage, scale, (w, h)
        )
    back = np.linalg.inv(warp)
    why = f"{len(regions)} region(s) differ from the recorded original beyond re-encoding noise"
    copy_regions = [mapped(r, back) for r in regions]
    return Confirmation("altered", why, regions, copy_regions, coverage, scale, (w, h))


def _chroma_differs(cp: _Planes, og: _Planes, warp: Affine, inside: Mask) -> Mask:
    """Chroma compared at half resolution (JPEG keeps no more of it), then scaled back up."""
    (w, h), half = og.size, (max(8, (og.size[0] + 1) // 2), max(8, (og.size[1] + 1) // 2))
    to_half = _resize_map(half[0] / w, half[1] / h)
    m = (to_half @ warp)[:2]
    scale = float(np.sqrt(abs(np.linalg.det(m[:2, :2]))))
    sigma = max(1.0, 2 * scale)  # twice the luma's blur, at full resolution
    inside_h = cv2.resize(inside.astype(np.uint8), half, interpolation=cv2.INTER_NEAREST) > 0
    differs = np.zeros((half[1], half[0]), dtype=bool)
    for c_plane, o_plane in ((cp.cb, og.cb), (cp.cr, og.cr)):
        assert c_plane is not None
        warped = _blur(cv2.warpAffine(c_plane, m, half, flags=cv2.INTER_LINEAR), sigma)
        if o_plane is None:  # colour where the recorded original has none
            seen = np.full_like(warped, 128.0)
        else:
            o_half = cv2.resize(o_plane, half, interpolation=cv2.INTER_AREA)
            seen = _tone_matched(_blur(_as_seen(o_half, scale), sigma), warped, inside_h, 128)
        differs |= _differs(np.abs(warped - seen), inside_h, _CHROMA_FLOOR)
    up: Mask = cv2.resize(differs.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    return up


def _confirmed_words(coverage: float) -> str:
    shown = "" if coverage > 0.97 else f" (the copy shows {coverage:.0%} of the original)"
    return f"every pixel agrees within re-encoding noise{shown}"


def _blur(plane: Plane, sigma: float) -> Plane:
    return cv2.GaussianBlur(plane, (0, 0), sigma)


def _as_seen(plane: Plane, scale: float) -> Plane:
    """The original as a copy ``scale`` times smaller can show it: shrunk, then enlarged back."""
    if scale <= 1.05:
        return plane
    h, w = plane.shape
    small = cv2.resize(
        plane, (max(8, round(w / scale)), max(8, round(h / scale))), interpolation=cv2.INTER_AREA
    )
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _differs(step: Plane, inside: Mask, floor: float) -> Mask:
    """Pixels whose step exceeds the floor plus this copy's typical step (its re-encoding noise,
    capped: a copy that differs everywhere must not raise its own tolerance)."""
    sample = step[inside]
    noise = min(_NOISE_CAP, float(np.median(sample[:: max(1, sample.size // _FIT_SAMPLES)])))
    return step > floor + _NOISE * noise


def _tone_matched(original: Plane, copy: Plane, inside: Mask, centre: float | None) -> Plane:
    """The original after the brightness/contrast change that best explains the copy: gain and
    offset for luma; for chroma (``centre`` 128) a saturation gain only, so a hue never moves."""
    step = max(1, int(inside.sum()) // _FIT_SAMPLES)  # a sample fits as well, far faster
    o = original[inside][::step].astype(np.float64)
    c = copy[inside][::step].astype(np.float64)
    if o.size < 16 or float(o.std()) < 1e-6:
        return original
    # From "no change", refit on the pixels the fit explains: altered parts are outliers, and
    # must not bend the fit (a least-squares fit over everything would).
    gain, offset = _fit(o, c, centre)
    for _ in range(4):
        residual = np.abs(o * gain + offset - c)
        keep = residual <= max(20.0, 3 * float(np.median(residual)))
        if keep.sum() < 16:
            break
        gain, offset = _fit(o[keep], c[keep], centre)
    matched: Plane = np.clip(original * gain + offset, 0, 255).astype(np.float32)
    return matched


def _fit(o: Plane, c: Plane, centre: float | None) -> tuple[float, float]:
    """Least-squares gain and offset (``centre``: a gain about it only), gain within _GAIN and
    offset within _MAX_OFFSET."""
    if o.size < 2 or float(o.std()) < 1e-6:
        return 1.0, _bounded(float(np.median(c - o))) if centre is None else 0.0
    if centre is None:
        gain, offset = (float(v) for v in np.polyfit(o, c, 1))
        if _GAIN[0] <= gain <= _GAIN[1]:
            return gain, _bounded(offset)
        return 1.0, _bounded(float(np.median(c - o)))
    d = o - centre
    gain = float(np.dot(d, c - centre) / max(float(np.dot(d, d)), 1e-6))
    gain = gain if _GAIN[0] <= gain <= _GAIN[1] else 1.0
    return gain, centre * (1 - gain)


def _bounded(offset: float) -> float:
    return max(-_MAX_OFFSET, min(_MAX_OFFSET, offset))
