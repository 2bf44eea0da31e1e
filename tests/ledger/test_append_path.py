"""The fast append path: canonical JSON through the C encoder, entries built without re-reading
the leaf, and SQLite appends on a dedicated connection (threads, fork, rollback)."""

from __future__ import annotations

import multiprocessing as mp
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import AppendRequest, Ledger
from ledger.entry import (
    build_entry,
    build_leaf,
    canonical_json,
    entry_from_leaf,
    format_time,
    new_entry_id,
    parse_time,
)
from ledger.errors import InvalidEntryError
from tests.ledger.ledger_helpers import make_ledger

# Keys and strings that stress the spots where json.dumps and RFC 8785 could part: control
# characters, non-ASCII, astral characters vs the private-use area (UTF-16 order differs from
# code point order there), lone surrogates.
_TEXT = st.text(
    st.sampled_from(
        [
            "a",
            "B",
            "\x00",
            "\x1f",
            "\x7f",
            '"',
            "\\",
            "\n",
            "é",
            "\ue000",
            "\U0001f600",
            "\ud800",
            "\u2028",
        ]
    ),
    max_size=6,
)
_SCALARS = (
    st.none()
    | st.booleans()
    | _TEXT
    | st.floats(allow_nan=True)
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.integers(min_value=-(2**53) - 2, max_value=-(2**53) + 2)
    | st.integers(min_value=2**53 - 2, max_value=2**53 + 2)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.lists(kids, max_size=3).map(tuple)
        | st.dictionaries(_TEXT | st.integers(0, 3), kids, max_size=4)
    ),
    max_leaves=12,
)


def _outcome(fn: Any, value: Any) -> bytes | str:
    try:
        return bytes(fn(value))
    except (ValueError, TypeError, RecursionError) as e:  # rfc8785's errors are ValueErrors
        return type(e).__name__


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_canonical_json_is_rfc8785_bytes_or_its_error(value: Any) -> None:
    assert _outcome(canonical_json, value) == _outcome(rfc8785.dumps, value)


def test_canonical_json_fast_cases_match_rfc8785() -> None:
    cases: list[Any] = [
        {"b": [1, (2, 3)], "a": {"é": "\x01\n\x7f"}, "c": None, "d": True},
        {"\ue000": 1, "\U0001f600": 2},
        {"n": 2**53 - 1},
        {"n": 2**53},
        {"f": 1.0},
        {1: "int key"},
        "\ud800",
    ]
    for value in cases:
        assert _outcome(canonical_json, value) == _outcome(rfc8785.dumps, value), value


@settings(max_examples=150, deadline=None)
@given(
    body=st.dictionaries(_TEXT, _VALUES, max_size=4),
    fp=st.integers(min_value=0, max_value=2**64 - 1),
    offset=st.integers(min_value=-12, max_value=12),
)
def test_build_entry_equals_reading_its_leaf(body: dict[str, Any], fp: int, offset: int) -> None:
    out = "ab" * 32
    t = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=offset)))
    args = (7, new_entry_id(), "edit", t, body)
    kw: dict[str, Any] = dict(
        outputs=[out],
        inputs=["cd" * 32],
        parents=[new_entry_id()],
        fingerprints=[(out, "phash", fp)],
        secret_hash="ef" * 32,
    )
    try:
        leaf = build_leaf(*args, **kw)
    except InvalidEntryError:
        with pytest.raises(InvalidEntryError):
            build_entry(*args, **kw)
        return
    built = build_entry(*args, **kw)
    assert built == entry_from_leaf(leaf)
    assert built.time.tzinfo is UTC


def test_failed_batch_rolls_back_and_the_next_append_works(
    sqlite_url: str, log_key: Ed25519PrivateKey
) -> None:
    with make_ledger(sqlite_url, log_key, 3) as led:
        taken = led.at(1).id
        with pytest.raises(InvalidEntryError, match="already in the ledger"):
            # The first row is written inside the transaction before the second collides.
            led.append_many(
                [
                    AppendRequest("generate", {"a": 1}),
                    AppendRequest("generate", {"b": 2}, entry_id=taken),
                ]
            )
        assert led.size == 3 and led.recent(1)[0].index == 2
        assert led.append("generate", {"c": 3}).index == 3
        assert led.audit().ok
    with Ledger.open(sqlite_url) as again:  # what was committed is on disk, nothing more
        assert again.size == 4 and [e.body for e in again.recent(1)] == [{"c": 3}]


def test_threads_share_one_ledger(sqlite_url: str, log_key: Ed25519PrivateKey) -> None:
    with make_ledger(sqlite_url, log_key) as led:

        def work(t: int) -> None:
            for i in range(25):
                led.append("generate", {"t": t, "i": i}, outputs=[f"{t:032x}{i:032x}"])

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert led.size == 100
        assert sorted((e.body["t"], e.body["i"]) for e in led.iter_entries()) == [
            (t, i) for t in range(4) for i in range(25)
        ]
        assert led.audit().ok


def _child_appends(url: str, led: Ledger) -> None:
    for i in range(5):
        led.append("generate", {"child": i})


def test_a_forked_child_appends_on_its_own_connection(
    sqlite_url: str, log_key: Ed25519PrivateKey
) -> None:
    with make_ledger(sqlite_url, log_key, 2) as led:  # the parent's connection is open now
        child = mp.get_context("fork").Process(target=_child_appends, args=(sqlite_url, led))
        child.start()
        child.join(60)
        assert child.exitcode == 0
        led.append("generate", {"parent": "after"})
        assert led.size == 8 and led.audit().ok
        assert [e.body for e in led.recent(1)] == [{"parent": "after"}]


def test_in_memory_ledger_appends_through_the_engine() -> None:
    led = Ledger.create("sqlite://", origin="test.example/log")
    assert [led.append("generate", {"i": i}).index for i in range(3)] == [0, 1, 2]
    assert led.size == 3 and led.audit().ok


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), timezones=st.just(UTC)))
def test_format_time_is_strftime(t: datetime) -> None:
    assert format_time(t) == t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _strptime(text: str) -> datetime | str:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return "ValueError"


def _parsed(text: str) -> datetime | str:
    try:
        return parse_time(text)
    except ValueError:
        return "ValueError"


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), timezones=st.just(UTC)))
def test_parse_time_reads_what_format_time_writes(t: datetime) -> None:
    assert _parsed(format_time(t)) == _strptime(format_time(t))
    if t.year >= 1000:  # strftime does not pad a smaller year, which strptime cannot read
        assert parse_time(format_time(t)) == t


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-29T00:00:00.000000Z",  # no such day
        "2026-13-01T00:00:00.000000Z",
        "2026-00-10T00:00:00.000000Z",
        "2026-01-00T00:00:00.000000Z",
        "2026-01-01T24:00:00.000000Z",
        "2026-01-01T00:60:00.000000Z",
        "2026-01-01T00:00:60.000000Z",  # strptime's %S reads 60 and 61; datetime refuses them
        "2026-01-01T00:00:61.000000Z",
        "0000-01-01T00:00:00.000000Z",
        "2026-01-01T00:00:00.000000",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.5Z",  # strptime's %f takes 1 to 6 digits: the slow path does
        "2026-1-1T0:0:0.000001Z",
        "2026-01-01T00:00:00.0000001Z",
        "2026-01-01T00:00:00.000000+00:00",
        "\u0662026-01-01T00:00:00.000000Z",  # a non-ASCII digit: \\d would take it
        "2026-01-01T00:00:00.\u0660\u0660\u0660\u0660\u0660\u0660Z",
        "2026-01-01 00:00:00.000000Z",
    ],
)
def test_parse_time_accepts_and_refuses_what_strptime_does(text: str) -> None:
    assert _parsed(text) == _strptime(text)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("0123456789-T:.Z \u0660"), min_size=20, max_size=30))
def test_parse_time_agrees_with_strptime_on_any_string(text: str) -> None:
    assert _parsed(text) == _strptime(text)


def test_new_entry_ids_are_uuid7_strings_in_time_order() -> None:
    ids = [new_entry_id() for _ in range(50)]
    for eid in ids:
        u = uuid.UUID(eid)
        assert str(u) == eid and u.version == 7 and u.variant == uuid.RFC_4122
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)  # the millisecond prefix
