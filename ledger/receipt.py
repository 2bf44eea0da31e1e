"""Receipts: an offline-verifiable C2SP tlog-proof for one entry, and its verification.

Example::

    >>> from ledger.receipt import verify_receipt
    >>> # receipt = led.receipt(entry.id); verify_receipt(receipt, led.verifier_key).ok -> True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ledger.entry import Entry
from ledger.errors import LedgerIntegrityError, MalformedNoteError
from ledger.proofs import is_included, signed_checkpoint

if TYPE_CHECKING:
    from ledger.witness.policy import Policy

HEADER = "c2sp.org/tlog-proof@v1"


def build_receipt(entry: Entry, proof: list[bytes], checkpoint_note: str) -> str:
    """The tlog-proof text; ``extra`` carries the entry's leaf bytes."""
    lines = [HEADER, f"extra {base64.b64encode(entry.leaf).decode()}", f"index {entry.index}"]
    lines += [base64.b64encode(h).decode() for h in proof]
    return "\n".join(lines) + "\n\n" + checkpoint_note


@dataclass(frozen=True)
class ReceiptResult:
    ok: bool
    reason: str
    index: int
    entry_id: str = ""
    tree_size: int = 0
    origin: str = ""
    outputs: tuple[str, ...] = ()
    witnesses: str = ""  # under a witness policy: who cosigned which size, and the verdict


def _parse(text: str) -> tuple[bytes, int, list[bytes], str]:
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or lines[0] != HEADER:
        raise MalformedNoteError(f"receipt: not a {HEADER} proof")
    extra = b""
    rest = lines[1:]
    try:
        if rest and rest[0].startswith("extra "):
            extra = base64.b64decode(rest.pop(0)[6:], validate=True)
        if not rest or not rest[0].startswith("index ") or not rest[0][6:].isdigit():
            raise MalformedNoteError("receipt: missing 'index N' line")
        index = int(rest.pop(0)[6:])
        proof = [base64.b64decode(h, validate=True) for h in rest]
    except binascii.Error as e:
        raise MalformedNoteError("receipt: bad base64") from e
    if any(len(h) != 32 for h in proof):
        raise MalformedNoteError("receipt: proof hashes must be 32 bytes")
    if not extra:
        raise MalformedNoteError("receipt: no entry data (extra line)")
    return extra, index, proof, note


def verify_receipt(
    text: str,
    verifier_key: str,
    *,
    file_sha256: str | None = None,
    policy: Policy | None = None,
) -> ReceiptResult:
    """Check a receipt offline. Malformed input or another log's key raise; failures return ok=False.

    With a witness ``policy`` the receipt's checkpoint must also carry a quorum of valid
    cosignatures (C2SP tlog-cosignature lines after the log's signature)."""
    leaf, index, proof, note = _parse(text)
    try:
        cp = signed_checkpoint(note, verifier_key)
    except LedgerIntegrityError as e:
        return ReceiptResult(False, str(e), index)
    try:
        doc = json.loads(leaf)
        eid, claimed, outputs = str(doc["id"]), int(doc["index"]), tuple(doc["outputs"])
    except (ValueError, KeyError, TypeError):
        return ReceiptResult(False, "entry data is not a ledger leaf", index)
    base = ReceiptResult(False, "", index, eid, cp.size, cp.origin, outputs)
    if claimed != index:
        return _fail(base, f"entry says index {claimed}, receipt says {index}")
    if not is_included(leaf, index, proof, note, verifier_key):
        return _fail(
            base, f"inclusion proof does not lead to the checkpoint root at size {cp.size}"
        )
    if file_sha256 is not None and file_sha256.lower() not in outputs:
        return _fail(base, f"file sha256 {file_sha256[:16]}... is not an output of entry {eid}")
    ok = ReceiptResult(True, "entry is in the log", index, eid, cp.size, cp.origin, outputs)
    if policy is None:
        return ok
    quorum = policy.evaluate(note)
    if not quorum.satisfied:
        return replace(_fail(base, quorum.verdict()), witnesses=quorum.verdict())
    return replace(
        ok, reason=f"entry is in the log, {quorum.verdict()}", witnesses=quorum.verdict()
    )


def _fail(base: ReceiptResult, reason: str) -> ReceiptResult:
    return ReceiptResult(
        False, reason, base.index, base.entry_id, base.tree_size, base.origin, base.outputs
    )


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
