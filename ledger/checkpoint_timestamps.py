"""RFC 3161 timestamps on signed checkpoints: fetched after signing, stored beside, audited.

With a TSA URL (``Ledger.open(url, tsa_url=...)`` or ``PROVENANCE_TSA_URL``), each newly signed
checkpoint is sent to the TSA (messageImprint = SHA-256 of the exact signed-note text) and the
token is stored in ``ledger_checkpoint_timestamp``. A TSA that is down or answers badly does not
stop the log: the checkpoint is kept, a warning is logged, ``Ledger.timestamp_error`` says why,
and the audit counts the checkpoint as untimestamped. A later timestamped checkpoint covers every
earlier entry (the checkpoints are consistent), so one gap loses little.

Example::

    >>> from ledger import Ledger
    >>> from ledger.checkpoint import generate_log_key
    >>> from ledger.checkpoint_timestamps import timestamp_of
    >>> led = Ledger.create("sqlite://", origin="example.org/log", log_key=generate_log_key(),
    ...                     tsa_url="")  # "" = no TSA, whatever the environment says
    >>> cp = led.checkpoint()
    >>> timestamp_of(led, cp) is None
    True
    >>> led.audit().timestamps.untimestamped
    1
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography import x509
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ledger.checkpoint import Checkpoint
from ledger.errors import LedgerError
from ledger.models import CHECKPOINT as C
from ledger.models import CHECKPOINT_TIMESTAMP as T
from ledger.timestamp import TimestampError, TimestampToken, check_token, fetch_token

if TYPE_CHECKING:
    from ledger.store import Ledger

log = logging.getLogger("ledger.timestamp")


class Stamper:
    """Asks one TSA for tokens; after a failure, new checkpoints skip it for ``backoff`` seconds
    (so a TSA that hangs costs one timeout, not one per recorded call)."""

    def __init__(self, url: str, *, timeout: float = 5.0, backoff: float = 60.0) -> None:
        self.url, self.timeout, self.backoff = url, timeout, backoff
        self._skip_until = 0.0

    def stamp(
        self, led: Ledger, checkpoint_id: int, note: str, *, retry: bool = False
    ) -> str | None:
        """Fetch and store a token for the checkpoint; the reason when there is none."""
        if not retry and time.monotonic() < self._skip_until:
            reason = f"TSA {self.url} failed recently; next try after {self.backoff:.0f}s"
            log.warning("checkpoint %d has no timestamp: %s", checkpoint_id, reason)
            return reason
        try:
            token = fetch_token(self.url, note.encode(), timeout=self.timeout)
        except TimestampError as e:
            self._skip_until = time.monotonic() + self.backoff
            log.warning("checkpoint %d has no timestamp: %s", checkpoint_id, e)
            return str(e)
        self._skip_until = 0.0
        try:
            with led._writer.begin() as conn:
                conn.execute(
                    insert(T).values(checkpoint_id=checkpoint_id, tsa_url=self.url, token=token.der)
                )
        except IntegrityError:
            pass  # another process stamped this checkpoint first; one token is enough
        return None

    def has_token(self, led: Ledger, checkpoint_id: int) -> bool:
        with led.engine.connect() as conn:
            return (
                conn.execute(
                    select(T.c.checkpoint_id).where(T.c.checkpoint_id == checkpoint_id)
                ).first()
                is not None
            )


def timestamp_of(led: Ledger, cp: Checkpoint) -> TimestampToken | None:
    """The checked token of the stored checkpoint with ``cp``'s note, or None if it has none."""
    with led.engine.connect() as conn:
        der = conn.execute(
            select(T.c.token)
            .join(C, C.c.id == T.c.checkpoint_id)
            .where(C.c.note == cp.note)
            .order_by(C.c.id.desc())
            .limit(1)
        ).scalar()
    return None if der is None else check_token(bytes(der), cp.note.encode())


@dataclass
class TimestampSummary:
    """What the audit found about checkpoint timestamps (bad tokens are listed as problems)."""

    timestamped: int = 0
    untimestamped: int = 0
    anchored: bool = False  # TSA certificates were chained to the given anchors
    latest: dict[str, Any] | None = None  # {"checkpoint", "size", "gen_time", "tsa"}
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
            text += "" if self.anchored else " (TSA certificate not checked: no --tsa-anchors)"
        return text


def audit_timestamps(
    led: Ledger, anchors: Sequence[x509.Certificate] = ()
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
