"""The audit's check of stored RFC 3161 checkpoint timestamps against their notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import select

from ledger.errors import LedgerError
from ledger.models import CHECKPOINT as C
from ledger.models import CHECKPOINT_TIMESTAMP as T
from ledger.timestamp import check_token

if TYPE_CHECKING:
    from cryptography import x509

    from ledger.storage import LedgerView


class LatestTimestamp(TypedDict):
    """The newest valid token the audit saw (JSON-ready: ``gen_time`` is ISO 8601)."""

    checkpoint: int
    size: int
    gen_time: str
    tsa: str


@dataclass
class TimestampSummary:
    """What the audit found about checkpoint timestamps (bad tokens are listed as problems)."""

    timestamped: int = 0
    untimestamped: int = 0
    anchored: bool = False  # TSA certificates were chained to the given anchors
    latest: LatestTimestamp | None = None
    missing: list[int] = field(default_factory=list)  # sizes of checkpoints without a token

    def to_dict(self) -> dict[str, Any]:
        return {
            "timestamped": self.timestamped,
            "untimestamped": self.untimestamped,
            "anchored": self.anchored,
            "latest": self.latest,
        }

    def describe(self) -> str:
        """One line for humans."""
        text = f"{self.timestamped} checkpoints timestamped, {self.untimestamped} without"
        if self.latest is not None:
            text += (
                f"; latest: size {self.latest['size']} at {self.latest['gen_time']} by "
                f"{self.latest['tsa']}"
            )
            text += "" if self.anchored else f" ({UNANCHORED})"
        return text


# Names the parameter; the CLI words it as its flag (cli/ledger_cmds.py).
UNANCHORED = "TSA certificate not checked: no tsa_anchors given"


def audit_timestamps(
    led: LedgerView, anchors: Sequence[x509.Certificate] = ()
) -> tuple[TimestampSummary, list[tuple[int, str, str]]]:
    """Check every stored token against its checkpoint's note; damage kind ``checkpoint_timestamp``."""
    summary = TimestampSummary(anchored=bool(anchors))
    problems: list[tuple[int, str, str]] = []
    with led.engine.connect() as conn:
        rows = conn.execute(
            select(C.c.id, C.c.size, C.c.note, T.c.token)
            .outerjoin(T, T.c.checkpoint_id == C.c.id)
            .order_by(C.c.id)
        ).all()
        orphans = (
            conn.execute(select(T.c.checkpoint_id).where(T.c.checkpoint_id.not_in(select(C.c.id))))
            .scalars()
            .all()
        )
    for cid, size, note, der in rows:
        if der is None:
            summary.untimestamped += 1
            summary.missing.append(int(size))
            continue
        try:
            token = check_token(bytes(der), str(note).encode(), anchors=anchors)
        except LedgerError as e:
            problems.append((int(size), "checkpoint_timestamp", f"checkpoint {cid}: {e}"))
            continue
        summary.timestamped += 1
        summary.latest = {
            "checkpoint": int(cid),
            "size": int(size),
            "gen_time": token.gen_time.isoformat(),
            "tsa": token.tsa,
        }
    problems += [
        (-1, "checkpoint_timestamp", f"a token for checkpoint {o}, which does not exist")
        for o in orphans
    ]
    return summary, problems
