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
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ledger.checkpoint import Checkpoint
from ledger.models import CHECKPOINT as C
from ledger.models import CHECKPOINT_TIMESTAMP as T
from ledger.timestamp import TimestampError, TimestampToken, check_token, fetch_token

if TYPE_CHECKING:
    from ledger.storage import LedgerView, Storage

log = logging.getLogger("ledger.timestamp")


class Stamper:
    """Asks one TSA for tokens; after a failure, new checkpoints skip it for ``backoff`` seconds
    (so a TSA that hangs costs one timeout, not one per recorded call)."""

    def __init__(self, url: str, *, timeout: float = 5.0, backoff: float = 60.0) -> None:
        self.url, self.timeout, self.backoff = url, timeout, backoff
        self._skip_until = 0.0

    def stamp(
        self, storage: Storage, checkpoint_id: int, note: str, *, retry: bool = False
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
            with storage.writer.begin() as conn:
                conn.execute(
                    insert(T).values(checkpoint_id=checkpoint_id, tsa_url=self.url, token=token.der)
                )
        except IntegrityError:
            pass  # another process stamped this checkpoint first; one token is enough
        return None

    def has_token(self, storage: Storage, checkpoint_id: int) -> bool:
        with storage.engine.connect() as conn:
            return (
                conn.execute(
                    select(T.c.checkpoint_id).where(T.c.checkpoint_id == checkpoint_id)
                ).first()
                is not None
            )


def timestamp_of(led: LedgerView, cp: Checkpoint) -> TimestampToken | None:
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
