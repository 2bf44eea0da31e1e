"""The audit's report, and the check of stored checkpoints against the recomputed roots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger.audit.timestamps import TimestampSummary
from ledger.checkpoint import open_checkpoint
from ledger.errors import LedgerError

if TYPE_CHECKING:
    from ledger.storage import LedgerView


@dataclass
class AuditReport:
    size: int = 0
    checkpoints_checked: int = 0
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    timestamps: TimestampSummary = field(default_factory=TimestampSummary)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps(
            {
                "ok": self.ok,
                "size": self.size,
                "checkpoints_checked": self.checkpoints_checked,
                "problems": [{"index": i, "kind": k, "detail": d} for i, k, d in self.problems],
                "timestamps": self.timestamps.to_dict(),
            }
        )


def check_checkpoints(
    led: LedgerView,
    cps: Sequence[Any],
    roots: dict[int, bytes],
    head_size: int,
    vkey: str | None,
) -> list[tuple[int, str, str]]:
    out: list[tuple[int, str, str]] = []
    if vkey is None:
        why = f"not verified: no pinned key for log {led.origin}"
        return [(int(c[1]), "checkpoint_unverified", f"checkpoint {c[0]}: {why}") for c in cps]
    stored = led.stored_verifier_key
    if stored is not None and stored != vkey:
        out.append(
            (
                0,
                "verifier_key_mismatch",
                f"the database names key {stored.split('+')[1]} for this log, not the pinned "
                f"key {vkey.split('+')[1]}: someone replaced it",
            )
        )
    prev_size = 0
    for cid, size, root, note in cps:
        size = int(size)
        try:
            cp = open_checkpoint(note, vkey)
        except LedgerError as e:
            out.append((size, "checkpoint_forged", f"checkpoint {cid}: {e}"))
            continue
        if (cp.size, cp.root) != (size, bytes(root)):
            out.append(
                (size, "checkpoint_forged", f"checkpoint {cid}: row disagrees with its note")
            )
        elif size > head_size or size < prev_size:
            out.append(
                (
                    size,
                    "checkpoint_inconsistent",
                    f"checkpoint {cid}: size {size} goes beyond or behind the log",
                )
            )
        elif roots.get(size) != cp.root:
            out.append(
                (
                    size,
                    "checkpoint_inconsistent",
                    f"checkpoint {cid}: root at size {size} is not this tree's",
                )
            )
        prev_size = max(prev_size, size)
    return out
