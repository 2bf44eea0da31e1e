"""What an entry is: the frozen :class:`Entry`, how its leaf is built, and UUIDv7 ids.

Example::

    >>> from ledger.entry import build_leaf, entry_from_leaf, new_entry_id
    >>> from datetime import datetime, UTC
    >>> leaf = build_leaf(0, new_entry_id(), "generate", datetime.now(UTC), {"model": "m"})
    >>> entry_from_leaf(leaf).kind
    'generate'
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import rfc8785

from ledger.errors import InvalidEntryError
from ledger.merkle import leaf_hash

_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LEAF_VERSION = 1


def new_entry_id() -> str:
    """A UUIDv7 (time-ordered) string."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms << 80)
        | (0x7 << 76)
        | ((rand >> 62) & 0xFFF) << 64
        | (0b10 << 62)
        | (rand & (2**62 - 1))
    )
    h = f"{value:032x}"  # uuid.UUID's own str(), without building the object
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class Entry:
    """One ledger entry, read back from its leaf bytes (the leaf is the truth)."""

    id: str
    index: int
    kind: str
    time: datetime
    body: dict[str, Any]
    leaf: bytes
    leaf_hash: bytes
    outputs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    fingerprints: tuple[tuple[str, str, int], ...] = field(default=())
    secret_hash: str | None = None


@dataclass(frozen=True)
class AppendRequest:
    """The arguments of one :meth:`Ledger.append`, for :meth:`Ledger.append_many`."""

    kind: str
    body: Mapping[str, Any]
    entry_id: str | None = None
    outputs: Sequence[str] = ()
    inputs: Sequence[str] = ()
    parents: Sequence[str] = ()
    fingerprints: Sequence[tuple[str, str, int]] = ()
    secret: str | None = None


def format_time(t: datetime) -> str:
    u = t.astimezone(UTC)
    if u.year < 1000:  # strftime's %Y does not pad these; keep its exact output
        return u.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # strftime costs ~10 us, a tenth of an append's Python time
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
        f"{u.second:02d}.{u.microsecond:06d}Z"
    )


def to_micros(t: datetime) -> int:
    if t.tzinfo is None:
        raise InvalidEntryError("time: must be timezone-aware")
    return int(t.timestamp()) * 1_000_000 + t.microsecond


def check_request(req: AppendRequest) -> None:
    """Refuse a malformed request with a one-line reason naming the field."""
    if not isinstance(req.kind, str) or not _KIND.match(req.kind):
        raise InvalidEntryError(
            f"kind {req.kind!r}: use 1-64 of a-z 0-9 _ . - starting with a letter"
        )
    if not isinstance(req.body, Mapping):
        raise InvalidEntryError("body: must be a mapping")
    if req.entry_id is not None and not _UUID.match(req.entry_id):
        raise InvalidEntryError(f"entry id {req.entry_id!r}: not a lowercase UUID string")
    for name, values in (("outputs", req.outputs), ("inputs", req.inputs)):
        for v in values:
            if not isinstance(v, str) or not _SHA.match(v):
                raise InvalidEntryError(f"{name}: {v!r} is not a lowercase SHA-256 hex digest")
    for p in req.parents:
        if not isinstance(p, str) or not _UUID.match(p):
            raise InvalidEntryError(f"parents: {p!r} is not an entry id")
    for fp in req.fingerprints:
        if len(fp) != 3 or not _SHA.match(str(fp[0])) or not _KIND.match(str(fp[1])):
            raise InvalidEntryError(f"fingerprint {fp!r}: expected (output sha256, kind, int)")
        if fp[0] not in req.outputs:
            raise InvalidEntryError(f"fingerprint for {fp[0][:12]}...: not one of the outputs")
        if not isinstance(fp[2], int) or not -(2**63) <= fp[2] < 2**64:
            raise InvalidEntryError(f"fingerprint value {fp[2]!r}: not a 64-bit integer")


_INT_MIN, _INT_MAX = -(2**53) + 1, 2**53 - 1  # RFC 8785's integer domain (IEEE doubles)


def _plain(v: object) -> bool:
    """True when ``json.dumps(sort_keys=True)`` writes exactly RFC 8785's bytes for ``v``.

    rfc8785 is pure Python (~90 us for a small leaf, a tenth of a durable append); the C encoder
    agrees with it on exact dicts with ASCII keys (code point order = UTF-16 order), lists,
    tuples, strings, bools, None and safe integers. Anything else (floats, subclasses, other
    keys) takes the rfc8785 path, so its output and its errors are unchanged.
    """
    t = type(v)
    if t is dict:
        for k, x in v.items():  # type: ignore[attr-defined]
            if type(k) is not str or not k.isascii() or not _plain_item(x):
                return False
        return True
    if t is list or t is tuple:
        return all(_plain_item(x) for x in v)  # type: ignore[attr-defined]
    return _plain_item(v)


def _plain_item(x: object) -> bool:
    t = type(x)
    if t in _SCALARS:
        return True
    if t is int:
        return _INT_MIN <= x <= _INT_MAX  # type: ignore[operator]
    return (t is dict or t is list or t is tuple) and _plain(x)


_SCALARS = frozenset({str, bool, type(None)})
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), check_circular=False
)  # _plain() has already walked the value
_DECODER = json.JSONDecoder()


def signed64(value: int) -> int:
    return value - 2**64 if value >= 2**63 else value


def build_leaf(
    index: int,
    entry_id: str,
    kind: str,
    t: datetime,
    body: Mapping[str, Any],
    *,
    outputs: Sequence[str] = (),
    inputs: Sequence[str] = (),
    parents: Sequence[str] = (),
    fingerprints: Sequence[tuple[str, str, int]] = (),
    secret_hash: str | None = None,
) -> bytes:
    """The canonical JSON (RFC 8785) bytes that are hashed into the tree."""
    doc: Any = {
        "v": LEAF_VERSION,
        "index": index,
        "id": entry_id,
        "kind": kind,
        "time": format_time(t),
        "body": dict(body),
        "outputs": list(outputs),
        "inputs": list(inputs),
        "parents": list(parents),
        # 64-bit values do not fit JSON's safe integers: kept as decimal strings.
        "fingerprints": [[o, k, str(signed64(v))] for o, k, v in fingerprints],
        "secret": secret_hash,
    }
    # Only the body can hold arbitrary values; the other fields need a type check, not _plain's
    # walk (the walk was ~a quarter of building a leaf).
    if (
        type(entry_id) is str
        and type(kind) is str
        and type(index) is int
        and _INT_MIN <= index <= _INT_MAX
        and (secret_hash is None or type(secret_hash) is str)
        and all(type(x) is str for x in (*outputs, *inputs, *parents))
        and all(type(o) is str and type(k) is str for o, k, _ in fingerprints)
        and _plain(doc["body"])
    ):
        try:
            return _ENCODER.encode(doc).encode()
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it below with its own reason
    try:
        return canonical_json(doc)
    except Exception as e:  # rfc8785 raises its own errors for floats/ints outside JSON
        raise InvalidEntryError(f"body: cannot be canonical JSON ({e})") from e


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of ``value`` (the C encoder when it provably agrees, else rfc8785)."""
    if _plain(value):
        try:
            return _ENCODER.encode(value).encode()
        except UnicodeEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it with its own reason
    return bytes(rfc8785.dumps(value))


def build_entry(
    index: int,
    entry_id: str,
    kind: str,
    t: datetime,
    body: Mapping[str, Any],
    *,
    outputs: Sequence[str] = (),
    inputs: Sequence[str] = (),
    parents: Sequence[str] = (),
    fingerprints: Sequence[tuple[str, str, int]] = (),
    secret_hash: str | None = None,
) -> Entry:
    """The :class:`Entry` of a new leaf, equal to ``entry_from_leaf(build_leaf(...))`` but without
    re-reading the time, the lists and the leaf hash from the bytes just written."""
    leaf = build_leaf(
        index,
        entry_id,
        kind,
        t,
        body,
        outputs=outputs,
        inputs=inputs,
        parents=parents,
        fingerprints=fingerprints,
        secret_hash=secret_hash,
    )
    return Entry(
        id=entry_id,
        index=index,
        kind=kind,
        time=t.astimezone(UTC) if t.tzinfo is not UTC else t,
        body=_leaf_body(leaf),  # the body as the leaf holds it (tuples become lists, ...)
        leaf=leaf,
        leaf_hash=leaf_hash(leaf),
        outputs=tuple(outputs),
        inputs=tuple(inputs),
        parents=tuple(parents),
        fingerprints=tuple((o, k, signed64(v)) for o, k, v in fingerprints),
        secret_hash=secret_hash,
    )


def _leaf_body(leaf: bytes) -> Any:
    text = leaf.decode()
    # "body" sorts first among a leaf's keys, so its value starts at offset 8: decode just it.
    if text.startswith('{"body":'):
        return _DECODER.raw_decode(text, 8)[0]
    return _DECODER.decode(text)["body"]


# The time as format_time writes it; anything else goes through strptime (~12 us more a leaf).
_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})Z")


def parse_time(text: str) -> datetime:
    """A leaf's time (``%Y-%m-%dT%H:%M:%S.%fZ``, UTC), as strptime reads it: the same values,
    and ValueError for the same strings (a date that does not exist, second 60, ...)."""
    m = _TIME.fullmatch(text) if text.isascii() else None
    if m is None:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    y, mo, d, h, mi, sec, us = map(int, m.groups())
    return datetime(y, mo, d, h, mi, sec, us, tzinfo=UTC)


def entry_from_leaf(leaf: bytes) -> Entry:
    doc = json.loads(leaf)
    t = parse_time(doc["time"])
    return Entry(
        id=doc["id"],
        index=doc["index"],
        kind=doc["kind"],
        time=t,
        body=doc["body"],
        leaf=leaf,
        leaf_hash=leaf_hash(leaf),
        outputs=tuple(doc["outputs"]),
        inputs=tuple(doc["inputs"]),
        parents=tuple(doc["parents"]),
        fingerprints=tuple((o, k, int(v)) for o, k, v in doc["fingerprints"]),
        secret_hash=doc["secret"],
    )
