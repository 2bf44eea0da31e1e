"""Signed reviews: each reviewer signs the exact file hash and the decision with their own key.

A reviewer's certificate is *enrolled* in the home (``PROVENANCE_HOME/reviewers/*.pem``, by
whoever administers the home); a review counts only when its signature verifies under a
certificate that is enrolled, or that was issued directly by an enrolled (CA) certificate. The
verified identity is the certificate's e-mail address (SAN, else subject ``emailAddress``), else
its common name: never the free-text ``--by``.

Example::

    signer = key_signer(Path("legal.chain.pem").read_bytes(), Path("legal.key.pem").read_bytes())
    enroll_reviewer(home, Path("legal.chain.pem").read_bytes())     # once, by the home's admin
    record_review(ledger, "banner.png", "approve", signer=signer, enrolled=enrolled_reviewers(home))

A KMS or HSM signs through :func:`callback_signer` (``sign(message) -> signature``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provenance.errors import InputError

if TYPE_CHECKING:
    from cryptography import x509

    from provenance.home.paths import Home

CONTEXT = b"provenance-review/v1\n"


class ReviewSignatureError(InputError):
    """A reviewer's key or certificate cannot be used to sign a review."""


def review_message(sha256: str, decision: str, target_entry: str) -> bytes:
    """The exact bytes a reviewer signs: context, file hash, decision, reviewed entry."""
    return CONTEXT + f"{sha256}\n{decision}\n{target_entry}\n".encode()


def _certs(pem: bytes) -> list[x509.Certificate]:
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as e:
        raise ReviewSignatureError(f"reviewer certificate: not a PEM certificate ({e})") from e
    return certs


def identity_of(cert: x509.Certificate) -> str:
    """E-mail SAN, else subject emailAddress, else common name (else the full subject)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        emails = san.get_values_for_type(x509.RFC822Name)
        if emails:
            return str(emails[0])
    except x509.ExtensionNotFound:
        pass
    for oid in (NameOID.EMAIL_ADDRESS, NameOID.COMMON_NAME):
        attrs = cert.subject.get_attributes_for_oid(oid)
        if attrs:
            return str(attrs[0].value)
    return cert.subject.rfc4514_string()


def cert_sha256(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives import serialization

    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


@dataclass(frozen=True)
class ReviewSigner:
    """A reviewer's certificate (PEM, leaf first, optional issuers) and a way to sign with its key."""

    chain_pem: bytes
    sign: Callable[[bytes], bytes]

    @property
    def identity(self) -> str:
        return identity_of(_certs(self.chain_pem)[0])

    @property
    def cert_sha256(self) -> str:
        return cert_sha256(_certs(self.chain_pem)[0])

    def signature(self, message: bytes) -> dict[str, Any]:
        """The ``signature`` object a signed review entry carries."""
        return {
            "alg": "x509",
            "cert_sha256": self.cert_sha256,
            "chain": self.chain_pem.decode("ascii"),
            "value": base64.b64encode(self.sign(message)).decode("ascii"),
        }


def callback_signer(chain_pem: bytes, sign: Callable[[bytes], bytes]) -> ReviewSigner:
    """A signer whose key lives elsewhere (KMS, HSM): ``sign`` returns the raw signature."""
    _certs(chain_pem)
    return ReviewSigner(chain_pem, sign)


def key_signer(chain_pem: bytes, key_pem: bytes, passphrase: bytes | None = None) -> ReviewSigner:
    """A signer from a PEM key (EC, Ed25519 or RSA) matching the chain's first certificate."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    try:
        key = serialization.load_pem_private_key(key_pem, password=passphrase or None)
    except (TypeError, ValueError) as e:
        raise ReviewSignatureError(f"reviewer key: cannot load ({e})") from e
    leaf = _certs(chain_pem)[0]
    raw = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if key.public_key().public_bytes(enc, raw) != leaf.public_key().public_bytes(enc, raw):
        raise ReviewSignatureError("reviewer key: does not match the certificate")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ReviewSigner(chain_pem, lambda m: key.sign(m, ec.ECDSA(hashes.SHA256())))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return ReviewSigner(chain_pem, key.sign)
    if isinstance(key, rsa.RSAPrivateKey):
        return ReviewSigner(chain_pem, lambda m: key.sign(m, padding.PKCS1v15(), hashes.SHA256()))
    raise ReviewSignatureError("reviewer key: use an EC, Ed25519 or RSA key")


def _verify(cert: x509.Certificate, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    pub = cert.public_key()
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(pub, ed25519.Ed25519PublicKey):
            pub.verify(signature, message)
        elif isinstance(pub, rsa.RSAPublicKey):
            pub.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def verified_reviewer(body: Mapping[str, Any], enrolled: Mapping[str, str]) -> str | None:
    """The identity that signed this review body, if the signature and enrolment hold; else None."""
    found = verified_signer(body, enrolled)
    return found[0] if found else None


def verified_signer(body: Mapping[str, Any], enrolled: Mapping[str, str]) -> tuple[str, str] | None:
    """(identity, certificate SHA-256) of a valid, enrolled signature on a review body."""
    sig = body.get("signature")
    target = body.get("target") or {}
    if not isinstance(sig, dict) or not enrolled or not isinstance(target, dict):
        return None
    try:
        certs = _certs(str(sig["chain"]).encode("ascii"))
        value = base64.b64decode(str(sig["value"]), validate=True)
    except (KeyError, ValueError, InputError):
        return None
    leaf = certs[0]
    message = review_message(
        str(target.get("sha256")), str(body.get("decision")), str(target.get("entry"))
    )
    if not _verify(leaf, value, message) or not _enrolled(leaf, certs[1:], enrolled):
        return None
    return identity_of(leaf), cert_sha256(leaf)


def _enrolled(
    leaf: x509.Certificate, issuers: list[x509.Certificate], enrolled: Mapping[str, str]
) -> bool:
    from cryptography.exceptions import InvalidSignature

    if cert_sha256(leaf) in enrolled:
        return True
    for ca in issuers:  # a reviewer certificate issued directly by an enrolled CA
        if cert_sha256(ca) in enrolled:
            try:
                leaf.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):  # any failure: not issued by it
                continue
            return True
    return False


def enroll_reviewer(home: Home, chain_pem: bytes) -> str:
    """Enrol a reviewer's certificate (or a CA issuing reviewer certificates); return its identity."""
    from cryptography.hazmat.primitives import serialization

    from provenance.home.files import write_private

    cert = _certs(chain_pem)[0]

    pem = cert.public_bytes(serialization.Encoding.PEM)
    write_private(home.root / "reviewers" / f"{cert_sha256(cert)[:16]}.pem", pem)
    return identity_of(cert)


def enrolled_reviewers(home: Home | None) -> dict[str, str]:
    """Enrolled certificates of ``home``: SHA-256 of each -> the identity it certifies."""
    if home is None:
        return {}
    folder = home.root / "reviewers"
    out: dict[str, str] = {}
    for path in sorted(folder.glob("*.pem")) if folder.is_dir() else []:
        for cert in _certs(path.read_bytes()):
            out[cert_sha256(cert)] = identity_of(cert)
    return out
