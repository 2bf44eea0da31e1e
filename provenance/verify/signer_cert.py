"""The signer's certificate, found in the file's own manifest store (c2pa's reader does not hand
it out), so that a policy can pin the certificate itself rather than its serial number.

c2pa has already checked the signature with the certificate it carries; here the certificates
embedded in the store are parsed and the one whose serial number c2pa reported is taken. If two
different certificates carry that serial (one could be planted in an assertion), the answer is
None: pinning then fails closed.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass

_MAX_CERT = 16 * 1024
# Formats whose store is cut out of the file here (_store_bytes); any other is searched whole.
STORE_FORMATS = frozenset({"image/png", "image/jpeg", "image/webp"})


@dataclass(frozen=True)
class SignerCert:
    sha256: str  # hex digest of the DER certificate
    issuer: str  # RFC 4514 issuer name
    serial: str  # decimal
    not_after: str  # ISO 8601 UTC: when the signature stops validating without a time-stamp
    der: bytes

    def issued_by(self, ca_pem: str) -> bool:
        """Whether ``ca_pem``'s key signed this certificate (a look-alike subject is not enough)."""
        return _issued_by(self.der, ca_pem)


@functools.lru_cache(maxsize=64)  # a batch's files share their signer: checked once
def _issued_by(der: bytes, ca_pem: str) -> bool:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    try:
        ca = x509.load_pem_x509_certificate(ca_pem.encode())
        x509.load_der_x509_certificate(der).verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@functools.lru_cache(maxsize=256)
def _facts(der: bytes) -> tuple[str, str, str] | None:
    """(serial, issuer, not-after) of a DER certificate, None if it is not one; cached."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    return (
        str(cert.serial_number),
        cert.issuer.rfc4514_string(),
        cert.not_valid_after_utc.isoformat(),
    )


def find_signer_cert(data: bytes, mime: str, serial: str | None) -> SignerCert | None:
    """The one certificate in ``data``'s manifest store with ``serial``; None if none or several."""
    if serial is None:
        return None
    found: dict[str, SignerCert] = {}
    for der in store_certificates(data, mime):
        facts = _facts(der)
        if facts is not None and facts[0] == serial:
            digest = hashlib.sha256(der).hexdigest()
            found[digest] = SignerCert(digest, facts[1], serial, facts[2], der)
            if len(found) == 2:
                break
    return next(iter(found.values())) if len(found) == 1 else None


def store_certificates(data: bytes, mime: str) -> Iterator[bytes]:
    """Every DER certificate-sized SEQUENCE in ``data``'s manifest store, in order (the signers'
    chains, time-stamp authorities' certificates, and whatever else a store holds); callers
    parse them (:func:`_facts`) and skip what is not a certificate."""
    store, lo, hi = _store(data, mime)
    at = store.find(b"\x30\x82", lo, hi)
    while at != -1:
        length = struct.unpack(">H", store[at + 2 : at + 4])[0] + 4 if at + 4 <= hi else 0
        if 64 < length <= _MAX_CERT and at + length <= hi:
            yield store[at : at + length]
        at = store.find(b"\x30\x82", at + 1, hi)


def _store(data: bytes, mime: str) -> tuple[bytes, int, int]:
    """The bytes that hold the manifest store, contiguous, as (buffer, start, end): a store in
    one PNG or RIFF chunk (the usual case) is searched where it lies, not copied out first."""
    spans = None
    if mime == "image/png":
        spans = _chunk_spans(data, 8, b"caBX", ">I", 4, 12)
    elif mime == "image/webp":
        spans = _chunk_spans(data, 12, b"C2PA", "<I", 0, 8)
    if spans is not None and len(spans) == 1:
        return data, spans[0][0], spans[0][1]
    store = _store_bytes(data, mime)
    return store, 0, len(store)


def _store_bytes(data: bytes, mime: str) -> bytes:
    """The bytes that hold the manifest store, contiguous (JPEG splits it over APP11 segments)."""
    if mime == "image/jpeg":
        return _jpeg_app11(data)
    if mime == "image/png":
        return _chunks(data, 8, b"caBX", ">I", 4, 12)
    if mime == "image/webp":
        return _chunks(data, 12, b"C2PA", "<I", 0, 8)
    return data


def _chunks(data: bytes, start: int, kind: bytes, fmt: str, type_at: int, head: int) -> bytes:
    """The payload of every ``kind`` chunk (PNG: length then type; RIFF: type then length)."""
    return b"".join(data[a:b] for a, b in _chunk_spans(data, start, kind, fmt, type_at, head))


def _chunk_spans(
    data: bytes, start: int, kind: bytes, fmt: str, type_at: int, head: int
) -> list[tuple[int, int]]:
    """Where the payload of every ``kind`` chunk lies in ``data`` (cut at its end)."""
    out = []
    i = start
    while i + head <= len(data):
        size_at = 0 if type_at else 4
        size = struct.unpack(fmt, data[i + size_at : i + size_at + 4])[0]
        if data[i + type_at : i + type_at + 4] == kind:
            body = i + (8 if head == 12 else head)
            out.append((body, min(body + size, len(data))))
        i += head + size + (size & 1 if head == 8 else 0)
    return out


def _jpeg_app11(data: bytes) -> bytes:
    out = bytearray()
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: no more metadata segments
            break
        size = struct.unpack(">H", data[i + 2 : i + 4])[0]
        seg = data[i + 4 : i + 2 + size]
        if marker == 0xEB and seg[:2] == b"JP":
            # CI "JP", En (2), Z (4), then the JUMBF box header (8) repeated in every segment
            seq = struct.unpack(">I", seg[4:8])[0] if len(seg) >= 8 else 0
            out += seg[8:] if seq == 1 else seg[16:]
        i += 2 + size
    return bytes(out)
