"""RFC 3161 time-stamp tokens: ask a TSA to vouch that some bytes existed, and check its answer.

The ledger uses this for checkpoints: the message is the exact signed-note text of a checkpoint
(UTF-8), and the token's messageImprint is its SHA-256.

Example::

    >>> from ledger.timestamp import build_request, check_token, TimestampError
    >>> der, nonce = build_request(b"example.org/log\\n3\\n...\\n")
    >>> der[:1] == b"\\x30" and nonce > 0       # a DER TimeStampReq, ready to POST
    True
    >>> try:
    ...     check_token(b"not a token", b"the note")
    ... except TimestampError as e:
    ...     print(e)
    timestamp token: not a DER CMS ContentInfo

Fetch a token with ``fetch_token(url, message)`` (POST ``application/timestamp-query``); check a
stored one with ``check_token(der, message, anchors=load_anchors(pem))``.
"""

from __future__ import annotations

import hashlib
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from asn1crypto import cms, core, tsp  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from ledger.errors import LedgerError

ENV_TSA_URL = "PROVENANCE_TSA_URL"
_MAX_REPLY = 1 << 20  # a token is a few KB; refuse to buffer a runaway reply
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class _TimeStampResp(core.Sequence):  # type: ignore[misc]
    # asn1crypto's own TimeStampResp makes the token mandatory, so a rejection would not parse.
    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class TimestampError(LedgerError):
    """A TSA could not be reached, refused, or its token does not check out."""


@dataclass(frozen=True)
class TimestampToken:
    """A checked token: its DER (a CMS ContentInfo), the TSA's time and the TSA's name."""

    der: bytes
    gen_time: datetime
    tsa: str  # the signing certificate's subject (RFC 4514)
    serial: int
    anchored: bool  # True when the TSA certificate was chained to a given anchor


def build_request(message: bytes) -> tuple[bytes, int]:
    """A DER TimeStampReq over SHA-256(``message``) with a random nonce; returns (der, nonce)."""
    nonce = secrets.randbits(63) | 1
    req = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(message).digest(),
            },
            "nonce": nonce,
            "cert_req": True,  # the token then carries the TSA certificate, so it checks offline
        }
    )
    return bytes(req.dump()), nonce


def fetch_token(
    url: str, message: bytes, *, timeout: float = 10.0, anchors: Sequence[x509.Certificate] = ()
) -> TimestampToken:
    """POST a request for ``message`` to the TSA at ``url``; the checked token, or TimestampError."""
    der, nonce = build_request(message)
    request = urllib.request.Request(
        url, data=der, method="POST", headers={"Content-Type": "application/timestamp-query"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read(_MAX_REPLY + 1)
    except urllib.error.HTTPError as e:
        raise TimestampError(f"TSA {url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise TimestampError(f"TSA {url}: unreachable ({reason})") from e
    if len(body) > _MAX_REPLY:
        raise TimestampError(f"TSA {url}: reply larger than {_MAX_REPLY} bytes")
    return parse_response(body, message, nonce, anchors=anchors, source=f"TSA {url}")


def parse_response(
    der: bytes,
    message: bytes,
    nonce: int,
    *,
    anchors: Sequence[x509.Certificate] = (),
    source: str = "TSA reply",
) -> TimestampToken:
    """The checked token inside a DER TimeStampResp answering a request with ``nonce``."""
    try:
        resp = _TimeStampResp.load(der)
        status = resp["status"]["status"].native
        token = resp["time_stamp_token"]
    except (ValueError, TypeError, KeyError) as e:
        raise TimestampError(f"{source}: not a DER TimeStampResp") from e
    if status not in ("granted", "granted_with_mods"):
        text = "; ".join(resp["status"]["status_string"].native or []) or "no reason given"
        raise TimestampError(f"{source}: request {status} ({text})")
    if isinstance(token, core.Void):
        raise TimestampError(f"{source}: granted but carries no token")
    checked = check_token(bytes(token.dump()), message, anchors=anchors)  # dump before parsing
    got = _tst_info(_signed_data(token))["nonce"].native
    if got != nonce:
        raise TimestampError(f"{source}: nonce {got} does not answer our request ({nonce})")
    return checked


def load_anchors(pem: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM bundle; a clear error when it holds none."""
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as e:
        raise TimestampError(f"TSA anchors: not PEM certificates ({e})") from e
    return certs


def check_token(
    der: bytes, message: bytes, *, anchors: Sequence[x509.Certificate] = ()
) -> TimestampToken:
    """Check that ``der`` is a token over SHA-256-or-better of ``message``, signed by a TSA.

    Checks the message imprint, the CMS signature over the signed attributes, the attributes'
    digest of the TSTInfo, the ESS signing-certificate binding and the timeStamping EKU; with
    ``anchors``, also that the TSA certificate chains to one of them and was valid at genTime.
    """
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            raise TimestampError("timestamp token: not CMS SignedData")
        signed = _signed_data(info)
        tst = _tst_info(signed)
        imprint = tst["message_imprint"]
        alg = imprint["hash_algorithm"]["algorithm"].native
        hashed = imprint["hashed_message"].native
        gen_time = tst["gen_time"].native
        serial = int(tst["serial_number"].native)
    except TimestampError:
        raise
    except (ValueError, TypeError, KeyError) as e:
        raise TimestampError("timestamp token: not a DER CMS ContentInfo") from e
    if alg not in _HASHES:
        raise TimestampError(f"timestamp token: unsupported imprint hash {alg}")
    if hashlib.new(alg, message).digest() != hashed:
        raise TimestampError("timestamp token: message imprint does not match this checkpoint")
    cert, certs = _verify_signature(signed)
    eku = _eku(cert)
    if ExtendedKeyUsageOID.TIME_STAMPING not in eku:
        raise TimestampError("timestamp token: signing certificate lacks the timeStamping usage")
    if anchors:
        _check_chain(cert, certs, anchors, gen_time)
    return TimestampToken(der, gen_time, cert.subject.rfc4514_string(), serial, bool(anchors))


def _signed_data(info: Any) -> Any:
    signed = info["content"]
    if signed["encap_content_info"]["content_type"].native != "tst_info":
        raise TimestampError("timestamp token: content is not a TSTInfo")
    return signed


def _tst_info(signed: Any) -> Any:
    return signed["encap_content_info"]["content"].parsed


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return []


def _verify_signature(signed: Any) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The signer's certificate and all carried certificates, once the CMS signature checks."""
    infos = signed["signer_infos"]
    if len(infos) != 1:
        raise TimestampError(f"timestamp token: {len(infos)} signers, expected one")
    signer = infos[0]
    # Raw encodings first: once asn1crypto has parsed a value's children, dump() re-encodes
    # it (slowly, and a signature covers the bytes received, not a re-encoding).
    attrs = signer["signed_attrs"]
    attrs_der = bytes(attrs.dump())
    carried = [c.chosen for c in signed["certificates"] if c.name == "certificate"]
    carried_der = [bytes(c.dump()) for c in carried]
    sid = signer["sid"]
    if sid.name == "issuer_and_serial_number":
        serial = sid.chosen["serial_number"].native  # compared first: Name equality is slow
        match = [
            c for c in carried if c.serial_number == serial and c.issuer == sid.chosen["issuer"]
        ]
    else:
        match = [c for c in carried if c.key_identifier == sid.chosen.native]
    if not match:
        raise TimestampError("timestamp token: the signing certificate is not in the token")
    if not len(attrs):
        raise TimestampError("timestamp token: no signed attributes")
    digest_alg = signer["digest_algorithm"]["algorithm"].native
    if digest_alg not in _HASHES:
        raise TimestampError(f"timestamp token: unsupported digest {digest_alg}")
    found = {a["type"].native: a["values"][0] for a in attrs}
    content = signed["encap_content_info"]["content"].contents
    if found.get("content_type") is None or found["content_type"].native != "tst_info":
        raise TimestampError("timestamp token: signed content type is not TSTInfo")
    if (
        found.get("message_digest") is None
        or found["message_digest"].native != hashlib.new(digest_alg, content).digest()
    ):
        raise TimestampError("timestamp token: TSTInfo does not match its signed digest")
    cert_der = carried_der[carried.index(match[0])]
    _check_ess(found, cert_der)
    cert = x509.load_der_x509_certificate(cert_der)
    # The signature covers the attributes encoded as a SET OF, not as the [0] field: swap the tag.
    data = b"\x31" + attrs_der[1:]
    _verify_raw(cert, bytes(signer["signature"].native), data, signer, _HASHES[digest_alg]())
    return cert, [x509.load_der_x509_certificate(d) for d in carried_der]


def _check_ess(attrs: dict[str, Any], cert_der: bytes) -> None:
    # RFC 5816/2634: the signed attributes name the TSA certificate by hash, so it cannot be
    # swapped for another certificate with the same key.
    if "signing_certificate_v2" in attrs:
        ids = attrs["signing_certificate_v2"]["certs"]
        ok = any(
            hashlib.new(i["hash_algorithm"]["algorithm"].native, cert_der).digest()
            == i["cert_hash"].native
            for i in ids
        )
    elif "signing_certificate" in attrs:
        ok = any(
            hashlib.sha1(cert_der).digest() == i["cert_hash"].native
            for i in attrs["signing_certificate"]["certs"]
        )
    else:
        raise TimestampError("timestamp token: no signing-certificate attribute")
    if not ok:
        raise TimestampError(
            "timestamp token: signing-certificate attribute names another certificate"
        )


def _verify_raw(
    cert: x509.Certificate, sig: bytes, data: bytes, signer: Any, digest: hashes.HashAlgorithm
) -> None:
    key = cert.public_key()
    algo = signer["signature_algorithm"].signature_algo
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and algo == "ecdsa":
            key.verify(sig, data, ec.ECDSA(digest))
        elif isinstance(key, rsa.RSAPublicKey) and algo == "rsassa_pkcs1v15":
            key.verify(sig, data, padding.PKCS1v15(), digest)
        elif isinstance(key, rsa.RSAPublicKey) and algo == "rsassa_pss":
            params = signer["signature_algorithm"]["parameters"]
            pss_hash = _HASHES[params["hash_algorithm"]["algorithm"].native]()
            key.verify(
                sig,
                data,
                padding.PSS(padding.MGF1(pss_hash), params["salt_length"].native),
                pss_hash,
            )
        elif isinstance(key, ed25519.Ed25519PublicKey) and algo == "ed25519":
            key.verify(sig, data)
        else:
            raise TimestampError(f"timestamp token: unsupported signature algorithm {algo}")
    except InvalidSignature as e:
        raise TimestampError("timestamp token: signature does not verify") from e
    except (UnsupportedAlgorithm, KeyError, ValueError) as e:
        raise TimestampError(f"timestamp token: cannot check the signature ({e})") from e


def _check_chain(
    cert: x509.Certificate,
    carried: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    at: datetime,
) -> None:
    """Walk issuer signatures from ``cert`` to an anchor; every link valid at ``at``."""
    pool = [*carried, *anchors]
    current = cert
    for _ in range(8):
        if not current.not_valid_before_utc <= at <= current.not_valid_after_utc:
            raise TimestampError(
                f"timestamp token: certificate {current.subject.rfc4514_string()} "
                f"was not valid at genTime {at.isoformat()}"
            )
        if current in anchors:
            return
        issuers = [c for c in pool if c.subject == current.issuer and c != current]
        nxt = None
        for issuer in issuers:
            try:
                current.verify_directly_issued_by(issuer)
            except (ValueError, TypeError, InvalidSignature):
                continue
            nxt = issuer
            break
        if nxt is None:
            raise TimestampError(
                f"timestamp token: TSA certificate {cert.subject.rfc4514_string()} "
                "does not chain to a given TSA anchor"
            )
        current = nxt
    raise TimestampError("timestamp token: TSA certificate chain is too long")
