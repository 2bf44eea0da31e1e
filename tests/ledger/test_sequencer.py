"""PostgreSQL appends through the pending queue (ledger/sequencer.py): accepted, then integrated.

The integration lock is held from a test connection to make writers queue, and writer processes
are SIGKILLed while queued or while integrating: what they leave is integrated by the next batch
exactly once, never as a gap or a fork.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine

from ledger import AppendRequest, Ledger
from ledger.entry import Entry
from ledger.errors import InvalidEntryError, UnknownEntryError
from tests.ledger.ledger_helpers import make_ledger

pytestmark = pytest.mark.postgres

ID_A = "01900000-0000-7000-8000-00000000000a"
ID_B = "01900000-0000-7000-8000-00000000000b"


def _open(url: str) -> Ledger:
    return Ledger.open(url, checkpoint_every=None, checkpoint_interval=None)


@contextmanager
def _raw(url: str) -> Iterator[Any]:
    """A DB-API connection of our own to the ledger's schema (psycopg, in a transaction)."""
    engine = create_engine(url)
    conn = engine.raw_connection()
    try:
        yield conn
    finally:
        conn.close()
        engine.dispose()


def _sql(url: str, sql: str) -> list[tuple[Any, ...]]:
    with _raw(url) as conn:
        cur = conn.cursor()
        cur.execute(sql)
        rows = list(cur.fetchall())
        conn.commit()
        return rows


@contextmanager
def _integration_held(url: str, key: int, *, head: bool = False) -> Iterator[None]:
    """Hold the integration lock (with ``head``: the head row instead, so a writer that got the
    lock stops inside its batch) until the block ends."""
    with _raw(url) as conn:
        cur = conn.cursor()
        if head:
            cur.execute("SELECT size FROM ledger_head WHERE id = 1 FOR UPDATE")
        else:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.rollback()


def _until(cond: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _pending(url: str) -> int:
    return int(_sql(url, "SELECT count(*) FROM ledger_pending")[0][0])


def _pending_is(url: str, n: int) -> bool:
    return _pending(url) == n


def _lock_waiters(url: str) -> int:
    """Backends waiting for a lock (a writer inside its batch, stopped on the head row)."""
    rows = _sql(url, "SELECT count(*) FROM pg_locks WHERE NOT granted")
    return int(rows[0][0])


def _appender(url: str, tag: str) -> None:
    with _open(url) as led:
        led.append("generate", {"tag": tag}, secret=f"prompt of {tag}")


def _check_tree(led: Ledger, tags: list[str]) -> None:
    entries = list(led.iter_entries())
    assert [e.index for e in entries] == list(range(led.size))
    assert sorted(e.body["tag"] for e in entries) == sorted(tags)
    led.checkpoint()
    report = led.audit()
    assert report.ok, report.problems[:3]


def test_killed_while_queued_is_integrated_by_the_next_append(
    pg_url: str, log_key: Ed25519PrivateKey
) -> None:
    led = make_ledger(pg_url, log_key)
    key = led.appender.sequencer.lock_key()  # type: ignore[union-attr]
    ctx = mp.get_context("spawn")
    with _integration_held(pg_url, key):
        p = ctx.Process(target=_appender, args=(pg_url, "killed"))
        p.start()
        _until(lambda: _pending(pg_url) == 1, "the writer's pending row")
        os.kill(p.pid or 0, signal.SIGKILL)  # accepted, never integrated by its writer
        p.join()
    assert led.size == 0
    mine = led.append("generate", {"tag": "next"})
    assert _pending(pg_url) == 0
    assert led.size == 2 and mine.index == 1  # queued first, integrated first
    killed = led.at(0)
    assert killed.body == {"tag": "killed"} and led.secret(killed.id) == "prompt of killed"
    _check_tree(led, ["killed", "next"])
    led.close()


def test_killed_inside_its_batch_its_queued_entry_is_integrated_once_and_others_go_on(
    pg_url: str, log_key: Ed25519PrivateKey
) -> None:
    led = make_ledger(pg_url, log_key, 1)
    key = led.appender.sequencer.lock_key()  # type: ignore[union-attr]
    ctx = mp.get_context("spawn")
    with _integration_held(pg_url, key, head=True):
        integrator = ctx.Process(target=_appender, args=(pg_url, "dies"))
        integrator.start()
        _until(lambda: _lock_waiters(pg_url) == 1, "a writer stopped inside its batch")
        queued = ctx.Process(target=_appender, args=(pg_url, "queued"))
        queued.start()
        _until(lambda: _pending(pg_url) == 2, "both writers' pending rows")
        os.kill(integrator.pid or 0, signal.SIGKILL)  # its transaction rolls back
        integrator.join()
    queued.join(60)
    assert queued.exitcode == 0  # no notification came: it took the lock after its wait
    assert _pending(pg_url) == 0
    led.close()
    with _open(pg_url) as led:
        tags = [e.body.get("tag") for e in led.iter_entries()]
        # Its row was committed before it tried the lock (nothing to check): queued like any
        # waiter's, integrated once by the next batch, never acknowledged; its batch left
        # nothing (its transaction rolled back).
        assert tags == [None, "dies", "queued"]
        assert led.audit().ok


def _threads(fns: list[Callable[[], Any]]) -> list[Any]:
    """Run each in its own thread; their results or the exceptions they raised."""
    out: list[Any] = [None] * len(fns)

    def run(i: int) -> None:
        try:
            out[i] = fns[i]()
        except Exception as e:
            out[i] = e

    ts = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in ts:
        t.start()
    return _joined(ts, out)


def _joined(ts: list[threading.Thread], out: list[Any]) -> list[Any]:
    for t in ts:
        t.join(120)
    return out


def test_a_duplicate_id_queued_twice_is_integrated_once(
    pg_url: str, log_key: Ed25519PrivateKey
) -> None:
    make_ledger(pg_url, log_key).close()
    leds = [_open(pg_url) for _ in range(3)]
    key = leds[0].appender.sequencer.lock_key()  # type: ignore[union-attr]
    with _integration_held(pg_url, key):
        box: list[list[Any]] = []
        t = threading.Thread(
            target=lambda: box.append(
                _threads([partial(leds[i].append, "a", {"i": i}, entry_id=ID_A) for i in (0, 1)])
            )
        )
        t.start()
        _until(lambda: _pending(pg_url) == 2, "both pending rows")
    t.join(120)
    results = box[0]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], InvalidEntryError)
    assert "already in the ledger" in str(refused[0])
    (ok,) = (r for r in results if isinstance(r, Entry))
    assert leds[2].get(ID_A) == ok and leds[2].size == 1
    assert _pending(pg_url) == 0  # the refused writer removed its row after reading why
    with pytest.raises(InvalidEntryError, match="already in the ledger"):
        leds[2].append("a", {}, entry_id=ID_A)  # refused before queueing, as the direct path
    for led in leds:
        led.close()


def _named_appender(url: str, eid: str) -> None:
    with _open(url) as led:
        led.append("generate", {"tag": eid}, entry_id=eid)


def test_a_refused_row_of_a_killed_writer_is_reported_and_cleared_by_doctor(
    pg_url: str, log_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    """Two killed writers queued the same id: the next batch integrates one and refuses the
    other, whose reason nobody reads; doctor reports it and, fixing, deletes it."""
    from provenance.record.doctor import run_doctor

    led = make_ledger(pg_url, log_key)
    key = led.appender.sequencer.lock_key()  # type: ignore[union-attr]
    ctx = mp.get_context("spawn")
    with _integration_held(pg_url, key):
        for n in (1, 2):
            p = ctx.Process(target=_named_appender, args=(pg_url, ID_B))
            p.start()
            _until(partial(_pending_is, pg_url, n), "the writer's pending row")
            os.kill(p.pid or 0, signal.SIGKILL)
            p.join()
    assert led.append("generate", {"tag": "next"}).index == 1  # ID_B at 0, the copy refused
    assert led.get(ID_B) is not None and _pending(pg_url) == 1
    why = [f"entry id already in the ledger ({ID_B})"]
    assert led.appender.abandoned_refusals(clear=False) == why
    dry = run_doctor([tmp_path], led, fix=False, audit=False)
    assert dry.abandoned == why and dry.ok and _pending(pg_url) == 1
    report = run_doctor([tmp_path], led, fix=True, audit=False)
    assert report.to_json()["abandoned_refusals"] == why and report.ok
    assert _pending(pg_url) == 0 and led.appender.abandoned_refusals(clear=True) == []
    led.close()


def test_a_writer_whose_row_is_beyond_one_batch_is_integrated_by_the_next(
    pg_url: str, log_key: Ed25519PrivateKey
) -> None:
    """With more queued (by killed writers) than a batch takes, the writer that got the lock
    with its row integrates batch after batch, in queue order, until its own row is in."""
    led = make_ledger(pg_url, log_key)
    key = led.appender.sequencer.lock_key()  # type: ignore[union-attr]
    led.appender.sequencer.max_batch = 2  # type: ignore[union-attr]
    ctx = mp.get_context("spawn")
    with _integration_held(pg_url, key):
        for n in range(5):
            p = ctx.Process(target=_appender, args=(pg_url, f"q{n}"))
            p.start()
            _until(partial(_pending_is, pg_url, n + 1), "the writer's pending row")
            os.kill(p.pid or 0, signal.SIGKILL)
            p.join()
    mine = led.append("generate", {"tag": "last"})
    assert mine.index == 5 and _pending(pg_url) == 0
    assert [e.body["tag"] for e in led.iter_entries()][:5] == [f"q{n}" for n in range(5)]
    assert len({e.time for e in led.iter_entries()}) == 3  # three batches of at most 2
    _check_tree(led, [f"q{n}" for n in range(5)] + ["last"])
    led.close()


def test_a_child_queued_behind_its_queued_parent(pg_url: str, log_key: Ed25519PrivateKey) -> None:
    make_ledger(pg_url, log_key).close()
    leds = [_open(pg_url) for _ in range(3)]
    key = leds[0].appender.sequencer.lock_key()  # type: ignore[union-attr]
    box: list[list[Any]] = []
    with _integration_held(pg_url, key):
        parent = threading.Thread(
            target=lambda: box.append(_threads([lambda: leds[0].append("p", {}, entry_id=ID_A)]))
        )
        parent.start()
        _until(lambda: _pending(pg_url) == 1, "the parent's pending row")
        child = threading.Thread(
            target=lambda: box.append(
                _threads([lambda: leds[1].append("c", {}, entry_id=ID_B, parents=[ID_A])])
            )
        )
        child.start()
        _until(lambda: _pending(pg_url) == 2, "the child's pending row")
    parent.join(120)
    child.join(120)
    got = {r[0].kind: r[0] for r in box}
    assert (got["p"].index, got["c"].index) == (0, 1)
    assert [e.id for e in leds[2].lineage(ID_B)] == [ID_B, ID_A]
    with pytest.raises(UnknownEntryError, match="is not in the ledger"):
        leds[2].append("c", {}, parents=["01900000-0000-7000-8000-0000000000ff"])
    for led in leds:
        led.close()


def test_queued_entries_come_back_byte_for_byte(pg_url: str, log_key: Ed25519PrivateKey) -> None:
    """Waiters rebuild their entries from the notification: the same leaves the batch stored."""
    make_ledger(pg_url, log_key).close()
    leds = [_open(pg_url) for _ in range(4)]
    for led in leds:
        led.appender.sequencer.max_batch = 3  # type: ignore[union-attr]
    fp = [(f"{1:064x}", "phash", 2**64 - 1)]
    body = {"é": "ünïcode", "f": 0.1, "n": [1, 2.5, None, True], "big": 2**53 - 1}

    def many(i: int) -> list[Entry]:
        out: list[Entry] = []
        for j in range(8):
            reqs = [
                AppendRequest(
                    "generate", {**body, "i": i, "j": j}, outputs=[f"{1:064x}"], fingerprints=fp
                ),
                AppendRequest("note", {"i": i, "j": j}, secret=f"s{i}.{j}"),
            ]
            out += leds[i].append_many(reqs)
        return out

    results = _threads([partial(many, i) for i in range(4)])
    entries = [e for r in results for e in r]
    assert len(entries) == 64
    for a, b in zip(entries[::2], entries[1::2], strict=True):
        assert b.index == a.index + 1  # one call's entries stay contiguous
    for e in entries:
        assert leds[0].at(e.index) == e
    assert leds[0].size == 64 and _pending(pg_url) == 0
    with Ledger.open(pg_url, log_key=log_key) as led:
        led.checkpoint()
        assert led.audit().ok
    for led in leds:
        led.close()


def test_erasure_and_integrate_pending(pg_url: str, log_key: Ed25519PrivateKey) -> None:
    led = make_ledger(pg_url, log_key)
    e = led.append("generate", {}, secret="the prompt")
    erased = led.erase_secret(e.id, reason="asked", actor="me")  # the direct path
    assert erased.index == 1 and led.secret(e.id) is None
    assert led.appender.integrate_pending() == 0
    assert led.append("generate", {}).index == 2
    assert led.audit().ok
    led.close()


def test_crash_harness_kills_writers_and_integrators(pg_url: str) -> None:
    """bench/crash_queue.py at a CI budget: random kills, half of them of the lock holder."""
    harness = Path(__file__).resolve().parents[2] / "bench" / "crash_queue.py"
    proc = subprocess.run(
        [sys.executable, str(harness), "--ledger-url", pg_url, "--writers", "4", "--kills", "10"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0 and stats["violations"] == [], (stats, proc.stderr[-2000:])
    assert stats["kills"] == 10 and stats["entries"] >= stats["acknowledged"] > 0


def _heard(listener: Any, wait: float) -> dict[str, list[str]]:
    """Notes a LISTENing connection got within ``wait``, by channel."""
    got: dict[str, list[str]] = {}
    for n in listener.notifies(timeout=wait):
        got.setdefault(n.channel, []).append(n.payload)
    return got


def test_a_batch_wakes_only_the_writers_it_integrated(
    pg_url: str, log_key: Ed25519PrivateKey
) -> None:
    """An integrator is told nothing about its own rows, a writer whose row another batch
    integrated is told once, and nobody else is woken (16 writers were woken about twice per
    append: a note to every listener whenever a batch left nothing pending, and one to the
    integrator itself)."""
    import psycopg

    make_ledger(pg_url, log_key).close()
    leds = [_open(pg_url) for _ in range(2)]
    seqs = [led.appender.sequencer for led in leds]
    channels = [s.channel() for s in seqs]  # type: ignore[union-attr]
    key = seqs[0].lock_key()  # type: ignore[union-attr]
    seqs[1].wait_s = 120.0  # type: ignore[union-attr]  # told, not timed out
    shared = channels[0].rsplit("_", 1)[0]  # where a note to every listener went
    engine = create_engine(pg_url)
    _, params = engine.dialect.create_connect_args(engine.url)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as listener:
        for ch in [*channels, shared]:
            listener.execute(f"LISTEN {ch}")
        for i in range(3):  # alone: it integrates each of its own appends
            assert leds[0].append("a", {"i": i}).index == i
        assert _heard(listener, 0.5) == {}
        box: list[Entry] = []
        with _integration_held(pg_url, key):
            t = threading.Thread(target=lambda: box.append(leds[1].append("b", {"who": 1})))
            t.start()
            _until(partial(_pending_is, pg_url, 1), "the waiting writer's row")
        mine = leds[0].append("a", {"i": 3})  # integrates the waiting row, then its own
        t.join(60)
        assert [e.index for e in box] == [3] and mine.index == 4
        heard = _heard(listener, 0.5)
        assert list(heard) == [channels[1]] and len(heard[channels[1]]) == 1
        assert ":3;" in heard[channels[1]][0]  # its row's index, from which it rebuilt it
    engine.dispose()
    assert leds[0].audit().ok
    for led in leds:
        led.close()
