"""What a pending row and a batch's notification hold (ledger.sequencer), and their codecs.

A pending row: the requests of one ``append_many`` as accepted (ids and salts fixed), canonical
JSON; no leaf yet, since the leaf holds the index and the time the batch gives. A notification,
to one writer about its row: the row's first index and the batch time, from which the writer
rebuilds its entries. Also the checks a row passes when queued and again in its batch.

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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.batch import Prepared
from ledger.entry import (
    AppendRequest,
    Entry,
    build_entry,
    canonical_json,
    entry_from_leaf,
    signed64,
)
from ledger.errors import InvalidEntryError, LedgerError, LedgerIntegrityError, UnknownEntryError

# Rows a batch refused whose writer's backend is gone: no one will read the reason (the append
# never returned, so nothing was acknowledged).
_ABANDONED = (
    "FROM ledger_pending WHERE error IS NOT NULL "
    "AND (waiter IS NULL OR waiter NOT IN (SELECT pid FROM pg_stat_activity))"
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Note:
    """A batch's word to one writer about one of its rows (``seq``): integrated from index
    ``first`` at time ``ts`` (us), or ``refused`` (the reason is in the row), or neither: the
    row is the first still pending after a batch, so its writer does the next batch."""

    seq: int
    first: int | None = None
    ts: int = 0
    refused: bool = False


def parse_note(payload: str) -> Note:
    """``ts;seq:first;;`` (integrated), ``0;;seq;`` (refused), ``0;;;seq`` (lead next)."""
    ts, placed, refused, lead = payload.split(";")
    if placed:
        s, i = placed.split(":")
        return Note(int(s), int(i), int(ts))
    if refused:
        return Note(int(refused), refused=True)
    return Note(int(lead))


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


def result(conn: Any, seq: int, ids: list[str]) -> list[Entry] | None:
    """A writer's entries once integrated; None while its row is still pending; raises if the
    row was refused (and deletes it). One round trip, pipelined."""
    with conn.pipeline():
        cur, leaves = conn.cursor(), conn.cursor()
        cur.execute("SELECT error FROM ledger_pending WHERE seq = %s", (seq,))
        leaves.execute(
            "SELECT leaf FROM ledger_entry WHERE entry_id = ANY(%s) ORDER BY idx", (ids,)
        )
        row, found = cur.fetchone(), [bytes(r[0]) for r in leaves.fetchall()]
    if row is not None:
        if row[0] is None:
            return None
        cur.execute("DELETE FROM ledger_pending WHERE seq = %s", (seq,))
        raise refusal(str(row[0]))
    if len(found) != len(ids):
        raise LedgerIntegrityError(
            f"pending entries {ids[0]}...: gone from the queue but not in the tree"
        )
    return [entry_from_leaf(leaf) for leaf in found]


def refusal(why: str) -> LedgerError:
    return UnknownEntryError(why) if why.startswith("parent") else InvalidEntryError(why)


def ask(conn: Any, items: list[Prepared]) -> Any:
    """Send the query for ids a caller named and parents already in the tree (refused as the
    direct path refuses them); the cursor to judge it with, or None when nothing to ask."""
    named = [p.entry_id for p in items if p.req.entry_id is not None]
    parents = sorted({x for p in items for x in p.req.parents} - {p.entry_id for p in items})
    if not named and not parents:
        return None
    cur = conn.cursor()
    cur.execute("SELECT entry_id FROM ledger_entry WHERE entry_id = ANY(%s)", (named + parents,))
    return cur


def judge(conn: Any, asked: Any, items: list[Prepared]) -> None:
    """Raise for an id already used or a parent neither in the tree nor queued (a queued one is
    integrated first: its row's seq is lower)."""
    found = {str(r[0]) for r in asked.fetchall()}
    used = [p.entry_id for p in items if p.req.entry_id is not None and p.entry_id in found]
    if used:
        raise InvalidEntryError(f"entry id already in the ledger ({used[0]})")
    own = {p.entry_id for p in items}
    missing = sorted({x for p in items for x in p.req.parents} - own - found)
    if not missing:
        return
    cur = conn.cursor()
    cur.execute(
        "SELECT DISTINCT unnest(ids) FROM ledger_pending WHERE error IS NULL AND ids && %s",
        (missing,),
    )
    queued = {str(r[0]) for r in cur.fetchall()}
    absent = [p for p in missing if p not in queued]
    if absent:
        raise UnknownEntryError(f"parent entry {absent[0]} is not in the ledger")


def screen(
    conn: Any, groups: list[tuple[int, list[Prepared]]]
) -> tuple[list[tuple[int, list[Prepared]]], dict[int, str]]:
    """Groups that may join the tree, in order, and why the others may not (never raises: one
    bad row must not stall the queue)."""
    # Ids this code made (UUIDv7, 74 random bits) are new; ids a caller named may not be.
    named = {p.entry_id for _, g in groups for p in g if p.req.entry_id is not None}
    wanted = named | {x for _, g in groups for p in g for x in p.req.parents}
    in_tree: set[str] = set()
    if wanted:
        cur = conn.cursor()
        cur.execute("SELECT entry_id FROM ledger_entry WHERE entry_id = ANY(%s)", (list(wanted),))
        in_tree = {str(r[0]) for r in cur.fetchall()}
    seen: set[str] = set()
    accepted, rejected = [], {}
    for seq, g in groups:
        mine = [p.entry_id for p in g]
        dup = next((i for i in mine if i in in_tree or i in seen), None)
        if dup is not None or len(set(mine)) != len(mine):
            rejected[seq] = f"entry id already in the ledger ({dup or mine[0]})"
            continue
        have = in_tree | seen | set(mine)
        gone = next((x for p in g for x in p.req.parents if x not in have), None)
        if gone is not None:
            rejected[seq] = f"parent entry {gone} is not in the ledger"
            continue
        accepted.append((seq, g))
        seen.update(mine)
    return accepted, rejected
