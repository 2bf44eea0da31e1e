"""Cross-check a file against the ledger: exact hash, the manifest's ledger assertion, the
inclusion proof against the latest *signed* checkpoint, and perceptual recovery of stripped copies.
"""

from __future__ import annotations

import weakref
from typing import Any

from PIL import Image

from ledger import Entry, Ledger
from ledger.checkpoint import Checkpoint
from ledger.errors import LedgerError
from ledger.fingerprint_index import index_for
from ledger.proofs import is_included, signed_checkpoint
from provenance.recovery import fingerprint
from provenance.verify.report import LedgerCheck

_CANDIDATES = 20  # prefilter hits to confirm; more than this many look-alikes is noise


def entry_summary(entry: Entry) -> dict[str, Any]:
    body = entry.body
    out = body.get("output") if isinstance(body.get("output"), dict) else {}
    return {
        "id": entry.id,
        "index": entry.index,
        "kind": entry.kind,
        "time": entry.time.isoformat(),
        "actor": body.get("actor"),
        "op": body.get("op"),
        "backend": body.get("backend"),
        "model": body.get("model"),
        "actions": body.get("actions", []),
        "output": out.get("sha256") if out else None,
        "output_name": out.get("name") if out else None,
        "parents": list(entry.parents),
    }


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
        return LedgerCheck(
            done=False,
            reason="no ledger available, so no ledger check was done "
            "(run `provenance init` or set PROVENANCE_LEDGER_URL)",
        )
    result = LedgerCheck(done=True, reason="")
    entry: Entry | None = None
    found = ledger.find_by_output(digest)
    if found:
        entry, result.match = found[-1], "exact"
    if isinstance(claimed, dict):
        entry = _check_claim(ledger, claimed, entry, result)
    if entry is None and image is not None and not isinstance(claimed, dict):
        entry = _recover(ledger, image, result)
    if entry is None:
        result.reason = result.reason or "no ledger entry for this file"
        return result
    result.entry = entry_summary(entry)
    chain = ledger.lineage(entry.id) if entry.parents else [entry]
    result.lineage = [entry_summary(e) for e in chain]
    result.proof = proof(ledger, entry, log_verifier)
    result.reason = f"recorded as ledger entry {entry.index} ({entry.kind}, {result.match} match)"
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


def _recover(ledger: Ledger, image: Image.Image, result: LedgerCheck) -> Entry | None:
    """Perceptual search: a fast prefilter on one hash, then every fingerprint must agree."""
    query = fingerprint.compute(image)
    hits = index_for(ledger, fingerprint.SEARCH_KIND).search(
        query.phash, fingerprint.SEARCH_RADIUS, _CANDIDATES
    )
    stored: dict[str, fingerprint.Fingerprints] = {}
    entry_of: dict[str, str] = {}
    for hit in hits:
        if hit.output in stored:
            continue
        try:
            stored[hit.output] = _stored_fingerprints(ledger, hit.output, hit.entry_id)
        except Exception:  # a partial record cannot confirm anything
            continue
        entry_of[hit.output] = hit.entry_id
    best, ranked = fingerprint.choose(query, stored)
    result.candidates = [
        {
            "output": key,
            "entry": entry_of[key],
            "distances": a.distances,
            "label": a.label,
            "confident": a.confident,
            "reason": a.reason,
        }
        for key, a in ranked
    ]
    strong = [key for key, a in ranked if a.confident]
    if best is None and len(strong) > 1:
        found = _one_lineage(ledger, [_producer(ledger, k, entry_of[k]) for k in strong])
        if found is not None:
            result.match = "perceptual"
            result.problems.append(
                f"{len(strong)} recorded images of one lineage match (an "
                "edit and its ancestors); reporting the latest of them"
            )
            return found
    if best is None:
        result.reason = (
            "several unrelated recorded images match equally well; not recovered"
            if strong
            else "no recorded image matches closely enough"
            if ranked
            else "no ledger entry for this file"
        )
        return None
    result.match = "perceptual"
    return _producer(ledger, best, entry_of[best])


def _stored_fingerprints(ledger: Ledger, output: str, entry_id: str) -> fingerprint.Fingerprints:
    """The entry body's full fingerprints (with the detail grid that tells words apart), else the
    ledger table's 64-bit kinds (older entries: never confident, since words go unchecked)."""
    entry = ledger.get(entry_id)
    out = entry.body.get("output") if entry is not None else None
    if isinstance(out, dict) and out.get("sha256") == output:
        fps = out.get("fingerprints")
        if isinstance(fps, dict) and "detail" in fps:
            return fingerprint.Fingerprints.from_json(fps)
    return fingerprint.Fingerprints.from_ledger(ledger.fingerprints_of(output))


def _producer(ledger: Ledger, output: str, entry_id: str) -> Entry | None:
    producers = ledger.find_by_output(output)
    return producers[-1] if producers else ledger.get(entry_id)


def _one_lineage(ledger: Ledger, entries: list[Entry | None]) -> Entry | None:
    """The entry whose lineage holds every other one, when the matches are one edit history;
    look-alikes from different histories stay ambiguous."""
    ids = {e.id for e in entries if e is not None}
    if len(ids) != len(entries):
        return None
    for e in sorted((x for x in entries if x is not None), key=lambda x: -x.index):
        if ids <= {x.id for x in ledger.lineage(e.id)}:
            return e
    return None


# The latest checkpoint per open ledger: any signed checkpoint that covers an entry proves it, so
# a batch need not re-read it for every file (it is re-read when an entry is newer).
_checkpoints: weakref.WeakKeyDictionary[Ledger, Checkpoint] = weakref.WeakKeyDictionary()


def proof(ledger: Ledger, entry: Entry, log_verifier: str | None) -> dict[str, Any]:
    """Inclusion of ``entry`` in the latest checkpoint, whose signature is checked with the log key."""
    cp = _checkpoints.get(ledger)
    if cp is None or cp.size <= entry.index:  # a newer checkpoint may cover it
        cp = ledger.latest_checkpoint()
        if cp is not None:
            _checkpoints[ledger] = cp
    if cp is None or cp.size <= entry.index:
        return {
            "verified": None,
            "signature": None,
            "reason": "no signed checkpoint covers this entry yet",
        }
    vkey, source = (
        (log_verifier, "the log's public key")
        if log_verifier
        else (ledger.verifier_key, "the ledger's stored verifier key")
    )
    if not vkey:
        return {
            "verified": None,
            "signature": None,
            "checkpoint_size": cp.size,
            "reason": "no log public key to check the checkpoint's signature",
        }
    try:
        signed = signed_checkpoint(cp.note, vkey)  # cached: a batch checks each note once
    except LedgerError as e:
        return {
            "verified": False,
            "signature": False,
            "checkpoint_size": cp.size,
            "reason": f"the latest checkpoint's signature does not verify with {source} "
            f"({e.diagnostics()})",
        }
    if (signed.size, signed.root) != (cp.size, cp.root):
        return {
            "verified": False,
            "signature": True,
            "checkpoint_size": cp.size,
            "reason": "the stored checkpoint row disagrees with its signed note",
        }
    try:
        path = ledger.inclusion_proof(entry.index, signed.size)
    except LedgerError as e:
        return {
            "verified": False,
            "signature": True,
            "checkpoint_size": signed.size,
            "reason": f"no inclusion proof could be built ({e.diagnostics()})",
        }
    ok = is_included(entry.leaf, entry.index, path, cp.note, vkey)
    return {
        "verified": ok,
        "signature": True,
        "checkpoint_size": signed.size,
        "root": signed.root.hex(),
        "key_source": source,
        "reason": f"included in the latest signed checkpoint (signature checked with {source})"
        if ok
        else "inclusion proof FAILED against the latest signed checkpoint",
    }
