"""PNG files with one IDAT chunk: what the recorder signs.

c2pa-python reads the asset it signs through Python stream callbacks, chunk by chunk: a 512x512
PNG in OpenCV's 8 KiB IDAT chunks (about 97 of them) cost ~2.4 ms of the signing, in one chunk
it costs a fraction of that. :func:`single_idat` rewrites an encoder's PNG with its IDAT chunks
joined (the same compressed stream, so the same filters, compression and pixels);
:func:`stored` writes pixels that do not deflate (noise) unfiltered and uncompressed, straight
into one IDAT, without an encoder pass.

Example::

    >>> import numpy as np
    >>> data = stored(np.zeros((2, 3, 3), np.uint8))
    >>> data[:8] == SIGNATURE, [name for name, _ in chunks(data)]
    (True, [b'IHDR', b'IDAT', b'IEND'])
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any, Final

SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE: Final = {1: 0, 3: 2, 4: 6}  # channels -> grey, truecolour, truecolour with alpha


def chunk(kind: bytes, payload: bytes | bytearray | memoryview) -> bytes:
    """One PNG chunk: length, type, payload, CRC-32 of type and payload."""
    crc = zlib.crc32(payload, zlib.crc32(kind))
    return b"".join((struct.pack(">I", len(payload)), kind, payload, struct.pack(">I", crc)))


def chunks(data: bytes) -> Iterator[tuple[bytes, memoryview]]:
    """The (type, payload) of each chunk of a PNG; ValueError if its layout is broken.

    CRCs are not checked: this reads what an encoder just wrote, not untrusted input.
    """
    if data[:8] != SIGNATURE:
        raise ValueError("not a PNG (no signature)")
    view, pos = memoryview(data), 8
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError("truncated PNG chunk")
        (length,) = struct.unpack_from(">I", data, pos)
        kind = bytes(view[pos + 4 : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise ValueError(f"truncated PNG chunk {kind!r}")
        yield kind, view[pos + 8 : end - 4]
        pos = end
        if kind == b"IEND":
            return
    raise ValueError("PNG without IEND")


def single_idat(data: bytes) -> bytes:
    """``data`` (a PNG) with its IDAT chunks joined into one, where the first one was.

    The other chunks keep their order and bytes; the compressed stream is unchanged.
    """
    parts: list[bytes] = [SIGNATURE]
    idat: list[memoryview] = []
    at = 0  # where the joined IDAT goes
    for kind, payload in chunks(data):
        if kind == b"IDAT":
            if not idat:
                at = len(parts)
                parts.append(b"")  # filled below
            idat.append(payload)
        else:
            parts.append(chunk(kind, payload))
    if not idat:
        raise ValueError("PNG without IDAT")
    if len(idat) == 1:
        return data
    parts[at] = chunk(b"IDAT", b"".join(idat))
    return b"".join(parts)


def stored(pixels: Any) -> bytes:
    """An 8-bit PNG of ``pixels`` (uint8, HxW grey, HxWx3 RGB or HxWx4 RGBA), one IDAT, its rows
    unfiltered (filter type 0) and deflated without compression (deflate stored blocks, RFC 1951
    BTYPE 00: what ``zlib.compress(rows, 0)`` makes, framed here straight into the file, as
    zlib's copy through its window cost more than the rest of the encode).
    """
    import numpy as np

    array = np.asarray(pixels)
    height, width = array.shape[:2]
    channels = 1 if array.ndim == 2 else array.shape[2]
    if array.dtype != np.uint8 or channels not in _COLOR_TYPE or height == 0 or width == 0:
        raise ValueError(f"cannot store {array.dtype} {array.shape} pixels as an 8-bit PNG")
    rows = np.empty((height, width * channels + 1), np.uint8)
    rows[:, 0] = 0  # filter type none
    rows[:, 1:] = array.reshape(height, width * channels)
    raw = rows.reshape(-1)
    blocks = -(-raw.size // _STORED_BLOCK)
    idat_size = 2 + 5 * blocks + raw.size + 4  # zlib header, block headers, bytes, Adler-32
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)
    head = SIGNATURE + chunk(b"IHDR", header) + struct.pack(">I", idat_size) + b"IDAT"
    out = np.empty(len(head) + idat_size + 4 + 12, np.uint8)
    out[: len(head)] = np.frombuffer(head, np.uint8)
    pos = len(head)
    out[pos : pos + 2] = (0x78, 0x01)  # deflate, 32 KiB window, no dictionary, level 0
    pos += 2
    for start in range(0, raw.size, _STORED_BLOCK):
        block = raw[start : start + _STORED_BLOCK]
        final = 1 if start + _STORED_BLOCK >= raw.size else 0
        frame = struct.pack("<BHH", final, block.size, block.size ^ 0xFFFF)
        out[pos : pos + 5] = np.frombuffer(frame, np.uint8)
        out[pos + 5 : pos + 5 + block.size] = block
        pos += 5 + block.size
    out[pos : pos + 4] = np.frombuffer(struct.pack(">I", zlib.adler32(raw.data)), np.uint8)
    pos += 4
    crc = zlib.crc32(out[len(head) - 4 : pos].data)  # the chunk type and payload
    out[pos : pos + 4] = np.frombuffer(struct.pack(">I", crc), np.uint8)
    out[pos + 4 :] = np.frombuffer(chunk(b"IEND", b""), np.uint8)
    return out.tobytes()


_STORED_BLOCK: Final = 65535  # the most a deflate stored block holds
