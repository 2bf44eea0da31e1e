"""Cross-check a file against the ledger: exact hash, the manifest's ledger assertion, the
inclusion proof against the latest *signed* checkpoint, and perceptual recovery of stripped copies
(:mod:`provenance.recovery.match`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from provenance.verify.report import EntrySummary, Fork, LedgerCheck, PixelCheck, Proof
from provenance.verify.words import pixel_words

if TYPE_CHECKING:  # the ledger, SQLAlchemy and numpy load only when a ledger is checked
    from PIL import Image

    from ledger import Entry, Ledger
    from ledger.checkpoint import Checkpoint
    from provenance.home.log_keys import PinnedKey
    from provenance.recovery.match import Pixels

NO_LEDGER = "no ledger configured"  # a neutral fact: a desk that only verifies has none


LOOK_UP: Any = object()  # check()'s default: the index is asked for this file alone


def check(
    ledger: Ledger | None,
    digest: str,
    claimed: Any,
    *,
    log_verifier: str | None,
    image: Image.Image | None = None,
    producer: Entry | None = LOOK_UP,
) -> LedgerCheck:
    """``claimed`` is the manifest's ledger assertion (``{"origin", "entry"}``) or None; ``image``
    (for files without credentials) enables the perceptual search when the hash is unknown.
    ``producer``: the index's answer for ``digest`` (the latest entry listing it as an output),
    when a batch asked for many files at once; it is confirmed against its leaf all the same."""
    if ledger is None:
        return LedgerCheck(done=False, reason=NO_LEDGER)
    from provenance.verify.lookup import latest_producer

    result = LedgerCheck(done=True, reason="")
    hit = latest_producer(ledger, digest) if producer is LOOK_UP else producer
    entry = _confirmed(hit, digest, result)
    if entry is not None:
        result.match = "exact"
    if isinstance(claimed, dict):
        entry = _check_claim(ledger, claimed, entry, result)
    if entry is None and image is not None and not isinstance(claimed, dict):
        from provenance.recovery.match import recover  # numpy, OpenCV: only for a search

        found = recover(ledger, image, _originals())
        result.candidates, result.reason, entry = found.candidates, found.reason, found.entry
        result.pixels = pixel_check(ledger, found.pixels)
        result.reason = (lead_words(result.pixels) if entry is None else "") or result.reason
        if entry is not None:
            result.match = "perceptual"
            result.problems += [found.caveat] if found.caveat else []
    if entry is None:
        from provenance.recovery.match import NO_ENTRY

        result.reason = result.reason or NO_ENTRY
        return result
    result.entry = EntrySummary.of(entry)
    chain = ledger.lineage(entry.id) if entry.parents else []
    result.lineage = [EntrySummary.of(e) for e in chain] or [result.entry]  # nothing to walk
    result.proof = proof(ledger, entry, log_verifier)
    result.reason = (
        f"the manifest names ledger entry {entry.index} ({entry.kind}), but this file is not "
        "the output recorded there"
        if result.match == "manifest"  # the entry is real, this file is not what it recorded
        else f"recorded as ledger entry {entry.index} ({entry.kind}, {result.match} match)"
    )
    return result


def lead_words(px: PixelCheck | None) -> str:
    """The "possible match" sentence for a lead whose pixels did not confirm it ("" if none):
    an altered or unalignable copy, or a strong fingerprint match without its original."""
    if px is None or px.state == "confirmed":
        return ""
    if px.state == "unavailable" and px.fingerprints != "strong match":
        return ""  # a weak look-alike without its original: the look-alike list says enough
    return pixel_words(px.state, px.index, px.regions, px.reason)


def _originals() -> Callable[[str], bytes | None]:
    """The verifier's own home store (where its ledger is): someone else's ledger's outputs are
    not there, so their stripped copies stay possible matches."""
    from provenance.home.originals import reader_for
    from provenance.home.paths import home_from_env

    return reader_for(home_from_env()).get


def pixel_check(ledger: Ledger, px: Pixels | None) -> PixelCheck | None:
    """The deciding pixel comparison of a recovery, as the report (and the recorder) states it."""
    if px is None:
        return None
    lead, found = px.candidate, px.confirmation
    entry = ledger.get(lead.entry)
    boxes = [asdict(r) for r in found.regions] if found else []
    return PixelCheck(
        px.state,
        found.reason if found else "no copy of the recorded original in this home's store",
        lead.entry,
        lead.output,
        entry.index if entry is not None else None,
        lead.label,
        boxes,
        [asdict(r) for r in found.copy_regions] if found else [],
        round(found.coverage, 4) if found else None,
        list(found.original_size) if found else None,
    )


def unproven_match(check: LedgerCheck) -> str:
    """Why a ledger match of a file without credentials is no proof ("" when it is one)."""
    if check.match is None or (check.proof is not None and check.proof.verified is True):
        return ""
    why = check.proof.reason if check.proof else check.reason
    return (
        "no content credentials in the file; it looks like a recorded output "
        f"({check.match} match), but the ledger could not prove it ({why})"
    )


def _confirmed(entry: Entry | None, digest: str, result: LedgerCheck) -> Entry | None:
    """The index's hit, if the entry's own leaf (what the tree commits to) lists ``digest``:
    one row inserted into the artifact index must not make an unrelated file a match."""
    if entry is None or digest in entry.outputs:
        return entry
    result.problems.append(
        f"the ledger's index names entry {entry.index} for this file, but that entry's own "
        "record does not list this file's hash: the index was altered"
    )
    return None


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

# Ledgers a batch opened for itself (:func:`in_batch`), each with its checkpoints' verdicts: the
# checks that concern the checkpoint and not the entry (the pinned key, the note's signature,
# the stored row against it, the verifier memory, the witness policy) are made once per
# checkpoint for the whole batch. A ledger opened by anyone else is checked afresh per file.
_batches: weakref.WeakKeyDictionary[Ledger, dict[tuple[int, bytes, str, str | None], Any]] = (
    weakref.WeakKeyDictionary()
)


def in_batch(ledger: Ledger) -> None:
    """Mark ``ledger`` (opened by a batch for its own use, closed when it ends) as a batch's:
    each checkpoint's own checks are then made once for all its files."""
    _batches[ledger] = {}


def _latest_covering(ledger: Ledger, entry: Entry) -> Checkpoint | None:
    cp = _checkpoints.get(ledger)
    if cp is None or cp.size <= entry.index:  # a newer checkpoint may cover it
        cp = ledger.latest_checkpoint()
        if cp is not None:
            _checkpoints[ledger] = cp
    return cp if cp is not None and cp.size > entry.index else None


class _Signed:
    """A checkpoint whose signature verified with the pinned key, whose stored row agrees with
    its note, and that extends what this user saw; with the witness policy once looked up."""

    __slots__ = ("policy", "quorum", "signed", "source", "vkey")

    def __init__(self, signed: Checkpoint, vkey: str, source: str) -> None:
        self.signed, self.vkey, self.source = signed, vkey, source
        self.policy: Any = _UNSET  # witness_policy()'s answer, once asked
        self.quorum: Any = None  # the policy's evaluation of the note, once made


_UNSET = object()


def proof(ledger: Ledger, entry: Entry, log_verifier: str | None) -> Proof:
    """Inclusion of ``entry`` in the latest checkpoint, its signature checked with a key pinned
    on the user's side (``log_verifier``, else this home's ``log.pub`` or a known log; never the
    key the database names), and the checkpoint proven to extend the newest one this user saw."""
    from ledger import merkle
    from ledger.errors import LedgerError

    cp = _latest_covering(ledger, entry)
    if cp is None:
        return Proof(None, None, "no signed checkpoint covers this entry yet")
    verdicts = _batches.get(ledger)
    key = (cp.size, cp.root, cp.note, log_verifier)
    verdict = verdicts.get(key) if verdicts is not None else None
    if verdict is None:
        verdict = _checkpoint_verdict(ledger, cp, log_verifier)
        if verdicts is not None:
            verdicts[key] = verdict
    if isinstance(verdict, Proof):  # the checkpoint itself failed: the same for every entry
        return verdict
    signed = verdict.signed
    try:
        path = ledger.inclusion_proof(entry.index, signed.size)
    except LedgerError as e:
        why = f"no inclusion proof could be built ({e.diagnostics()})"
        return Proof(False, True, why, signed.size)
    # the leaf's own hash against the root the verified signature commits to (is_included's
    # check, without looking the note's signature up again)
    ok = merkle.verify_inclusion(
        merkle.leaf_hash(entry.leaf), entry.index, signed.size, path, signed.root
    )
    proven = Proof(
        ok,
        True,
        f"included in the latest signed checkpoint (signature checked with {verdict.source})"
        if ok
        else "inclusion proof FAILED against the latest signed checkpoint",
        signed.size,
        signed.root.hex(),
        verdict.source,
    )
    return _under_policy(proven, cp.note, verdict if verdicts is not None else None)


def _checkpoint_verdict(ledger: Ledger, cp: Checkpoint, log_verifier: str | None) -> Any:
    """What the checkpoint ``cp`` is worth whatever the entry: a failed :class:`Proof`, or
    :class:`_Signed`."""
    from ledger.errors import LedgerError
    from ledger.proofs import signed_checkpoint

    pinned, why_not = _pinned(ledger, log_verifier)
    if pinned is None:
        return Proof(None, None, why_not, cp.size)
    vkey, source = pinned.vkey, pinned.source
    try:
        signed = signed_checkpoint(cp.note, vkey)  # cached: a batch checks each note once
    except LedgerError as e:
        why = f"the latest checkpoint's signature does not verify with {source} ({e.diagnostics()})"
        return Proof(False, False, why, cp.size)
    if (signed.size, signed.root) != (cp.size, cp.root):
        return Proof(
            False, True, "the stored checkpoint row disagrees with its signed note", cp.size
        )
    fork = _remember(ledger, signed, vkey)
    if fork is not None:
        return Proof(False, True, str(fork), signed.size, signed.root.hex(), source, fork)
    return _Signed(signed, vkey, source)


def _under_policy(proven: Proof, note: str, batch: _Signed | None = None) -> Proof:
    """Under a witness policy an inclusion proof counts only when the checkpoint carries a
    quorum of valid cosignatures; either way the report says who cosigned which size. In a
    batch (``batch``: the checkpoint's verdict) the policy is looked up and evaluated once."""
    if batch is not None and batch.policy is not _UNSET:
        found = batch.policy
    else:
        from provenance.home.paths import home_from_env
        from provenance.home.witnesses import witness_policy

        found = witness_policy(home_from_env())
        if batch is not None:
            batch.policy = found
    if found is None or not proven.verified:
        return proven
    quorum = batch.quorum if batch is not None else None
    if quorum is None:
        quorum = found[0].evaluate(note)
        if batch is not None:
            batch.quorum = quorum
    if not quorum.satisfied:
        return replace(proven, verified=False, reason=quorum.verdict(), witnesses=quorum.to_dict())
    reason = f"{proven.reason[:-1]}; {quorum.verdict()})"
    return replace(proven, reason=reason, witnesses=quorum.to_dict())


def _pinned(ledger: Ledger, log_verifier: str | None) -> tuple[PinnedKey | None, str]:
    from provenance.home.log_keys import PinnedKey, parse_vkey, pinned_key
    from provenance.home.paths import home_from_env

    if log_verifier:
        name = parse_vkey(log_verifier, "log key").name
        if name != ledger.origin:
            return None, (
                f"not verified: the pinned key is for log {name}, but this ledger is "
                f"{ledger.origin}"
            )
        return PinnedKey(log_verifier.strip(), name, "the log key given"), ""
    found = pinned_key(home_from_env(), ledger.origin)
    return found, "" if found else f"not verified: no pinned key for log {ledger.origin}"


def _remember(ledger: Ledger, signed: Checkpoint, vkey: str) -> Fork | None:
    from provenance.home.log_keys import remember

    fork = remember(signed, vkey, ledger.consistency_proof)
    return None if fork is None else Fork(str(fork), fork.previous, fork.current)
