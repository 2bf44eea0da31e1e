"""Perceptual fingerprints: find the recorded original of a stripped, re-encoded copy.

A copy that lost its manifest and whose bytes changed (re-encoded, resized, brightened) no longer
matches any SHA-256 in the ledger, but its pixels still look the same. :func:`compute` takes several
cheap perceptual hashes of an image; the ledger scans one of them (:data:`SEARCH_KIND`, within
:data:`SEARCH_RADIUS` bits) to find candidates, and :func:`assess` confirms each candidate with all
of them together, by the rule calibrated in ``bench/calibrate_fingerprints.py`` (table in
``docs/recovery.md``). One weak hash alone never yields a confident match, and a match is confident
only when the local-detail grid (:attr:`Fingerprints.detail`, 32x32 blocks) agrees too, so a
same-layout image whose words differ is never taken for the recorded one.

Example::

    >>> from PIL import Image, ImageDraw
    >>> img = Image.new("RGB", (512, 512), "white")
    >>> ImageDraw.Draw(img).ellipse((60, 90, 400, 380), fill="navy")
    >>> original = compute(img)
    >>> copy = compute(img.resize((256, 256)).convert("L"))
    >>> assess(copy, original).label
    'strong match'
    >>> Fingerprints.from_json(original.to_json()) == original
    True
    >>> ImageDraw.Draw(img).text((60, 420), "day", fill="navy")  # an unrecorded variant
    >>> assess(compute(img), original).label
    'possible match'

Ledger storage: :meth:`Fingerprints.as_ledger` yields 64-bit values as *signed* two's-complement
integers (``-2**63 .. 2**63-1``) so they fit a SQL ``BIGINT``; :meth:`Fingerprints.from_ledger`
accepts signed or unsigned values. Hamming distance is the same either way as long as both sides
use 64-bit two's complement (XOR, then count bits of the unsigned view). The detail grid (1.5 KB)
is not a ledger kind: it travels in :meth:`Fingerprints.to_json`, i.e. in the entry body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import imagehash
import numpy as np
import pdqhash
from PIL import Image, ImageOps

from provenance.errors import InputError
from provenance.recovery.detail import DETAIL_BYTES, detail_grid, detail_mismatch

__all__ = [
    "SEARCH_KIND",
    "SEARCH_RADIUS",
    "Assessment",
    "Fingerprints",
    "assess",
    "choose",
    "compute",
    "hamming",
    "to_signed64",
    "to_unsigned64",
]

SEARCH_KIND = "phash"
"""The 64-bit kind the ledger's Hamming prefilter scans."""

SEARCH_RADIUS = 16
"""Prefilter radius in bits: as wide as the pHash limit of a strong match, so the prefilter never
drops a candidate :func:`assess` would confirm."""

# Working size: one fast box downscale to this square, then every hash reads the small image.
_WORK_SIZE = 256
_MASK64 = (1 << 64) - 1
_ORIENTATION = 0x0112  # EXIF tag
_PDQ_KINDS = ("pdq0", "pdq1", "pdq2", "pdq3")
_COLOR_KINDS = ("color0", "color1")

# Calibrated limits (see docs/recovery.md): Hamming bits, colour in 16ths of the chroma range.
# A strong match needs every fingerprint within its limit; a possible match two of _POSSIBLE
# (one alone is what the prefilter already guarantees, so it says nothing). "detail" counts the
# blocks of the 32x32 grid that differ beyond what re-encoding explains: one is a different image.
_STRONG = {"phash": 16, "dhash": 8, "pdq": 40, "color": 2, "detail": 0}
_POSSIBLE = {"phash": 16, "dhash": 12, "pdq": 64}


def to_signed64(value: int) -> int:
    """An unsigned 64-bit value as the signed integer a SQL ``BIGINT`` holds."""
    value &= _MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned64(value: int) -> int:
    """A signed (or already unsigned) 64-bit value as an unsigned integer."""
    return value & _MASK64


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit values, signed or unsigned."""
    return ((a ^ b) & _MASK64).bit_count()


@dataclass(frozen=True)
class Fingerprints:
    """All the perceptual fingerprints of one image.

    ``phash`` and ``dhash`` are 64-bit unsigned integers (imagehash's DCT and gradient hashes);
    ``pdq`` is Meta's 256-bit PDQ hash as 32 bytes and ``color`` a 4x4 grid of mean chroma as 16
    bytes; ``detail`` is the 32x32 local-detail grid (block luminance and texture, see
    ``provenance/recovery/detail.py``). Each is ``None`` when a record lacks it.
    """

    phash: int
    dhash: int
    pdq: bytes | None = None
    color: bytes | None = None  # 4x4 grid of mean (Cb, Cr), 4 bits each: 16 bytes
    detail: bytes | None = None  # 32x32 block means and textures: DETAIL_BYTES bytes

    def __post_init__(self) -> None:
        if self.pdq is not None and len(self.pdq) != 32:
            raise InputError(f"fingerprints: PDQ must be 32 bytes, got {len(self.pdq)}")
        if self.color is not None and len(self.color) != 16:
            raise InputError(f"fingerprints: colour grid must be 16 bytes, got {len(self.color)}")
        if self.detail is not None and len(self.detail) != DETAIL_BYTES:
            raise InputError(
                f"fingerprints: detail grid must be {DETAIL_BYTES} bytes, got {len(self.detail)}"
            )

    def as_ledger(self) -> list[tuple[str, int]]:
        """``(kind, signed 64-bit int)`` pairs to store; PDQ becomes ``pdq0`` .. ``pdq3``."""
        pairs = [("phash", to_signed64(self.phash)), ("dhash", to_signed64(self.dhash))]
        if self.pdq is not None:
            pairs += _split(_PDQ_KINDS, self.pdq)
        if self.color is not None:
            pairs += _split(_COLOR_KINDS, self.color)
        return pairs

    @classmethod
    def from_ledger(cls, pairs: Mapping[str, int]) -> Fingerprints:
        """Rebuild from stored pairs (signed or unsigned); PDQ only if all four parts are there."""
        missing = [kind for kind in ("phash", "dhash") if kind not in pairs]
        if missing:
            raise InputError(f"fingerprints: ledger record lacks {', '.join(missing)}")
        return cls(
            phash=to_unsigned64(pairs["phash"]),
            dhash=to_unsigned64(pairs["dhash"]),
            pdq=_join(_PDQ_KINDS, pairs),
            color=_join(_COLOR_KINDS, pairs),
        )

    def to_json(self) -> dict[str, str]:
        """Lower-case hex strings (16 digits per 64 bits), for entry bodies and reports."""
        out = {"phash": f"{self.phash:016x}", "dhash": f"{self.dhash:016x}"}
        if self.pdq is not None:
            out["pdq"] = self.pdq.hex()
        if self.color is not None:
            out["color"] = self.color.hex()
        if self.detail is not None:
            out["detail"] = self.detail.hex()
        return out

    @classmethod
    def from_json(cls, record: Mapping[str, object]) -> Fingerprints:
        """Rebuild from :meth:`to_json` output (e.g. an entry body's ``output.fingerprints``)."""
        missing = [kind for kind in ("phash", "dhash") if kind not in record]
        if missing:
            raise InputError(f"fingerprints: JSON record lacks {', '.join(missing)}")
        parsed: dict[str, bytes | None] = {}
        for kind in ("phash", "dhash", "pdq", "color", "detail"):
            value = record.get(kind)
            try:
                parsed[kind] = None if value is None else bytes.fromhex(str(value))
            except ValueError:
                raise InputError(f"fingerprints: {kind} is not a hex string") from None
        phash, dhash = parsed.pop("phash"), parsed.pop("dhash")
        if phash is None or dhash is None or len(phash) != 8 or len(dhash) != 8:
            raise InputError("fingerprints: phash and dhash must be 16 hex digits each")
        return cls(
            phash=int.from_bytes(phash, "big"),
            dhash=int.from_bytes(dhash, "big"),
            **parsed,
        )


def _split(kinds: tuple[str, ...], data: bytes) -> list[tuple[str, int]]:
    return [
        (kind, to_signed64(int.from_bytes(data[8 * i : 8 * i + 8], "big")))
        for i, kind in enumerate(kinds)
    ]


def _join(kinds: tuple[str, ...], pairs: Mapping[str, int]) -> bytes | None:
    if not all(kind in pairs for kind in kinds):
        return None  # an older or partial record: compare without this fingerprint
    return b"".join(to_unsigned64(pairs[k]).to_bytes(8, "big") for k in kinds)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels; transparency is composited onto white so a flattened copy hashes alike."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _hash_bits(h: imagehash.ImageHash) -> int:
    bits = np.asarray(h.hash, dtype=bool).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def compute(image: Image.Image) -> Fingerprints:
    """Fingerprint an image: one fast downscale, then pHash, dHash, PDQ, colour and detail grids."""
    width, height = image.size
    if width < 8 or height < 8:
        raise InputError(f"fingerprint: image is {width}x{height}, too small (at least 8x8)")
    if image.getexif().get(_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)  # hash what a viewer shows, not the stored raster
        width, height = image.size
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = _flatten(image)  # palette, CMYK, 16-bit: reduce() wants a plain mode
    # reduce() is a cheap integer box filter; it does most of the shrinking before the resize.
    factor = max(1, min(width, height) // _WORK_SIZE)
    small = image.reduce(factor) if factor > 1 else image
    # BOX is the fastest honest filter for shrinking; blocky when enlarging a small image, so
    # those get BILINEAR, which keeps a half-size copy close to its original.
    grow = min(small.size) < _WORK_SIZE
    resample = Image.Resampling.BILINEAR if grow else Image.Resampling.BOX
    small = _flatten(small).resize((_WORK_SIZE, _WORK_SIZE), resample)
    gray = small.convert("L")
    bits, _quality = pdqhash.compute(np.ascontiguousarray(np.asarray(small)))
    return Fingerprints(
        phash=_hash_bits(imagehash.phash(gray)),
        dhash=_hash_bits(imagehash.dhash(gray)),
        pdq=np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes(),
        color=_color_grid(small),
        detail=detail_grid(gray, min(width, height)),
    )


def _color_grid(small: Image.Image) -> bytes:
    """Mean chroma of a 4x4 grid, one byte per cell: Cb level (high nibble), Cr level (low)."""
    cells = np.asarray(small.convert("YCbCr").resize((4, 4), Image.Resampling.BOX), dtype=np.uint8)
    return bytes(((cells[..., 1] >> 4) << 4 | (cells[..., 2] >> 4)).ravel().tolist())


def _color_distance(a: bytes, b: bytes) -> int:
    """Largest chroma step (in 16ths of the range) between matching cells of two grids."""
    return max(
        max(abs((x >> 4) - (y >> 4)), abs((x & 15) - (y & 15))) for x, y in zip(a, b, strict=True)
    )


def _is_gray(grid: bytes) -> bool:
    return all((c >> 4) in (7, 8) and (c & 15) in (7, 8) for c in grid)


@dataclass(frozen=True)
class Assessment:
    """How close a query is to a candidate, and whether that is enough to say ``recovered``."""

    distances: dict[str, int]
    confident: bool
    label: str  # "strong match", "possible match" or "no match"
    reason: str  # one line in plain words


def _pdq_distance(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()


def assess(query: Fingerprints, candidate: Fingerprints) -> Assessment:
    """Compare every fingerprint both sides have; confident only when all of them agree.

    The rule (calibrated in docs/recovery.md): pHash, dHash and PDQ each within their limit, the
    colour grid close unless the query has no colour, and no block of the detail grid differing
    more than re-encoding or resizing explains. A missing PDQ or detail grid is never confident.
    """
    distances = {
        "phash": hamming(query.phash, candidate.phash),
        "dhash": hamming(query.dhash, candidate.dhash),
    }
    if query.pdq is not None and candidate.pdq is not None:
        distances["pdq"] = _pdq_distance(query.pdq, candidate.pdq)
    gray_query = query.color is not None and _is_gray(query.color)
    if query.color is not None and candidate.color is not None and not gray_query:
        distances["color"] = _color_distance(query.color, candidate.color)
    if query.detail is not None and candidate.detail is not None:
        distances["detail"] = detail_mismatch(query.detail, candidate.detail)
    return _decide(distances, gray_query)


def _decide(distances: dict[str, int], gray_query: bool) -> Assessment:
    summary = ", ".join(f"{kind} {d}" for kind, d in distances.items())
    failed = [
        f"detail ({distances[kind]} blocks differ: other words or details)"
        if kind == "detail" else kind
        for kind, limit in _STRONG.items() if distances.get(kind, 0) > limit
    ]  # fmt: skip
    if "pdq" not in distances:
        failed.append("pdq (missing)")
    if "detail" not in distances:
        failed.append("detail (missing: words not checked)")
    if not failed:
        note = "; colour not compared (grayscale query)" if gray_query else ""
        return Assessment(
            distances, True, "strong match", f"all fingerprints agree ({summary}){note}"
        )
    near = [k for k, limit in _POSSIBLE.items() if distances.get(k, limit + 1) <= limit]
    if len(near) >= 2:
        return Assessment(
            distances,
            False,
            "possible match",
            f"{', '.join(near)} close but {', '.join(failed)} too far: not confirmed ({summary})",
        )
    return Assessment(distances, False, "no match", f"fingerprints differ ({summary})")


def choose(
    query: Fingerprints, candidates: Mapping[str, Fingerprints]
) -> tuple[str | None, list[tuple[str, Assessment]]]:
    """Assess every candidate (keyed by output SHA-256); name the one to call ``recovered``.

    Returns the key of the single strong match, or ``None`` when there is none or more than one
    (same-layout images that differ only in text look alike to every fingerprint, so two strong
    matches mean "ambiguous", never "pick the closer"), and every assessment, best first.
    """
    ranked = sorted(
        ((key, assess(query, fp)) for key, fp in candidates.items()),
        key=lambda item: (not item[1].confident, item[1].distances.get("pdq", 256),
                          item[1].distances["phash"], item[1].distances["dhash"]),
    )  # fmt: skip
    strong = [key for key, a in ranked if a.confident]
    return (strong[0] if len(strong) == 1 else None), ranked
