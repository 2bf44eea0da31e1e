"""Review events: approvals and rejections recorded as entries of their own in the ledger.

Example::

    from provenance.compliance.review import record_review, review_status
    from provenance.home.paths import home_from_env
    from provenance.home.ledger import open_ledger

    with open_ledger(home_from_env()) as ledger:
        review = record_review(ledger, "banner.png", "approve", reviewer="legal@example.org")
        print(review_status(ledger, review.sha256).state)      # approved

A review names the reviewed entry and the exact SHA-256 of the reviewed file, so a later edit
(new bytes, new hash) is not approved. In the ledger it is an entry of kind ``review`` whose input
is the reviewed file's hash and whose parent is the reviewed entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ledger import Entry, Ledger
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

    @classmethod
    def from_entry(cls, entry: Entry) -> Review:
        b = entry.body
        target = b.get("target") or {}
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


@ledger_failures()  # ledger errors join the ProvenanceError family
def record_review(
    ledger: Ledger,
    target: str | Path,
    decision: Decision,
    *,
    reviewer: str,
    note: str | None = None,
    recorded_by: str | None = None,
    allowed: Sequence[str] = (),
) -> Review:
    """Append a review of ``target`` (file or entry id); refuse a reviewer not in ``allowed``.

    ``allowed`` empty means anyone may review. Nothing is recorded when anything is wrong.
    """
    if decision not in ("approve", "reject"):
        raise InputError(f"decision {decision!r}: use approve or reject")
    reviewer = reviewer.strip()
    if not reviewer:
        raise InputError("reviewer: empty; give a name, e-mail or service account")
    if allowed and reviewer not in allowed:
        raise InputError(
            f"reviewer {reviewer!r}: not allowed to review by the publish policy "
            f"(allowed: {', '.join(allowed)})"
        )
    entry, digest = resolve_asset(ledger, target)
    body: dict[str, Any] = {
        "schema": REVIEW_SCHEMA,
        "op": "review",
        "decision": decision,
        "reviewer": reviewer,
        "actor": reviewer,
        "recorded_by": recorded_by or reviewer,
        "target": {"entry": entry.id, "index": entry.index, "sha256": digest},
        "note": note or None,
        "reviewed_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
    }
    appended = ledger.append(REVIEW_KIND, body, inputs=[digest], parents=[entry.id])
    return Review.from_entry(appended)


@ledger_failures()  # ledger errors join the ProvenanceError family
def reviews_of(ledger: Ledger, sha256: str) -> list[Review]:
    """Every review of the file with this exact hash, in ledger order."""
    return [Review.from_entry(e) for e in ledger.find_by_input(sha256) if e.kind == REVIEW_KIND]


@ledger_failures()  # ledger errors join the ProvenanceError family
def review_status(ledger: Ledger, sha256: str, allowed: Iterable[str] = ()) -> ReviewStatus:
    """The standing decision: the latest rejection or allowed approval wins.

    An approval by a reviewer outside ``allowed`` (when given) does not count; a rejection by
    anyone recorded does, until an allowed reviewer approves again.
    """
    return status_from(reviews_of(ledger, sha256), allowed)


def status_from(reviews: Sequence[Review], allowed: Iterable[str] = ()) -> ReviewStatus:
    allow = set(allowed)
    deciding: Review | None = None
    ignored: list[Review] = []
    for r in reviews:
        if r.decision == "approve" and allow and r.reviewer not in allow:
            ignored.append(r)
            continue
        deciding = r
    if deciding is None:
        return ReviewStatus("pending", None, tuple(reviews), tuple(ignored))
    state: Literal["approved", "rejected"] = (
        "approved" if deciding.decision == "approve" else "rejected"
    )
    return ReviewStatus(state, deciding, tuple(reviews), tuple(ignored))
