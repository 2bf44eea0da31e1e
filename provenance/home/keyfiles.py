"""Private key files of a home: their mode checked before use, the log key optionally encrypted.

The ledger's log key is encrypted with the same passphrase as the signer key (``init --encrypt``,
``PROVENANCE_KEY_PASSPHRASE``); a key or ledger file that group or others can read is refused.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.errors import IdentityError, InputError
from provenance.vocab import ENV_KEY_PASSPHRASE

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class ExposedFileError(IdentityError):
    """A private key or the ledger is readable by group or others."""


def check_private(path: Path, what: str) -> None:
    """Refuse ``path`` when group or others may read, write or search it."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ExposedFileError(
            f"{path}: the {what} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`"
        )


def log_key_pem(key: Ed25519PrivateKey, passphrase: bytes | None) -> bytes:
    """The log key as PKCS#8 PEM, encrypted (best available) when a passphrase is given."""
    from cryptography.hazmat.primitives import serialization

    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def load_log_key(path: Path, passphrase: bytes | None) -> Ed25519PrivateKey:
    """Read the log key after checking its mode; an encrypted one needs ``passphrase``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    check_private(path, "ledger's log key")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IdentityError(f"{path}: cannot read the ledger's log key ({e.strerror})") from e
    encrypted = b"ENCRYPTED" in data  # a key made before `init --encrypt` covered it is plain
    if encrypted and not passphrase:
        raise IdentityError(
            f"{path.name}: the log key is encrypted; set {ENV_KEY_PASSPHRASE} "
            "or enter the passphrase"
        )
    try:
        key = serialization.load_pem_private_key(data, password=passphrase if encrypted else None)
    except (TypeError, ValueError) as e:
        raise IdentityError(f"{path.name}: wrong passphrase or not a PEM private key") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path.name}: not an Ed25519 log key")
    return key
