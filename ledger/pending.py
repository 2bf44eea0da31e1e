"""What a pending row and a batch's notification hold (ledger.sequencer), and their codecs.

A pending row: the requests of one ``append_many`` as accepted (ids and salts fixed), canonical
JSON; no leaf yet, since the leaf holds the index and the time the batch gives. A notification:
each integrated row's first index and the batch time, from which a waiter rebuilds its entries.

Example::

    >>> from ledger.batch import prepare
    >>> from ledger.entry import AppendRequest
    >>> from ledger.pending import decode, encode
    >>> p = prepare(AppendRequest("generate", {"model": "m"}, secret="a prompt"))
    >>> decode(encode([p])) == [p]
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.batch import Prepared
from ledger.entry import AppendRequest, Entry, build_entry, canonical_json, signed64, to_micros
from ledger.errors import InvalidEntryError

# Rows a batch refused whose writer's backend is gone: no one will read the reason (the append
# never returned, so nothing was acknowledged).
_ABANDONED = (
    "FROM ledger_pending WHERE error IS NOT NULL "
    "AND (waiter IS NULL OR waiter NOT IN (SELECT pid FROM pg_stat_activity))"
)

NOTE_MAX = 7000  # NOTIFY payloads stop at 8000 bytes; longer lists say "look" instead
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Note:
    """Notified batches: each seq's first index, the batch time (us), refused seqs; ``look``
    when a batch was too big to list (then each writer reads its own row)."""

    placed: dict[int, int] = field(default_factory=dict)
    refused: set[int] = field(default_factory=set)
    ts: dict[int, int] = field(default_factory=dict)  # by seq
    look: bool = False
    next: int | None = None  # the first row pending after the last batch: its writer goes next

    def add(self, payload: str) -> None:
        ts, placed, refused, first = payload.split(";")
        self.next = int(first) if first else None
        if ts == "*":
            self.look = True
            return
        for pair in filter(None, placed.split(",")):
            s, i = pair.split(":")
            self.placed[int(s)] = int(i)
            self.ts[int(s)] = int(ts)
        self.refused.update(int(s) for s in refused.split(",") if s)


def note_of(done: dict[int, list[Entry]], rejected: dict[int, str]) -> str:
    """``ts;seq:first_index,...;refused_seq,...;`` (``*;;;`` when it would not fit in a NOTIFY;
    the integrator adds the first seq still pending): a waiter rebuilds its entries from its own
    requests, the index and the time, without a read."""
    first = next((v[0] for v in done.values() if v), None)
    ts = 0 if first is None else to_micros(first.time)
    placed = ",".join(f"{s}:{v[0].index}" for s, v in done.items() if s >= 0 and v)
    text = f"{ts};{placed};{','.join(map(str, rejected))};"
    return "*;;;" if len(text) > NOTE_MAX else text


def rebuilt(mine: list[Prepared], ts: int, first: int) -> list[Entry]:
    """The entries a batch built for ``mine`` at ``first`` on: the same leaf bytes, built here
    (the leaf is canonical JSON, so the queued copy of a body gives the bytes the original does)."""
    t = _EPOCH + timedelta(microseconds=ts)
    return [
        build_entry(
            first + k,
            p.entry_id,
            p.req.kind,
            t,
            p.req.body,
            outputs=p.req.outputs,
            inputs=p.req.inputs,
            parents=p.req.parents,
            fingerprints=p.req.fingerprints,
            secret_hash=p.secret_hash,
        )
        for k, p in enumerate(mine)
    ]


def encode(items: list[Prepared]) -> bytes:
    """A pending row's payload: the requests as accepted (ids and salts fixed), canonical JSON."""
    docs = [
        {
            "id": p.entry_id,
            "named": p.req.entry_id is not None,
            "kind": p.req.kind,
            "body": dict(p.req.body),
            "outputs": list(p.req.outputs),
            "inputs": list(p.req.inputs),
            "parents": list(p.req.parents),
            "fingerprints": [[o, k, str(signed64(v))] for o, k, v in p.req.fingerprints],
            "secret": p.req.secret,
            "salt": None if p.salt is None else p.salt.hex(),
            "secret_hash": p.secret_hash,
        }
        for p in items
    ]
    try:
        return canonical_json(docs)
    except Exception as e:  # as build_leaf words it: the body is the only free-form part
        raise InvalidEntryError(f"body: cannot be canonical JSON ({e})") from e


def decode(payload: bytes) -> list[Prepared]:
    out = []
    for d in json.loads(payload):
        req = AppendRequest(
            d["kind"],
            d["body"],
            d["id"] if d["named"] else None,
            tuple(d["outputs"]),
            tuple(d["inputs"]),
            tuple(d["parents"]),
            tuple((o, k, int(v)) for o, k, v in d["fingerprints"]),
            d["secret"],
        )
        salt = None if d["salt"] is None else bytes.fromhex(d["salt"])
        out.append(Prepared(req, d["id"], salt, d["secret_hash"]))
    return out


def abandoned(conn: Any, *, clear: bool) -> list[str]:
    """The reasons of refused rows whose writers are gone (deleted with ``clear``), committed."""
    cur = conn.cursor()
    cur.execute(f"DELETE {_ABANDONED} RETURNING error" if clear else f"SELECT error {_ABANDONED}")
    out = [str(r[0]) for r in cur.fetchall()]
    conn.commit()
    return out
