"""Safe image decoding, masks and deterministic encoding, shared by the recorder, backends and verify.

Every image a user hands us goes through :func:`open_image`: it refuses non-images, truncated
files, decompression bombs and formats outside a small allow-list, always with an
:class:`~provenance.errors.InputError` that names the file and the problem.

Example::

    >>> from PIL import Image
    >>> from provenance.media import imaging
    >>> png = imaging.encode(Image.new("RGB", (64, 32), "red"), "png")
    >>> imaging.sniff_mime(png)
    'image/png'
    >>> imaging.open_image(png, name="red.png").size
    (64, 32)
    >>> mask = imaging.load_mask(imaging.encode(Image.new("L", (64, 32), 255), "png"), (64, 32), name="m.png")
    >>> mask.mode, mask.getextrema()
    ('L', (255, 255))
    >>> imaging.format_from_path("out.jpg")
    'jpeg'
"""

from __future__ import annotations

import importlib
import io
import os
import re
import warnings
from pathlib import Path
from typing import Any, Final, Literal

from PIL import Image, ImageChops, UnidentifiedImageError

from provenance import vocab
from provenance.errors import InputError
from provenance.media.sniff import SVG_MIME as SVG_MIME  # PIL-free; re-exported
from provenance.media.sniff import sniff_mime as sniff_mime

ImageFormat = Literal["png", "jpeg", "webp"]  # what we encode ourselves
# What an output file may be: a remote model also returns GIF and SVG, which we sign as they come.
FileFormat = Literal["png", "jpeg", "webp", "gif", "svg"]

MAX_PIXELS: Final = 64_000_000
ENV_MAX_PIXELS: Final = vocab.ENV_MAX_PIXELS

MIME_BY_FORMAT: Final[dict[ImageFormat, str]] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
FORMAT_BY_MIME: Final[dict[str, ImageFormat]] = {v: k for k, v in MIME_BY_FORMAT.items()}
EXT_BY_FORMAT: Final[dict[ImageFormat, str]] = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}
_FORMAT_BY_EXT: Final[dict[str, ImageFormat]] = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".jpe": "jpeg",
    ".webp": "webp",
}
_FILE_FORMAT_BY_EXT: Final[dict[str, FileFormat]] = {**_FORMAT_BY_EXT, ".gif": "gif", ".svg": "svg"}
MIME_BY_FILE_FORMAT: Final[dict[FileFormat, str]] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "svg": SVG_MIME,
}

# Pillow plugins we let parse untrusted bytes. Others (EPS runs Ghostscript, and many rarely
# used parsers) are refused rather than trusted.
_PIL_FORMATS: Final = ("PNG", "JPEG", "WEBP", "GIF", "TIFF", "BMP", "AVIF")

# Pillow registers its plugins lazily, and not thread-safely: two threads opening their first
# images at once can race (seen as KeyError: 'MPO'). Register ours once, at import: the common
# set (preinit) and the rest of _PIL_FORMATS, plus MPO (multi-picture JPEGs). Not Image.init(),
# which imports every plugin Pillow has and costs ~100 ms of every command's start-up.
Image.preinit()
for _plugin in ("WebPImagePlugin", "TiffImagePlugin", "AvifImagePlugin", "MpoImagePlugin"):
    importlib.import_module(f"PIL.{_plugin}")
if not set(_PIL_FORMATS) <= set(Image.OPEN):
    raise ImportError(f"Pillow lacks a plugin for one of {_PIL_FORMATS}")


def max_pixels() -> int:
    """The pixel limit in force: ``$PROVENANCE_MAX_PIXELS`` if set, else :data:`MAX_PIXELS`."""
    raw = os.environ.get(ENV_MAX_PIXELS)
    if not raw:
        return MAX_PIXELS
    try:
        value = int(raw)
    except ValueError as e:
        raise InputError(f"{ENV_MAX_PIXELS}={raw!r}: not an integer") from e
    if value <= 0:
        raise InputError(f"{ENV_MAX_PIXELS}={raw!r}: must be a positive number of pixels")
    return value


_SVG_ROOT = re.compile(rb"<svg\b[^>]*>", re.S)
_SVG_ATTR = re.compile(rb'\b(width|height|viewBox)\s*=\s*["\']([^"\']*)["\']')


def svg_size(data: bytes) -> tuple[int, int]:
    """An SVG's width and height from its root element (viewBox else width/height); 0 if unsaid.

    SVG has no pixels of its own: this is the size it declares, read without an XML parser
    (no entity expansion, nothing fetched).

    >>> svg_size(b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 480"></svg>')
    (640, 480)
    """
    root = _SVG_ROOT.search(data[:65536])
    attrs = dict(_SVG_ATTR.findall(root.group(0))) if root else {}
    box = attrs.get(b"viewBox", b"").replace(b",", b" ").split()
    if len(box) == 4:
        try:
            return round(float(box[2])), round(float(box[3]))
        except ValueError:
            pass
    sizes = []
    for key in (b"width", b"height"):
        m = re.match(rb"\s*(\d+(?:\.\d+)?)(px)?\s*$", attrs.get(key, b""))
        sizes.append(round(float(m.group(1))) if m else 0)
    return sizes[0], sizes[1]


def open_image(data: bytes, *, name: str) -> Image.Image:
    """Decode ``data`` fully, or raise :class:`InputError` naming ``name`` and the problem.

    Refuses: bytes that are not an image, formats outside the allow-list (e.g. HEIC, EPS),
    images above :func:`max_pixels`, and truncated or corrupt files. The first frame of an
    animation is returned. Pixels are returned as stored (EXIF orientation is not applied).
    """
    if not data:
        raise InputError(f"{name}: empty file, not an image")
    limit = max_pixels()
    mime = sniff_mime(data)
    try:
        with warnings.catch_warnings():
            # Pillow warns before it errors on large images; both mean "bomb" to us.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_PIL_FORMATS)
            width, height = image.size
            if width * height > limit:
                raise InputError(
                    f"{name}: {width}x{height} is {width * height} pixels, above the limit of "
                    f"{limit} (set {ENV_MAX_PIXELS} to raise it)"
                )
            image.load()
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InputError(f"{name}: refused as a decompression bomb ({e})") from e
    except UnidentifiedImageError as e:
        if mime is not None:
            raise InputError(f"{name}: unsupported image format {mime}") from e
        raise InputError(f"{name}: not an image (unrecognised content)") from e
    except Exception as e:
        # Parsers of malformed files raise many kinds (OSError, SyntaxError, struct.error, ...).
        problem = "truncated image" if "truncated" in str(e).lower() else "corrupt image"
        raise InputError(f"{name}: {problem} ({type(e).__name__}: {e})") from e
    return image


def load_mask(data: bytes, size: tuple[int, int], *, name: str) -> Image.Image:
    """Normalise a mask to an ``L`` image where 255 marks the editable area.

    Accepted conventions: transparency (OpenAI: alpha 0 = editable; partial alpha gives a soft
    edge) or, for masks without any transparent pixel, luminance (white = editable). Raises
    :class:`InputError` if the size differs from ``size`` or if nothing is editable.
    """
    image = open_image(data, name=name)
    if image.size != size:
        raise InputError(
            f"mask {name} is {image.size[0]}x{image.size[1]} but the image is {size[0]}x{size[1]}"
        )
    mask = _editable_area(image)
    if _extrema(mask)[1] == 0:
        raise InputError(
            f"mask {name} marks no editable pixels (use transparent or white pixels for the "
            "area to edit)"
        )
    return mask


def _extrema(single_band: Image.Image) -> tuple[int, int]:
    low, high = single_band.getextrema()
    assert isinstance(low, int) and isinstance(high, int)
    return low, high


def _editable_area(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        alpha = image.convert("RGBA").getchannel("A")
        lowest, _ = _extrema(alpha)
        if lowest < 255:
            return ImageChops.invert(alpha)
    return image.convert("L")


def mask_to_openai_png(mask_L: Image.Image) -> bytes:
    """An RGBA PNG for the OpenAI edits endpoint: alpha 0 where ``mask_L`` is editable (255)."""
    alpha = ImageChops.invert(mask_L.convert("L"))
    rgba = Image.new("RGBA", mask_L.size, (0, 0, 0, 255))
    rgba.putalpha(alpha)
    return encode(rgba, "png")


def encode(image: Image.Image, fmt: ImageFormat, *, quality: int | None = None) -> bytes:
    """Encode deterministically: same pixels, same bytes (no timestamps, no text chunks).

    Keeps the ICC profile; drops EXIF and other metadata (the recorder writes credentials).
    JPEG has no alpha, so transparent images are composited onto white first.
    """
    if fmt not in MIME_BY_FORMAT:
        raise InputError(f"output format {fmt!r}: unsupported (choose png, jpeg or webp)")
    if quality is not None and not 0 <= quality <= 100:
        raise InputError(f"quality {quality}: must be between 0 and 100")
    image = _encodable(image, fmt)
    params: dict[str, object] = {}
    icc = image.info.get("icc_profile")
    if icc:
        params["icc_profile"] = icc
    if fmt == "jpeg":
        params["quality"] = 90 if quality is None else quality
    elif fmt == "webp":
        params["quality"] = 90 if quality is None else quality
        params["method"] = 4
    buf = io.BytesIO()
    image.save(buf, format=fmt.upper(), **params)
    return buf.getvalue()


def encode_png_fast(image: Image.Image) -> bytes:
    """A PNG of a freshly rendered image, 3-5x faster than :func:`encode` at about its size.

    OpenCV's encoder with one filter (Paeth) and run-length deflate; lossless and deterministic
    like :func:`encode`. An image whose sampled rows do not deflate (noise, which a model with
    random weights renders) is stored without compression: deflating it took 13 ms at 512x512
    and saved nothing. Either way the file has one IDAT chunk (:mod:`provenance.media.png`:
    c2pa reads the asset it signs chunk by chunk, through Python). Images with an ICC profile or
    an unusual mode go through :func:`encode`.
    """
    channels = {"L": None, "RGB": "COLOR_RGB2BGR", "RGBA": "COLOR_RGBA2BGRA"}
    if image.mode not in channels or image.info.get("icc_profile"):
        return encode(image, "png")
    import cv2  # a core dependency, but heavy to import: only when an image is encoded
    import numpy as np

    from provenance.media import png

    pixels = np.asarray(image)
    conversion = channels[image.mode]
    code = getattr(cv2, conversion) if conversion is not None else None
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY]
    params += [cv2.IMWRITE_PNG_STRATEGY_RLE, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_PAETH]
    if not _deflates(pixels, code, params):
        return png.stored(pixels)
    if code is not None:
        pixels = cv2.cvtColor(pixels, code)
    ok, buf = cv2.imencode(".png", pixels, params)
    if not ok:  # OpenCV refuses only what the mode check already excluded
        return encode(image, "png")
    return png.single_idat(buf.tobytes())


# The sample: this many bands of rows spread over the image (1/16 of it at 512 rows) ...
_SAMPLE_BANDS, _SAMPLE_ROWS = 4, 8
# ... must deflate to at most this share of its raw bytes for the whole image to be deflated.
_DEFLATES_BELOW = 0.9


def _deflates(pixels: Any, code: int | None, params: list[int]) -> bool:
    """Whether bands of ``pixels`` (in OpenCV's channel order after ``code``, a cvtColor
    conversion) encoded with ``params`` come out clearly smaller than raw."""
    import cv2
    import numpy as np

    height = pixels.shape[0]
    if height < 4 * _SAMPLE_BANDS * _SAMPLE_ROWS:
        return True  # small enough that sampling would cost about what it could save
    starts = np.linspace(0, height - _SAMPLE_ROWS, _SAMPLE_BANDS).astype(int)
    sample = np.concatenate([pixels[top : top + _SAMPLE_ROWS] for top in starts])
    if code is not None:  # a per-pixel conversion: of the bands, as of the whole image
        sample = cv2.cvtColor(sample, code)
    ok, buf = cv2.imencode(".png", sample, params)  # one call: each has a fixed cost
    raw, packed = sample.nbytes, len(buf) if ok else 0
    return packed <= _DEFLATES_BELOW * raw


def thumbnail_jpeg(image: Image.Image, long_edge: int) -> bytes:
    """A JPEG of ``image`` with its long edge at most ``long_edge`` (a credential's thumbnail).

    An integer box reduction first (``Image.reduce``: 512 -> 256 is exactly that, 0.6 ms where
    a bilinear resample of every pixel took 1.8), then a bilinear resize to the exact size.
    """
    scale = min(1.0, long_edge / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    factor = min(image.width // size[0], image.height // size[1])
    small = image.convert("RGB") if image.mode != "RGB" else image
    small = small.reduce(factor) if factor >= 2 else small
    if small.size != size:
        small = small.resize(size, Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=75)
    return buf.getvalue()


def _encodable(image: Image.Image, fmt: ImageFormat) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if fmt == "jpeg":
        if has_alpha:
            rgba = image.convert("RGBA")
            flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            flat.alpha_composite(rgba)
            out = flat.convert("RGB")
        else:
            out = image if image.mode in ("RGB", "L") else image.convert("RGB")
    elif has_alpha:
        out = image if image.mode == "RGBA" else image.convert("RGBA")
    elif fmt == "png" and image.mode in ("RGB", "L", "P", "1", "I;16"):
        out = image
    else:
        out = image if image.mode in ("RGB", "L") else image.convert("RGB")
    if out is not image and "icc_profile" in image.info:
        out.info["icc_profile"] = image.info["icc_profile"]
    return out


def format_from_path(path: str | Path) -> FileFormat:
    """``png``, ``jpeg``, ``webp``, ``gif`` or ``svg`` from the extension, or :class:`InputError`."""
    suffix = Path(path).suffix.lower()
    fmt = _FILE_FORMAT_BY_EXT.get(suffix)
    if fmt is None:
        raise InputError(
            f"{Path(path).name}: cannot tell the output format from the extension "
            f"{suffix or '(none)'!r} (use .png, .jpg, .jpeg, .webp, .gif or .svg)"
        )
    return fmt
