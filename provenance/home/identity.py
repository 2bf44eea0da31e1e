"""Signing identities: a local CA and signer made by ``provenance init``, or a PEM chain you bring.

Example::

    from provenance.home.paths import Home
    from provenance.home.identity import create_local_identity, load_identity

    home = Home(Path("/tmp/demo-home"))
    create_local_identity(home, actor="desk@example.org")
    ident = load_identity(home)
    print(ident.subject, ident.is_local)   # CN=... True

The local CA is self-issued: it proves only that files came from this installation, and every
verification report says so. Organisations bring their own chain with ``provenance init --cert``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from provenance.errors import (
    IdentityError,
    IdentityExistsError,
    NoIdentityError,
    NotLocalIdentityError,
)
from provenance.home.actor import default_actor
from provenance.home.certs import PrivateKey, create_ca, issue_signer, pem_cert, pem_key
from provenance.home.files import write_private, write_public
from provenance.home.keyfiles import check_private as _check_private
from provenance.home.paths import ENV_KEY_PASSPHRASE, Home

__all__ = [
    "Identity",
    "PrivateKey",
    "callback_identity",
    "create_ca",
    "create_local_identity",
    "has_identity",
    "import_identity",
    "issue_signer",
    "load_identity",
    "pem_cert",
    "pem_key",
    "read_meta",
    "rotate_signer",
]


@dataclass(frozen=True)
class Identity:
    """A loaded signer: its certificate chain and a way to sign with its key."""

    chain_pem: bytes  # signer certificate first, then issuers
    key: PrivateKey | None  # None when signing happens elsewhere (callback signer)
    alg: str  # c2pa algorithm name: es256, es384, es512, ps256, ed25519
    is_local: bool  # made by `provenance init` (self-issued local CA)
    ca_pem: bytes | None  # the local CA certificate, when is_local
    sign_callback: Callable[[bytes], bytes] | None = None

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.chain_pem)[0]

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def cert_sha256(self) -> str:
        """SHA-256 of the signer certificate (DER): recorded in each ledger entry (key rotation)."""
        return hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` as C2PA expects for :attr:`alg` (DER ECDSA is accepted by c2pa)."""
        if self.sign_callback is not None:
            return self.sign_callback(data)
        key = self.key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            digest = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[
                key.curve.key_size
            ]
            return key.sign(data, ec.ECDSA(digest))
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        if isinstance(key, rsa.RSAPrivateKey):
            from cryptography.hazmat.primitives.asymmetric import padding

            return key.sign(
                data,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
        raise IdentityError("signer key: no key and no signing callback configured")


def callback_identity(
    chain_pem: bytes,
    sign: Callable[[bytes], bytes],
    *,
    alg: str = "es256",
    ca_pem: bytes | None = None,
) -> Identity:
    """A signer whose private key lives elsewhere (a KMS, an HSM, another process).

    ``sign(data)`` must return the signature of ``data`` for ``alg`` (for ES256: ECDSA P-256 with
    SHA-256, DER or raw r||s). The key never enters this process. Example::

        ident = callback_identity(chain_pem, lambda data: kms.sign(key_id, data))
        Recorder(identity=ident).generate("a red circle", "c.png")
    """
    _parse_chain(chain_pem, "signer chain")
    if alg not in ("es256", "es384", "es512", "ps256", "ed25519"):
        raise IdentityError(f"alg: {alg!r} is not a C2PA signing algorithm")
    return Identity(chain_pem, None, alg, ca_pem is not None, ca_pem, sign_callback=sign)


def has_identity(home: Home) -> bool:
    return home.signer_chain.exists() or home.signer_key.exists()


def create_local_identity(
    home: Home, *, actor: str | None = None, passphrase: bytes | None = None, force: bool = False
) -> Identity:
    """Make a local root CA and a signer under it in ``home`` (``provenance init``)."""
    if has_identity(home) and not force:
        raise IdentityExistsError(
            home.identity_dir,
            " (files signed with it will still verify only if you keep its CA as a trust anchor)",
        )
    who = actor or default_actor()
    ca_key, ca_cert = create_ca(f"Provenance local CA ({who})")
    key, cert = issue_signer(ca_key, ca_cert, f"Provenance local signer ({who})")
    write_private(home.ca_key, pem_key(ca_key, passphrase))
    write_public(home.ca_cert, pem_cert(ca_cert))
    write_public(home.signer_chain, pem_cert(cert) + pem_cert(ca_cert))
    write_private(home.signer_key, pem_key(key, passphrase))
    _write_meta(home, kind="local", actor=who)
    return Identity(pem_cert(cert) + pem_cert(ca_cert), key, "es256", True, pem_cert(ca_cert))


def import_identity(
    home: Home,
    chain_path: Path,
    key_path: Path,
    *,
    actor: str | None = None,
    passphrase: bytes | None = None,
    force: bool = False,
) -> Identity:
    """Install a user's own PEM certificate chain and private key as this home's signer."""
    if has_identity(home) and not force:
        raise IdentityExistsError(home.identity_dir)
    try:
        chain = chain_path.read_bytes()
        key_pem = key_path.read_bytes()
    except OSError as e:
        raise IdentityError(f"{e.filename}: cannot read: {e.strerror}") from e
    certs = _parse_chain(chain, chain_path.name)
    key = _parse_key(key_pem, key_path.name, passphrase)
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != certs[0].public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise IdentityError(
            f"{key_path.name}: this key does not match the first certificate in {chain_path.name}"
        )
    write_public(home.signer_chain, chain)
    write_private(home.signer_key, key_pem)
    for stale in (home.ca_cert, home.ca_key):
        stale.unlink(missing_ok=True)
    _write_meta(home, kind="imported", actor=actor or default_actor())
    return Identity(chain, key, _alg_for(key), False, None)


def load_identity(home: Home, *, passphrase: bytes | None = None) -> Identity:
    """Load the signer of ``home``; a clear :class:`IdentityError` says what is missing or wrong.

    The passphrase of an encrypted key comes from the argument or ``PROVENANCE_KEY_PASSPHRASE``.
    A key file that group or others can read is refused.
    """
    if not home.signer_chain.exists() or not home.signer_key.exists():
        raise NoIdentityError(home.root)
    _check_private(home.signer_key, "signer key")
    if passphrase is None and os.environ.get(ENV_KEY_PASSPHRASE):
        passphrase = os.environ[ENV_KEY_PASSPHRASE].encode()
    chain = home.signer_chain.read_bytes()
    _parse_chain(chain, home.signer_chain.name)
    key = _parse_key(home.signer_key.read_bytes(), home.signer_key.name, passphrase)
    meta = read_meta(home)
    is_local = meta.get("kind") == "local" and home.ca_cert.exists()
    return Identity(
        chain, key, _alg_for(key), is_local, home.ca_cert.read_bytes() if is_local else None
    )


def rotate_signer(home: Home, *, passphrase: bytes | None = None) -> Identity:
    """Replace the local signer with a new key and certificate under the same local CA.

    Files signed before keep verifying (the CA stays the trust anchor); each ledger entry records
    the SHA-256 of the certificate that signed it. The old certificate is kept in
    ``identity/retired/`` for reference; the old private key is destroyed. An encrypted key
    stays encrypted (passphrase from the argument or ``PROVENANCE_KEY_PASSPHRASE``).
    """
    old = load_identity(home, passphrase=passphrase)
    if not old.is_local or not home.ca_key.exists():
        raise NotLocalIdentityError(home.identity_dir)
    _check_private(home.ca_key, "CA key")
    if passphrase is None and os.environ.get(ENV_KEY_PASSPHRASE):
        passphrase = os.environ[ENV_KEY_PASSPHRASE].encode()
    encrypted = b"ENCRYPTED" in home.signer_key.read_bytes()
    ca_key = _parse_key(
        home.ca_key.read_bytes(), home.ca_key.name, passphrase if encrypted else None
    )
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise IdentityError(f"{home.ca_key.name}: the local CA key is not an EC key")
    ca_cert = x509.load_pem_x509_certificate(home.ca_cert.read_bytes())
    who = read_meta(home).get("actor") or default_actor()
    key, cert = issue_signer(ca_key, ca_cert, f"Provenance local signer ({who})")
    write_public(
        home.identity_dir / "retired" / f"signer-{old.cert_sha256[:16]}.chain.pem", old.chain_pem
    )
    chain = pem_cert(cert) + pem_cert(ca_cert)
    write_private(home.signer_key, pem_key(key, passphrase if encrypted else None))
    write_public(home.signer_chain, chain)
    return Identity(chain, key, "es256", True, pem_cert(ca_cert))


def read_meta(home: Home) -> dict[str, str]:
    try:
        data = json.loads(home.identity_meta.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_meta(home: Home, *, kind: str, actor: str) -> None:
    write_public(home.identity_meta, json.dumps({"kind": kind, "actor": actor}, indent=2).encode())


def _parse_chain(data: bytes, name: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as e:
        raise IdentityError(f"{name}: not a PEM certificate chain") from e
    if not certs:
        raise IdentityError(f"{name}: no certificate found")
    return certs


def _parse_key(data: bytes, name: str, passphrase: bytes | None) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as e:
        if passphrase is None:
            raise IdentityError(
                f"{name}: the signer key is encrypted; set {ENV_KEY_PASSPHRASE} or enter the passphrase"
            ) from e
        raise IdentityError(f"{name}: a passphrase was given but the key is not encrypted") from e
    except ValueError as e:
        msg = "wrong passphrase or not a PEM private key" if passphrase else "not a PEM private key"
        raise IdentityError(f"{name}: {msg}") from e
    if not isinstance(
        key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)
    ):
        raise IdentityError(
            f"{name}: unsupported key type {type(key).__name__} (use EC P-256/384/521, RSA or Ed25519)"
        )
    return key


def _alg_for(key: PrivateKey) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {256: "es256", 384: "es384", 521: "es512"}[key.curve.key_size]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    return "ps256"
