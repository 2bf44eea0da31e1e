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

import datetime as dt
import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from provenance.errors import IdentityError
from provenance.home.paths import ENV_KEY_PASSPHRASE, Home

# EKUs C2PA accepts for claim signing; documentSigning is the one meant for this job.
_EKU_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name(cn: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        ]
    )


def create_ca(
    common_name: str,
    *,
    org: str = "Provenance local identity",
    days: int = 3650,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A P-256 root CA certificate (self-signed), suitable as a C2PA trust anchor."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name, org)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_signer(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    *,
    org: str = "Provenance local identity",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A P-256 end-entity certificate that C2PA accepts for claim signing.

    digitalSignature key usage, the documentSigning and emailProtection EKUs, AKI/SKI.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or (_now() - dt.timedelta(minutes=5))
    end = not_after or (_now() + dt.timedelta(days=825))
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, org))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([_EKU_DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def pem_key(key: PrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file created with mode 0600 (never briefly world-readable), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def has_identity(home: Home) -> bool:
    return home.signer_chain.exists() or home.signer_key.exists()


def create_local_identity(
    home: Home, *, actor: str | None = None, passphrase: bytes | None = None, force: bool = False
) -> Identity:
    """Make a local root CA and a signer under it in ``home`` (``provenance init``)."""
    if has_identity(home) and not force:
        raise IdentityError(
            f"{home.identity_dir}: an identity already exists; use --force to replace it "
            "(files signed with it will still verify only if you keep its CA as a trust anchor)"
        )
    who = actor or _default_actor()
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
        raise IdentityError(
            f"{home.identity_dir}: an identity already exists; use --force to replace it"
        )
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
    _write_meta(home, kind="imported", actor=actor or _default_actor())
    return Identity(chain, key, _alg_for(key), False, None)


def load_identity(home: Home, *, passphrase: bytes | None = None) -> Identity:
    """Load the signer of ``home``; a clear :class:`IdentityError` says what is missing or wrong.

    The passphrase of an encrypted key comes from the argument or ``PROVENANCE_KEY_PASSPHRASE``.
    A key file that group or others can read is refused.
    """
    if not home.signer_chain.exists() or not home.signer_key.exists():
        raise IdentityError(
            f"no signing identity in {home.root}: run `provenance init` first "
            "(or set PROVENANCE_HOME to the folder that holds one)"
        )
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
        raise IdentityError(
            f"{home.identity_dir}: only a local identity made by `provenance init` can be rotated "
            "here; bring the new certificate with `provenance init --cert ... --key ... --force`"
        )
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
    who = read_meta(home).get("actor") or _default_actor()
    key, cert = issue_signer(ca_key, ca_cert, f"Provenance local signer ({who})")
    write_public(
        home.identity_dir / "retired" / f"signer-{old.cert_sha256[:16]}.chain.pem", old.chain_pem
    )
    chain = pem_cert(cert) + pem_cert(ca_cert)
    write_private(home.signer_key, pem_key(key, passphrase if encrypted else None))
    write_public(home.signer_chain, chain)
    return Identity(chain, key, "es256", True, pem_cert(ca_cert))


def _check_private(path: Path, what: str) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise IdentityError(
            f"{path}: the {what} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`"
        )


def read_meta(home: Home) -> dict[str, str]:
    try:
        data = json.loads(home.identity_meta.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_meta(home: Home, *, kind: str, actor: str) -> None:
    write_public(home.identity_meta, json.dumps({"kind": kind, "actor": actor}, indent=2).encode())


def _default_actor() -> str:
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "user"
    return f"{user}@{socket.gethostname()}"


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
