"""The add-checkpoint wire format of C2SP tlog-witness v1.0 (request and 409 bodies).

Example::

    >>> from ledger.witness.wire import encode_request, parse_request
    >>> body = encode_request(0, [], "example.org/log\\n0\\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\\n\\n— x AAAA\\n")
    >>> body.splitlines()[0]
    b'old 0'
    >>> parse_request(body).old_size
    0
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_PROOF_LINES = 63
MAX_BODY_BYTES = 256 * 1024  # a note with many post-quantum signatures still fits
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)")
_MAX_SIZE = 2**64 - 1


class BadRequestError(ValueError):
    """The request body does not follow the wire format (HTTP 400)."""


@dataclass(frozen=True)
class AddCheckpointRequest:
    old_size: int
    proof: list[bytes]
    note: str


def encode_decimal(n: int) -> str:
    if not 0 <= n <= _MAX_SIZE:
        raise ValueError(f"tree size {n}: outside 0..2^64-1")
    return str(n)


def parse_decimal(text: str, what: str) -> int:
    """An ASCII decimal with no leading zeroes (``0`` itself allowed), at most 2^64-1."""
    if not _DECIMAL.fullmatch(text) or int(text) > _MAX_SIZE:
        raise BadRequestError(
            f"{what} {text[:24]!r}: not a decimal tree size without leading zeroes"
        )
    return int(text)


def encode_request(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """``old N\\n`` + one base64 hash per line + ``\\n`` + the signed checkpoint note."""
    if len(proof) > MAX_PROOF_LINES:
        raise ValueError(f"consistency proof of {len(proof)} hashes: at most 63 may be sent")
    lines = [f"old {encode_decimal(old_size)}\n"]
    lines += [base64.b64encode(h).decode() + "\n" for h in proof]
    return ("".join(lines) + "\n" + note).encode()


def _check_text(raw: bytes) -> str:
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequestError(f"request body of {len(raw)} bytes: over {MAX_BODY_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequestError("request body: not UTF-8") from e
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise BadRequestError("request body: control characters other than newline")
    return text


def _proof_line(line: str, n: int) -> bytes:
    try:
        h = base64.b64decode(line, validate=True)
    except binascii.Error as e:
        raise BadRequestError(f"consistency proof line {n}: not base64") from e
    if len(h) != 32 or base64.b64encode(h).decode() != line:
        raise BadRequestError(f"consistency proof line {n}: not one base64 SHA-256 hash")
    return h


def parse_request(raw: bytes) -> AddCheckpointRequest:
    """Parse an add-checkpoint body; :class:`BadRequestError` names what is wrong."""
    text = _check_text(raw)
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise BadRequestError("request body: no empty line between the proof and the checkpoint")
    lines = head.split("\n")
    if not lines[0].startswith("old "):
        raise BadRequestError("request body: the first line must be 'old <size>'")
    old = parse_decimal(lines[0][4:], "old size")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise BadRequestError(f"consistency proof: {len(lines) - 1} lines, at most 63 allowed")
    proof = [_proof_line(line, i) for i, line in enumerate(lines[1:], 1)]
    if not note:
        raise BadRequestError("request body: no checkpoint after the empty line")
    return AddCheckpointRequest(old, proof, note)


def parse_size_body(raw: bytes) -> int:
    """The body of a 409 response: a decimal tree size and a newline."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise BadRequestError("409 body: not ASCII") from e
    if not text.endswith("\n"):
        raise BadRequestError("409 body: not a newline-terminated tree size")
    return parse_decimal(text[:-1], "409 body")
