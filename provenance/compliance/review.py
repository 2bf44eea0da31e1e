"""Review events: approvals and rejections recorded as entries of their own in the ledger.

Example::

    from provenance.compliance.review import record_review, review_status
    from provenance.compliance.signing import enrolled_reviewers, key_signer
    from provenance.home.paths import home_from_env
    from provenance.home.ledger import open_ledger

    home = home_from_env()
    legal = key_signer(Path("legal.pem").read_bytes(), Path("legal.key.pem").read_bytes())
    enrolled = enrolled_reviewers(home)
    with open_ledger(home) as ledger:
        review = record_review(ledger, "banner.png", "approve", signer=legal, enrolled=enrolled)
        print(review_status(ledger, review.sha256, enrolled=enrolled).state)      # approved

A review names the reviewed entry and the exact SHA-256 of the reviewed file, so a later edit
(new bytes, new hash) is not approved. In the ledger it is an entry of kind ``review`` whose input
is the reviewed file's hash and whose parent is the reviewed entry. It carries the reviewer's
signature over hash, decision and entry (:mod:`provenance.compliance.signing`); a review whose
signature does not verify under an enrolled certificate counts as no review.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ledger import Entry, Ledger
from provenance.compliance.signing import (
    ReviewSigner,
    review_message,
    verified_reviewer,
    verified_signer,
)
from provenance.errors import InputError, ledger_failures
from provenance.verify.lookup import resolve_entry
from provenance.vocab import ASSET_KINDS

Decision = Literal["approve", "reject"]
REVIEW_KIND = "review"
REVIEW_SCHEMA = 1


@dataclass(frozen=True)
class Review:
    """One recorded review decision."""

    entry_id: str
    index: int
    time: str
    decision: Decision
    reviewer: str
    target_entry: str
    sha256: str
    note: str | None = None
    recorded_by: str | None = None
    verified: str | None = None  # the identity whose enrolled certificate signed it; None: unsigned
    cert_sha256: str | None = None

    @classmethod
    def from_entry(cls, entry: Entry, enrolled: Mapping[str, str] | None = None) -> Review:
        b = entry.body
        target = b.get("target") or {}
        signed = verified_signer(b, enrolled or {})
        return cls(
            entry.id,
            entry.index,
            entry.time.isoformat(),
            b["decision"],
            str(b.get("reviewer")),
            str(target.get("entry")),
            str(target.get("sha256")),
            b.get("note"),
            b.get("recorded_by"),
            signed[0] if signed else None,
            signed[1] if signed else None,
        )


@dataclass(frozen=True)
class ReviewStatus:
    """Where the review of one exact file stands: ``approved``, ``rejected`` or ``pending``."""

    state: Literal["approved", "rejected", "pending"]
    deciding: Review | None = None
    reviews: tuple[Review, ...] = ()
    ignored: tuple[Review, ...] = field(
        default=()
    )  # approvals by reviewers the policy does not allow
    unsigned: tuple[Review, ...] = ()  # no valid signature by an enrolled reviewer: not counted


@ledger_failures()  # ledger errors join the ProvenanceError family
def resolve_asset(ledger: Ledger, target: str | Path) -> tuple[Entry, str]:
    """A file (by its hash) or an entry id -> the asset entry and the output hash it vouches for."""
    found = resolve_entry(
        ledger, target, kinds=ASSET_KINDS, hint="only recorded files can be reviewed"
    )
    entry = found.entry
    if entry.kind not in ASSET_KINDS or found.sha256 is None:
        raise InputError(
            f"{target}: ledger entry {entry.index} is a {entry.kind}, not a recorded "
            "file; review the generated, edited or imported entry"
        )
    return entry, found.sha256


class UnsignedReviewError(InputError):
    """A review without a reviewer's signature (it would count as no review), or one whose
    claimed reviewer is not the signing certificate's identity."""


@ledger_failures()  # ledger errors join the ProvenanceError family
def record_review(
    ledger: Ledger,
    target: str | Path,
    decision: Decision,
    *,
    reviewer: str | None = None,
    signer: ReviewSigner | None = None,
    enrolled: Mapping[str, str] | None = None,
    note: str | None = None,
    recorded_by: str | None = None,
    allowed: Sequence[str] = (),
) -> Review:
    """Append a review of ``target`` (file or entry id), signed by ``signer``.

    The reviewer is the signer's certified identity; ``reviewer``, if given, must be it.
    ``enrolled`` (see :func:`~provenance.compliance.signing.enrolled_reviewers`), when given,
    must hold the signer's certificate. ``allowed`` empty means anyone may review. Nothing is
    recorded when anything is wrong.
    """
    if decision not in ("approve", "reject"):
        raise InputError(f"decision {decision!r}: use approve or reject")
    claimed = (reviewer or "").strip() if reviewer is not None else None
    if claimed is not None and not claimed:
        raise InputError("reviewer: empty; give a name, e-mail or service account")
    who = signer.identity if signer is not None else claimed
    if allowed and who not in allowed:
        raise InputError(
            f"reviewer {who!r}: not allowed to review by the publish policy "
            f"(allowed: {', '.join(allowed)})"
        )
    entry, digest = resolve_asset(ledger, target)
    if signer is None:
        raise UnsignedReviewError(
            "signer: a review must be signed by the reviewer's own key (an unsigned review "
            "counts as no review)"
        )
    if claimed is not None and claimed != signer.identity:
        raise UnsignedReviewError(
            f"reviewer {claimed!r}: the signing certificate certifies {signer.identity!r}"
        )
    body = _body(entry, digest, decision, signer, note, recorded_by)
    if enrolled is not None and verified_reviewer(body, enrolled) is None:
        raise UnsignedReviewError(
            f"signer {signer.identity!r}: certificate {signer.cert_sha256[:16]}... is not an "
            "enrolled reviewer of this home"
        )
    appended = ledger.append(REVIEW_KIND, body, inputs=[digest], parents=[entry.id])
    return Review.from_entry(appended, enrolled)


def _body(
    entry: Entry,
    digest: str,
    decision: str,
    signer: ReviewSigner,
    note: str | None,
    recorded_by: str | None,
) -> dict[str, Any]:
    who = signer.identity
    return {
        "schema": REVIEW_SCHEMA,
        "op": "review",
        "decision": decision,
        "reviewer": who,
        "actor": who,
        "recorded_by": recorded_by or who,
        "target": {"entry": entry.id, "index": entry.index, "sha256": digest},
        "note": note or None,
        "reviewed_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "signature": signer.signature(review_message(digest, decision, entry.id)),
    }


@ledger_failures()  # ledger errors join the ProvenanceError family
def reviews_of(
    ledger: Ledger, sha256: str, enrolled: Mapping[str, str] | None = None
) -> list[Review]:
    """Every review of the file with this exact hash, in ledger order, signatures checked."""
    return [
        Review.from_entry(e, enrolled)
        for e in ledger.find_by_input(sha256)
        if e.kind == REVIEW_KIND
    ]


@ledger_failures()  # ledger errors join the ProvenanceError family
def review_status(
    ledger: Ledger,
    sha256: str,
    allowed: Iterable[str] = (),
    enrolled: Mapping[str, str] | None = None,
) -> ReviewStatus:
    """The standing decision: the latest signed rejection or allowed signed approval wins.

    Only reviews signed by an enrolled reviewer count; an approval by a reviewer outside
    ``allowed`` (when given) does not; a signed rejection by anyone enrolled does, until an
    allowed reviewer approves again.
    """
    return status_from(reviews_of(ledger, sha256, enrolled), allowed)


def status_from(reviews: Sequence[Review], allowed: Iterable[str] = ()) -> ReviewStatus:
    allow = set(allowed)
    deciding: Review | None = None
    ignored: list[Review] = []
    unsigned: list[Review] = []
    for r in reviews:
        if r.verified is None:
            unsigned.append(r)
            continue
        if r.decision == "approve" and allow and r.verified not in allow:
            ignored.append(r)
            continue
        deciding = r
    if deciding is None:
        return ReviewStatus("pending", None, tuple(reviews), tuple(ignored), tuple(unsigned))
    state: Literal["approved", "rejected"] = (
        "approved" if deciding.decision == "approve" else "rejected"
    )
    return ReviewStatus(state, deciding, tuple(reviews), tuple(ignored), tuple(unsigned))
