"""Cheap structural checks of an image container before c2pa reads it (no pixel decoding).

They catch truncated files, bytes appended after the image and absurdly large manifest stores,
so such files get verdict ``error`` with a reason instead of a confusing hash mismatch.
"""

from __future__ import annotations

import struct

MAX_MANIFEST_BYTES = 16 * 1024 * 1024  # real stores are KBs to a few MB (thumbnails included)
_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def problem(data: bytes, mime: str) -> str | None:
    """A one-line description of what is wrong with the container, or None."""
    if mime == "image/png":
        return _png(data)
    if mime == "image/jpeg":
        return _jpeg(data)
    if mime == "image/webp":
        return _webp(data)
    return None


def _png(data: bytes) -> str | None:
    pos, manifest = len(_PNG_SIG), 0
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            return f"truncated PNG (chunk {kind.decode('latin-1')!r} runs past the end of the file)"
        if kind == b"caBX":
            manifest += length
        if kind == b"IEND":
            extra = len(data) - end
            return (
                f"{extra} bytes of unexpected data after the end of the PNG image"
                if extra
                else _size(manifest)
            )
        pos = end
    return "truncated PNG (no IEND chunk: the file ends early)"


def _jpeg(data: bytes) -> str | None:
    pos, manifest = 2, 0
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return "corrupt JPEG (marker expected)"
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if pos + 2 + length > len(data):
            return "truncated JPEG (a segment runs past the end of the file)"
        if marker == 0xEB:  # APP11: JUMBF, where C2PA lives
            manifest += length
        if marker == 0xDA:  # start of scan: the rest is entropy-coded pixels up to EOI
            return _jpeg_tail(data, pos + 2 + length) or _size(manifest)
        pos += 2 + length
    return "truncated JPEG (the file ends before the image data)"


def _jpeg_tail(data: bytes, scan: int) -> str | None:
    end = data.rfind(b"\xff\xd9")
    if end < scan:
        return "truncated JPEG (no end-of-image marker: the file ends early)"
    extra = data[end + 2 :]
    if extra.strip(b"\x00\r\n\t "):
        return f"{len(extra)} bytes of unexpected data after the end of the JPEG image"
    return None


def _webp(data: bytes) -> str | None:
    if len(data) < 12:
        return "truncated WebP"
    declared = struct.unpack("<I", data[4:8])[0] + 8
    if declared > len(data):
        return f"truncated WebP ({len(data)} of {declared} bytes)"
    if len(data) > declared + (declared & 1):
        return f"{len(data) - declared} bytes of unexpected data after the end of the WebP image"
    pos, manifest = 12, 0
    while pos + 8 <= declared:
        kind, length = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if kind == b"C2PA":
            manifest += length
        pos += 8 + length + (length & 1)
    return _size(manifest)


def _size(manifest: int) -> str | None:
    if manifest > MAX_MANIFEST_BYTES:
        return (
            f"the embedded manifest store is {manifest} bytes, above the limit of "
            f"{MAX_MANIFEST_BYTES}; refused unread"
        )
    return None
