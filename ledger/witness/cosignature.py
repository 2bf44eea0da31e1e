"""C2SP tlog-cosignature v1 with Ed25519 (signed-note signature type 0x04).

A witness signs ``"cosignature/v1\\ntime <secs>\\n" || checkpoint body``; the note signature is
``key id (4) || timestamp (8, big-endian) || Ed25519 signature (64)``, and the key id is
``SHA-256(name || 0x0A || 0x04 || public key)[:4]``.

Example::

    >>> from ledger.checkpoint import Checkpoint, generate_log_key
    >>> from ledger.witness.cosignature import CosignerKey, cosign, witness_vkey
    >>> log_key, witness_key = generate_log_key(), generate_log_key()
    >>> note = Checkpoint("example.org/log", 3, bytes(32)).sign(log_key)
    >>> line = cosign(witness_key, "witness.example/w1", note, timestamp=1679315147)
    >>> vkey = witness_vkey(witness_key, "witness.example/w1")
    >>> CosignerKey.parse(vkey).find(note + line)[0].timestamp
    1679315147
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.checkpoint import parse_note
from ledger.errors import MalformedNoteError

ALG_COSIGNATURE_V1 = 0x04
HEADER = "cosignature/v1"
MAX_TIMESTAMP = 2**63 - 1
_DASH = "\u2014 "


def check_key_name(name: str) -> None:
    """signed-note key names: non-empty, no Unicode spaces, no '+'."""
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise MalformedNoteError(f"key name {name!r}: must be non-empty, without spaces or '+'")
    if any(ord(c) < 0x20 for c in name):
        raise MalformedNoteError(f"key name {name!r}: must not contain control characters")


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def cosigner_key_id(name: str, raw_public: bytes) -> bytes:
    """``SHA-256(name || 0x0A || 0x04 || 32-byte Ed25519 public key)[:4]``."""
    return hashlib.sha256(
        name.encode() + b"\n" + bytes([ALG_COSIGNATURE_V1]) + raw_public
    ).digest()[:4]


def witness_vkey(key: Ed25519PrivateKey | Ed25519PublicKey, name: str) -> str:
    """The witness's verifier key ``<name>+<hex key id>+<base64(0x04 || public key)>``."""
    check_key_name(name)
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = _raw(pub)
    blob = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + raw).decode()
    return f"{name}+{cosigner_key_id(name, raw).hex()}+{blob}"


def cosignature_message(body: str, timestamp: int) -> bytes:
    """The signed message: header line, time line, then the whole checkpoint body."""
    if not body.endswith("\n"):
        raise MalformedNoteError("checkpoint body: must end in a newline")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise MalformedNoteError(f"cosignature timestamp {timestamp}: outside 0..2^63-1")
    return f"{HEADER}\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class Cosignature:
    """One verified (or freshly made) cosignature over a checkpoint body."""

    name: str
    key_id: bytes
    timestamp: int
    signature: bytes

    def line(self) -> str:
        """The note signature line, newline-terminated."""
        blob = self.key_id + self.timestamp.to_bytes(8, "big") + self.signature
        return f"{_DASH}{self.name} {base64.b64encode(blob).decode()}\n"


def note_body(note_or_body: str) -> str:
    """The text a signature covers: the note's body, or the argument itself if it has no sigs."""
    return parse_note(note_or_body)[0] if "\n\n" in note_or_body else note_or_body


def cosign(
    key: Ed25519PrivateKey, name: str, note_or_body: str, *, timestamp: int | None = None
) -> str:
    """A ``cosignature/v1`` note signature line by ``key`` (named ``name``) on a checkpoint."""
    return make_cosignature(key, name, note_body(note_or_body), timestamp=timestamp).line()


def make_cosignature(
    key: Ed25519PrivateKey, name: str, body: str, *, timestamp: int | None = None
) -> Cosignature:
    check_key_name(name)
    ts = int(time.time()) if timestamp is None else timestamp
    sig = key.sign(cosignature_message(body, ts))
    return Cosignature(name, cosigner_key_id(name, _raw(key.public_key())), ts, sig)


@dataclass(frozen=True)
class CosignerKey:
    """A witness's public key from its vkey (type 0x04)."""

    name: str
    key_id: bytes
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> CosignerKey:
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise MalformedNoteError("witness key: expected <name>+<key id>+<base64 key>")
        name, hex_id, b64 = parts
        check_key_name(name)
        try:
            key_id = bytes.fromhex(hex_id)
            blob = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error) as e:
            raise MalformedNoteError(f"witness key {name!r}: bad encoding ({e})") from e
        if len(key_id) != 4 or len(blob) != 33:
            raise MalformedNoteError(f"witness key {name!r}: not an Ed25519 signed-note key")
        if blob[0] != ALG_COSIGNATURE_V1:
            raise MalformedNoteError(
                f"witness key {name!r}: signature type 0x{blob[0]:02x}, expected 0x04 (cosignature/v1)"
            )
        if cosigner_key_id(name, blob[1:]) != key_id:
            raise MalformedNoteError(f"witness key {name!r}: key id does not match the key")
        return cls(name, key_id, Ed25519PublicKey.from_public_bytes(blob[1:]))

    @property
    def raw_public(self) -> bytes:
        return _raw(self.public)

    def vkey(self) -> str:
        return witness_vkey(self.public, self.name)

    def verify(self, body: str, blob: bytes) -> Cosignature:
        """Check one signature (key id stripped) over ``body``; raises if it is not valid."""
        if len(blob) != 72:
            raise MalformedNoteError(
                f"cosignature by {self.name!r}: {len(blob)} bytes, expected 8 + 64"
            )
        ts, sig = int.from_bytes(blob[:8], "big"), blob[8:]
        if ts > MAX_TIMESTAMP:
            raise MalformedNoteError(f"cosignature by {self.name!r}: timestamp above 2^63-1")
        try:
            self.public.verify(sig, cosignature_message(body, ts))
        except InvalidSignature as e:
            raise MalformedNoteError(
                f"cosignature by {self.name!r}: signature does not verify"
            ) from e
        return Cosignature(self.name, self.key_id, ts, sig)

    def find(self, note: str) -> list[Cosignature]:
        """This key's valid cosignatures in ``note``; a matching line that fails raises."""
        body, sigs = parse_note(note)
        return [
            self.verify(body, blob)
            for name, kid, blob in sigs
            if name == self.name and kid == self.key_id
        ]
