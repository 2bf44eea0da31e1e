"""Checkpoints in the C2SP tlog-checkpoint format, signed as C2SP signed notes with Ed25519.

Example::

    >>> from ledger.checkpoint import Checkpoint, generate_log_key, verifier_key, open_checkpoint
    >>> key = generate_log_key()
    >>> vkey = verifier_key(key, "example.org/log")
    >>> note = Checkpoint("example.org/log", 3, bytes(32)).sign(key)
    >>> open_checkpoint(note, vkey).size
    3
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import LedgerIntegrityError, MalformedNoteError, WrongLogKeyError

_ALG_ED25519 = 0x01
_DASH = "\u2014 "  # signature lines start with an em dash and a space


def generate_log_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 key for signing checkpoints."""
    return Ed25519PrivateKey.generate()


def key_to_pem(key: Ed25519PrivateKey) -> bytes:
    """PKCS#8 PEM (unencrypted; the caller keeps the file at mode 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def key_from_pem(data: bytes) -> Ed25519PrivateKey:
    """Load a PKCS#8 PEM Ed25519 key; a clear error for anything else."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise MalformedNoteError(f"log key: not an unencrypted PEM private key ({e})") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise MalformedNoteError("log key: not an Ed25519 key")
    return key


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key_id(name: str, raw_public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([_ALG_ED25519]) + raw_public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise MalformedNoteError(f"key name {name!r}: must be non-empty, without spaces or '+'")


def verifier_key(key: Ed25519PrivateKey | Ed25519PublicKey, name: str) -> str:
    """The signed-note verifier key ``<name>+<hex key id>+<base64(0x01 || public key)>``."""
    _check_name(name)
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = _raw_public(pub)
    return f"{name}+{_key_id(name, raw).hex()}+{base64.b64encode(bytes([_ALG_ED25519]) + raw).decode()}"


@dataclass(frozen=True)
class Verifier:
    """A parsed verifier key."""

    name: str
    key_id: bytes
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise MalformedNoteError("verifier key: expected <name>+<key id>+<base64 key>")
        name, hex_id, b64 = parts
        _check_name(name)
        try:
            key_id = bytes.fromhex(hex_id)
            blob = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error) as e:
            raise MalformedNoteError(f"verifier key: bad encoding ({e})") from e
        if len(key_id) != 4 or len(blob) != 33 or blob[0] != _ALG_ED25519:
            raise MalformedNoteError("verifier key: not an Ed25519 signed-note key")
        if _key_id(name, blob[1:]) != key_id:
            raise MalformedNoteError("verifier key: key id does not match the key")
        return cls(name, key_id, Ed25519PublicKey.from_public_bytes(blob[1:]))


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size and root hash; ``note`` is its signed text once signed."""

    origin: str
    size: int
    root: bytes
    note: str = ""

    def body(self) -> str:
        if not self.origin or "\n" in self.origin:
            raise MalformedNoteError("checkpoint origin: must be one non-empty line")
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    def sign(self, key: Ed25519PrivateKey, name: str | None = None) -> str:
        """The signed note text; ``name`` defaults to the origin."""
        name = name or self.origin
        _check_name(name)
        body = self.body()
        raw = _raw_public(key.public_key())
        sig = _key_id(name, raw) + key.sign(body.encode())
        return f"{body}\n{_DASH}{name} {base64.b64encode(sig).decode()}\n"


def parse_note(text: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """Split a signed note into its body and ``(name, key id, signature)`` lines."""
    body, sep, sigs = text.partition("\n\n")
    if not sep or not body or "\n\n" in sigs or not sigs.endswith("\n"):
        raise MalformedNoteError("signed note: expected a body, a blank line and signature lines")
    out: list[tuple[str, bytes, bytes]] = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith(_DASH):
            raise MalformedNoteError(f"signed note: bad signature line {line[:40]!r}")
        name, _, b64 = line[len(_DASH) :].partition(" ")
        try:
            blob = base64.b64decode(b64, validate=True)
        except binascii.Error as e:
            raise MalformedNoteError("signed note: signature is not base64") from e
        if len(blob) < 5:
            raise MalformedNoteError("signed note: signature too short")
        out.append((name, blob[:4], blob[4:]))
    return body + "\n", out


def parse_checkpoint_body(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise MalformedNoteError("checkpoint: expected origin, size and root lines")
    origin, size_s, root_s = lines[0], lines[1], lines[2]
    if not origin or not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
        raise MalformedNoteError("checkpoint: bad origin or size line")
    try:
        root = base64.b64decode(root_s, validate=True)
    except binascii.Error as e:
        raise MalformedNoteError("checkpoint: root is not base64") from e
    if len(root) != 32:
        raise MalformedNoteError("checkpoint: root is not a SHA-256 hash")
    return Checkpoint(origin, int(size_s), root)


def open_checkpoint(note: str, vkey: str | Verifier) -> Checkpoint:
    """Parse and verify a signed checkpoint; raises unless ``vkey`` signed it.

    A note with no signature from this key (another log, wrong key) raises
    :class:`WrongLogKeyError`; a matching key whose signature fails raises
    :class:`LedgerIntegrityError`; a malformed note raises :class:`MalformedNoteError`.
    """
    verifier = vkey if isinstance(vkey, Verifier) else Verifier.parse(vkey)
    body, sigs = parse_note(note)
    cp = parse_checkpoint_body(body)
    mine = [s for name, kid, s in sigs if name == verifier.name and kid == verifier.key_id]
    if not mine:
        raise WrongLogKeyError(
            f"checkpoint for {cp.origin!r} carries no signature by key {verifier.name!r} "
            f"({verifier.key_id.hex()}): wrong log key or a checkpoint of another log"
        )
    try:
        verifier.public.verify(mine[0], body.encode())
    except InvalidSignature as e:
        raise LedgerIntegrityError(
            f"checkpoint for {cp.origin!r} at size {cp.size}: signature does not verify"
        ) from e
    if cp.origin != verifier.name:
        raise WrongLogKeyError(
            f"checkpoint origin {cp.origin!r} is not the key's log {verifier.name!r}"
        )
    return Checkpoint(cp.origin, cp.size, cp.root, note)
