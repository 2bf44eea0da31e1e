"""Content hashes: streamed SHA-256 of bytes and files.

Example::

    from provenance.media.hashing import sha256_file
    print(sha256_file("photo.jpg"))   # 64 hex digits

Perceptual fingerprints of pixels live in :mod:`provenance.recovery.fingerprint`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in chunks (constant memory)."""
    with Path(path).open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def salted_hash(salt: str, text: str) -> str:
    """``sha256:`` + HMAC-SHA256(salt, text): a prompt commitment that reveals nothing by itself."""
    digest = hmac.new(bytes.fromhex(salt), text.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"sha256:{digest}"
