"""Cross-check a file against the ledger: exact hash, the manifest's ledger assertion, the
inclusion proof against the latest *signed* checkpoint, and perceptual recovery of stripped copies
(:mod:`provenance.recovery.match`).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from provenance.verify.report import EntrySummary, LedgerCheck, Proof

if TYPE_CHECKING:  # the ledger, SQLAlchemy and numpy load only when a ledger is checked
    from PIL import Image

    from ledger import Entry, Ledger
    from ledger.checkpoint import Checkpoint

NO_LEDGER = "no ledger configured"  # a neutral fact: a desk that only verifies has none


def check(
    ledger: Ledger | None,
    digest: str,
    claimed: Any,
    *,
    log_verifier: str | None,
    image: Image.Image | None = None,
) -> LedgerCheck:
    """``claimed`` is the manifest's ledger assertion (``{"origin", "entry"}``) or None; ``image``
    (for files without credentials) enables the perceptual search when the hash is unknown."""
    if ledger is None:
        return LedgerCheck(done=False, reason=NO_LEDGER)
    from provenance.recovery.match import NO_ENTRY, recover
    from provenance.verify.lookup import latest_producer

    result = LedgerCheck(done=True, reason="")
    entry = latest_producer(ledger, digest)
    if entry is not None:
        result.match = "exact"
    if isinstance(claimed, dict):
        entry = _check_claim(ledger, claimed, entry, result)
    if entry is None and image is not None and not isinstance(claimed, dict):
        found = recover(ledger, image)
        result.candidates, result.reason, entry = found.candidates, found.reason, found.entry
        if entry is not None:
            result.match = "perceptual"
            result.problems += [found.caveat] if found.caveat else []
    if entry is None:
        result.reason = result.reason or NO_ENTRY
        return result
    result.entry = EntrySummary.of(entry)
    chain = ledger.lineage(entry.id) if entry.parents else [entry]
    result.lineage = [EntrySummary.of(e) for e in chain]
    result.proof = proof(ledger, entry, log_verifier)
    result.reason = (
        f"the manifest names ledger entry {entry.index} ({entry.kind}), but this file is not "
        "the output recorded there"
        if result.match == "manifest"  # the entry is real, this file is not what it recorded
        else f"recorded as ledger entry {entry.index} ({entry.kind}, {result.match} match)"
    )
    return result


def _check_claim(
    ledger: Ledger, claimed: dict[str, Any], entry: Entry | None, result: LedgerCheck
) -> Entry | None:
    origin, named_id = claimed.get("origin"), str(claimed.get("entry"))
    if origin not in (None, ledger.origin):
        result.problems.append(
            f"the manifest names another ledger ({origin}); this ledger cannot vouch for it"
        )
        return entry
    named = entry if entry is not None and entry.id == named_id else ledger.get(named_id)
    if named is None:
        result.problems.append(
            f"the manifest names ledger entry {named_id}, which this ledger does not have"
        )
    elif entry is None:
        result.match = "manifest"
        result.problems.append(
            f"the file's hash differs from every output recorded in ledger "
            f"entry {named.index}, which its manifest names"
        )
        return named
    elif named.id != entry.id:
        result.problems.append(
            f"the manifest names entry {named.id} but the file's hash is "
            f"recorded in entry {entry.id}"
        )
    return entry


# The latest checkpoint per open ledger: any signed checkpoint that covers an entry proves it, so
# a batch need not re-read it for every file (it is re-read when an entry is newer).
_checkpoints: weakref.WeakKeyDictionary[Ledger, Checkpoint] = weakref.WeakKeyDictionary()


def _latest_covering(ledger: Ledger, entry: Entry) -> Checkpoint | None:
    cp = _checkpoints.get(ledger)
    if cp is None or cp.size <= entry.index:  # a newer checkpoint may cover it
        cp = ledger.latest_checkpoint()
        if cp is not None:
            _checkpoints[ledger] = cp
    return cp if cp is not None and cp.size > entry.index else None


def proof(ledger: Ledger, entry: Entry, log_verifier: str | None) -> Proof:
    """Inclusion of ``entry`` in the latest checkpoint, whose signature is checked with the log key."""
    from ledger.errors import LedgerError
    from ledger.proofs import is_included, signed_checkpoint

    cp = _latest_covering(ledger, entry)
    if cp is None:
        return Proof(None, None, "no signed checkpoint covers this entry yet")
    vkey, source = (
        (log_verifier, "the log's public key")
        if log_verifier
        else (ledger.verifier_key, "the ledger's stored verifier key")
    )
    if not vkey:
        return Proof(None, None, "no log public key to check the checkpoint's signature", cp.size)
    try:
        signed = signed_checkpoint(cp.note, vkey)  # cached: a batch checks each note once
    except LedgerError as e:
        why = f"the latest checkpoint's signature does not verify with {source} ({e.diagnostics()})"
        return Proof(False, False, why, cp.size)
    if (signed.size, signed.root) != (cp.size, cp.root):
        return Proof(
            False, True, "the stored checkpoint row disagrees with its signed note", cp.size
        )
    try:
        path = ledger.inclusion_proof(entry.index, signed.size)
    except LedgerError as e:
        why = f"no inclusion proof could be built ({e.diagnostics()})"
        return Proof(False, True, why, signed.size)
    ok = is_included(entry.leaf, entry.index, path, cp.note, vkey)
    return Proof(
        ok,
        True,
        f"included in the latest signed checkpoint (signature checked with {source})"
        if ok
        else "inclusion proof FAILED against the latest signed checkpoint",
        signed.size,
        signed.root.hex(),
        source,
    )
