"""The log's witnesses: which witnesses a log submits to, the cosignatures they returned (table
``ledger_cosignature``, schema 0005), and checkpoint notes with those cosignatures attached.

:class:`ledger.checkpointer.Checkpointer` calls :meth:`Witnessing.submit` after a new checkpoint
is committed (never under the head lock). A witness that is down costs at most ``timeout``
seconds and leaves the checkpoint stored but not witnessed by it; the next checkpoint is
submitted with a consistency proof from that witness's newest cosigned size, so it catches up.

Example::

    witnesses = parse_witness_list("witness w1 witness.example/w1+1a2b3c4d+BA... http://w1:7381\\n")
    led = Ledger.open(url, log_key=key, witnesses=witnesses)
    led.checkpoint()                 # signed, stored, then submitted to w1
    led.witnessing_result.failed     # {} or {"witness.example/w1": "ConnectError: ..."}
    led.latest_checkpoint().note     # the log's note plus w1's cosignature line
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, func, insert, select

from ledger.errors import LedgerError
from ledger.models import COSIGNATURE as W
from ledger.proofs import Proofs
from ledger.storage import Storage
from ledger.witness.errors import WitnessConfigError
from ledger.witness.policy import Policy

if TYPE_CHECKING:  # httpx2 loads only when a checkpoint is submitted
    import httpx2

    from ledger.witness.client import WitnessEndpoint, WitnessingResult


def parse_witness_list(text: str, *, what: str = "witness list") -> list[WitnessEndpoint]:
    """``witness NAME VKEY URL`` lines (the tlog-policy form; comments and blank lines allowed).

    Every witness needs its URL: it is where the log submits. Other policy lines are refused,
    so that a verifier's policy is not mistaken for a log's submission list."""
    try:
        policy = Policy.parse(text, require_quorum=False)
    except LedgerError as e:
        raise WitnessConfigError(f"{what}: {e}") from e
    if policy.logs or policy.groups or policy.quorum is not None:
        raise WitnessConfigError(f"{what}: only `witness NAME VKEY URL` lines belong here")
    from ledger.witness.client import WitnessEndpoint

    out = []
    for w in policy.witnesses.values():
        if not w.url or not w.url.startswith(("http://", "https://")):
            raise WitnessConfigError(f"{what}: witness {w.name!r} needs an http(s) URL")
        out.append(WitnessEndpoint(w.key.vkey(), w.url))
    return out


def cosignature_lines(conn: Connection, checkpoint_id: int) -> list[str]:
    """The stored cosignature lines of one checkpoint, in witness-name order."""
    rows = conn.execute(
        select(W.c.line).where(W.c.checkpoint_id == checkpoint_id).order_by(W.c.witness)
    )
    return [str(r[0]) for r in rows]


def with_cosignatures(conn: Connection, checkpoint_id: int, note: str) -> str:
    """``note`` with the stored cosignatures appended (the note itself when there are none)."""
    return note + "".join(cosignature_lines(conn, checkpoint_id))


class Witnessing:
    """Submits new checkpoints to ``witnesses`` and stores the verified cosignatures."""

    def __init__(
        self,
        storage: Storage,
        proofs: Proofs,
        witnesses: Sequence[WitnessEndpoint],
        *,
        timeout: float = 5.0,
    ) -> None:
        self.storage, self.proofs, self.timeout = storage, proofs, timeout
        self.witnesses = list(witnesses)
        self.names = [w.name for w in self.witnesses]  # a bad vkey fails at open, not later
        self._http: httpx2.Client | None = None  # made on first use, kept for keep-alive

    def known_sizes(self, conn: Connection) -> dict[str, int]:
        """Each witness's newest cosigned size in this log (0 or absent: never cosigned)."""
        rows = conn.execute(
            select(W.c.witness, func.max(W.c.size))
            .where(W.c.witness.in_(self.names))
            .group_by(W.c.witness)
        )
        return {str(name): int(size) for name, size in rows}

    def missing(self, checkpoint_id: int) -> list[str]:
        """The configured witnesses that have not cosigned this checkpoint."""
        with self.storage.engine.connect() as conn:
            done = set(
                conn.execute(
                    select(W.c.witness).where(W.c.checkpoint_id == checkpoint_id)
                ).scalars()
            )
        return [n for n in self.names if n not in done]

    def submit(self, checkpoint_id: int, note: str, only: Sequence[str] = ()) -> WitnessingResult:
        """Ask the witnesses (all, or ``only`` these names) to cosign the stored checkpoint
        ``checkpoint_id``; store what verifies. Never raises for a witness."""
        import httpx2

        from ledger.witness.client import submit_checkpoint

        if self._http is None:
            self._http = httpx2.Client(timeout=self.timeout)
        targets = [w for w in self.witnesses if not only or w.name in only]
        with self.storage.engine.connect() as conn:
            sizes = self.known_sizes(conn)
        result = submit_checkpoint(
            note,
            self.proofs.consistency,
            targets,
            known_sizes=sizes,
            timeout=self.timeout,
            client=self._http,
        )
        if result.cosigned:
            self._store(checkpoint_id, result)
        return result

    def _store(self, checkpoint_id: int, result: WitnessingResult) -> None:
        rows = [
            {
                "checkpoint_id": checkpoint_id,
                "witness": c.name,
                "key_id": c.key_id.hex(),
                "size": result.checkpoint.size,
                "timestamp": c.timestamp,
                "line": c.line(),
            }
            for c in result.cosigned.values()
        ]
        with self.storage.writer.begin() as conn:
            for r in rows:  # a resubmitted checkpoint's newer cosignature replaces the older
                conn.execute(
                    delete(W).where(
                        (W.c.checkpoint_id == checkpoint_id)
                        & (W.c.witness == r["witness"])
                        & (W.c.key_id == r["key_id"])
                    )
                )
            conn.execute(insert(W), rows)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


def describe(
    note: str, witnesses: Sequence[WitnessEndpoint], result: WitnessingResult | None
) -> str:
    """One line for the operator: which configured witnesses' cosignatures ``note`` carries,
    and why the others (asked in ``result``, if any) did not cosign; starts with ``warning:``
    when some have not cosigned it."""
    from ledger.checkpoint import parse_checkpoint_body, parse_note

    size = parse_checkpoint_body(parse_note(note)[0]).size
    got = sorted(w.name for w in witnesses if w.key.find(note))
    line = f"witnessed by {len(got)} of {len(witnesses)} witnesses at size {size}"
    if got:
        line += f" ({', '.join(got)})"
    if len(got) < len(witnesses):
        line = "warning: " + line
    if result is not None and result.failed:
        why = "; ".join(f"{n}: {e}" for n, e in sorted(result.failed.items()))
        line += f"; not yet witnessed by {why}"
    return line
