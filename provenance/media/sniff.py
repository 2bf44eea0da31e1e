"""What kind of file this is, from its bytes: no Pillow, so verify's start-up does not pay for it.

>>> sniff_mime(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(24))
'image/png'
>>> mime_for(b"%PDF-1.7 ...", "doc.pdf")
'application/pdf'
"""

from __future__ import annotations

import mimetypes
import re
from typing import Final

SVG_MIME: Final = "image/svg+xml"
# An XML declaration, comments or a doctype may come before the root <svg> element.
_SVG_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]", re.S
)

_ISO_BMFF_BRANDS: Final[dict[bytes, str]] = {
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"hevc": "image/heic",
    b"hevx": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
}


def sniff_mime(data: bytes) -> str | None:
    """The image MIME type from the magic bytes, or None when they match no image format we know."""
    head = data[:32]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[4:8] == b"ftyp":
        return _ISO_BMFF_BRANDS.get(head[8:12])
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "image/jxl"
    if head[:2] == b"BM" and len(data) >= 26:
        return "image/bmp"
    if _SVG_START.match(data[:1024]):
        return SVG_MIME
    return None


def mime_for(data: bytes, name: str) -> str | None:
    """The MIME type of a file to verify: its magic bytes, a PDF header, else its name's extension."""
    sniffed = sniff_mime(data)
    if sniffed:
        return sniffed
    if data.startswith(b"%PDF"):
        return "application/pdf"
    guessed, _ = mimetypes.guess_type(name)
    return guessed
