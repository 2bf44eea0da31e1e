"""Ledger benchmarks: append rate vs a bare insert, PostgreSQL writers, audit, proofs.

    python bench/bench_ledger.py          # small sizes, a few minutes at most
    python bench/bench_ledger.py --full   # 1,000,000-entry audit and proofs
    python bench/bench_ledger.py --pg-only   # only PostgreSQL at 1, 4, 16 writers (issue 15)
    python bench/bench_ledger.py --pg-only --rounds 5   # more rounds for the medians

Prints one JSON line per figure: {"bench", "value", "unit", "baseline", "ratio", "n"}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger import AppendRequest, Ledger, merkle
from ledger.audit import detailed as row_by_row_audit
from ledger.audit import paused_gc
from ledger.checkpoint import generate_log_key

ORIGIN = "bench.example/log"
PG = os.environ.get("PROVENANCE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def emit(name: str, value: float, unit: str, baseline: float | None, n: int) -> None:
    ratio = round(value / baseline, 3) if baseline else None
    print(
        json.dumps(
            {
                "bench": f"ledger.{name}",
                "value": round(value, 3),
                "unit": unit,
                "baseline": None if baseline is None else round(baseline, 3),
                "ratio": ratio,
                "n": n,
            }
        ),
        flush=True,
    )


def _bare_sqlite(path: str) -> sqlite3.Connection:
    # The same durability as the ledger's engine (ledger/schema.py): WAL, synchronous=FULL,
    # BEGIN IMMEDIATE, one row per transaction.
    raw = sqlite3.connect(path, isolation_level=None, timeout=60)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("CREATE TABLE e (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL)")
    return raw


def bench_sqlite_append(rounds: int, per_round: int) -> None:
    """Ledger appends vs bare inserts of the same leaf bytes, interleaved round by round so a
    busy disk or CPU slows both alike; medians over the rounds."""
    d = tempfile.mkdtemp()
    url = f"sqlite:///{d}/l.db"
    Ledger.create(url, origin=ORIGIN).close()
    raw = _bare_sqlite(f"{d}/raw.db")
    ours, bare = [], []
    with Ledger.open(url, checkpoint_every=None, checkpoint_interval=None) as led:
        led.append("generate", {"warm": True})
        for r in range(rounds):
            leaves = []
            t = time.perf_counter()
            for i in range(r * per_round, (r + 1) * per_round):
                leaves.append(
                    led.append("generate", {"i": i, "model": "m"}, outputs=[f"{i:064x}"]).leaf
                )
            ours.append(per_round / (time.perf_counter() - t))
            t = time.perf_counter()
            for i, leaf in enumerate(leaves, r * per_round):
                raw.execute("BEGIN IMMEDIATE")
                raw.execute("INSERT INTO e VALUES (?, ?)", (i, leaf))
                raw.execute("COMMIT")
            bare.append(per_round / (time.perf_counter() - t))
    raw.close()
    emit(
        "sqlite_append_durable",
        statistics.median(ours),
        "entries/s",
        statistics.median(bare),
        rounds * per_round,
    )


def pg_url() -> tuple[str, str] | None:
    try:
        eng = create_engine(PG, isolation_level="AUTOCOMMIT")
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with eng.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(PG).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False), schema
    except Exception as e:
        print(f"# PostgreSQL benchmarks skipped: {e}", file=sys.stderr)
        return None


def _pg_writer(url: str, n: int, times: mp.Queue, ready: Any) -> None:  # type: ignore[type-arg]
    """``n`` appends of one entry each, as the recorder appends; each call's latency kept."""
    with Ledger.open(url, checkpoint_every=None, checkpoint_interval=None) as led:
        led.append("generate", {"warm": True})  # connections up before the clock starts
        lat = []
        # Every writer started, connected and warm before any clock starts: without this, the
        # first writers ran while the last were still importing (16 spawned interpreters on 2
        # cores: seconds of start-up counted as the ledger's time, and their CPU taken from it).
        ready.wait()
        start = time.time()
        for i in range(n):
            t = time.perf_counter()
            led.append("generate", {"i": i, "model": "m"}, outputs=[f"{i:064x}"])
            lat.append(time.perf_counter() - t)
        times.put((start, time.time(), lat))


def _bare_writer(
    url: str,
    n: int,
    leaf: bytes,
    first: int,
    times: mp.Queue,  # type: ignore[type-arg]
    ready: Any,
) -> None:
    """``n`` bare inserts of ``leaf``, one row per transaction (the one-entry-per-call bound)."""
    eng = create_engine(url)
    raw = eng.raw_connection()
    cur = raw.cursor()
    ready.wait()  # as _pg_writer: every process connected before the clock starts
    start = time.time()
    for i in range(first, first + n):
        cur.execute("INSERT INTO e VALUES (%s, %s)", (i, leaf))
        raw.commit()
    times.put((start, time.time()))
    raw.close()
    eng.dispose()


def _pg_bare(batch: int, n: int, leaf: bytes, writers: int = 1) -> float | None:
    """Bare inserts of the same leaf bytes: one writer, ``batch`` rows per transaction, or
    ``writers`` processes with one row per transaction each."""
    got = pg_url()
    if got is None:
        return None
    url, schema = got
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("CREATE TABLE e (idx BIGINT PRIMARY KEY, leaf BYTEA NOT NULL)"))
    if writers > 1:
        each = n // writers
        spans = spawned(_bare_writer, [(url, each, leaf, k * each) for k in range(writers)])
        rate: float = each * writers / (max(e for _, e in spans) - min(s for s, _ in spans))
    else:
        raw = eng.raw_connection()
        cur = raw.cursor()
        t = time.perf_counter()
        for i in range(0, n, batch):
            cur.executemany(
                "INSERT INTO e VALUES (%s, %s)", [(j, leaf) for j in range(i, i + batch)]
            )
            raw.commit()
        rate = n / (time.perf_counter() - t)
        raw.close()
    eng.dispose()
    drop_schema(schema)
    return rate


def spawned(target: Any, argses: list[tuple[Any, ...]]) -> list[Any]:
    """One spawned process per ``argses`` item, each running ``target(*args, queue, barrier)``
    (the barrier starts their clocks together): what each put on the queue."""
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    ready = ctx.Barrier(len(argses))
    ps = [ctx.Process(target=target, args=(*args, q, ready)) for args in argses]
    for p in ps:
        p.start()
    got = [q.get() for _ in ps]
    for p in ps:
        p.join()
    return got


def drop_schema(schema: str) -> None:
    eng = create_engine(PG, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    eng.dispose()


def _pg_run(writers: int, per_writer: int) -> tuple[float, list[float]] | None:
    """One run of ``writers`` processes on a new ledger: appends/s and every call's latency."""
    got = pg_url()
    if got is None:
        return None
    url, schema = got
    Ledger.create(url, origin=ORIGIN).close()
    spans = spawned(_pg_writer, [(url, per_writer)] * writers)
    total = writers * per_writer
    rate = total / (max(e for _, e, _ in spans) - min(s for s, _, _ in spans))
    with Ledger.open(url, checkpoint_every=None, checkpoint_interval=None) as led:
        if not led.audit().ok or led.size != total + writers:
            print(f"# pg w{writers}: tree damaged after the run", file=sys.stderr)
    drop_schema(schema)
    return rate, [x for _, _, ls in spans for x in ls]


def bench_pg(per_writer: int, rounds: int) -> None:
    """Appends/s at 1, 4 and 16 writers (one entry per call) beside one writer's bare inserts
    of the same bytes, 32 rows per transaction, measured just before each run (rounds
    interleaved, medians: a loaded machine slows both alike); p50/p99 latency of one append at
    each count over all rounds. Also the bare bound for one row per call: 16 processes, one
    row per transaction each."""
    leaf = Ledger.create("sqlite://", origin=ORIGIN).append("generate", {"i": 0}).leaf
    rates: dict[int, list[float]] = {1: [], 4: [], 16: []}
    lats: dict[int, list[float]] = {1: [], 4: [], 16: []}
    bases, bare1, bare16 = [], [], []
    for _ in range(rounds):
        for writers in rates:
            base = _pg_bare(32, 32 * 40, leaf)
            run = _pg_run(writers, per_writer)
            if base is None or run is None:
                return
            bases.append(base)
            rates[writers].append(run[0])
            lats[writers] += run[1]
        bare1.append(_pg_bare(1, 400, leaf) or 0.0)
        bare16.append(_pg_bare(1, 16 * per_writer, leaf, writers=16) or 0.0)
    base = statistics.median(bases)
    emit("pg_bare_insert_b32", base, "rows/s", None, 32 * 40 * len(bases))
    emit("pg_bare_insert_b1", statistics.median(bare1), "rows/s", base, 400 * rounds)
    emit(
        "pg_bare_insert_b1_w16", statistics.median(bare16), "rows/s", base, 16 * per_writer * rounds
    )
    for writers, rs in rates.items():
        emit(
            f"pg_append_w{writers}",
            statistics.median(rs),
            "entries/s",
            base,
            writers * per_writer * rounds,
        )
        lat = sorted(lats[writers])
        emit(f"pg_append_p50_w{writers}", lat[len(lat) // 2] * 1e3, "ms", None, len(lat))
        emit(f"pg_append_p99_w{writers}", lat[int(len(lat) * 0.99)] * 1e3, "ms", 50.0, len(lat))
    w1, w16 = statistics.median(rates[1]), statistics.median(rates[16])
    emit("pg_append_w16_vs_w1", w16 / w1, "x", None, 16 * per_writer * rounds)
    emit("pg_append_w16_vs_bare_b1_w16", w16, "entries/s", statistics.median(bare16), 0)


def bench_audit_and_proofs(n: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        _audit_and_proofs(d, n)


def _audit_and_proofs(d: str, n: int) -> None:
    url = f"sqlite:///{d}/big.db"
    Ledger.create(url, origin=ORIGIN).close()
    key = generate_log_key()
    with Ledger.open(url, log_key=key, checkpoint_every=None, checkpoint_interval=None) as led:
        step = 10000
        for i in range(0, n, step):
            led.append_many(
                [
                    AppendRequest("generate", {"i": i + j}, outputs=[f"{i + j:064x}"])
                    for j in range(min(step, n - i))
                ]
            )
            if (i // step) % 10 == 9:
                led.checkpoint()  # a checkpoint every 100,000 entries, each checked by the audit
        led.checkpoint()
        leaf = led.at(0).leaf
        audits, floors = [], []
        for _ in range(3):  # audit and floor alternate, so load hits both alike
            t = time.perf_counter()
            report = led.audit()
            audits.append(time.perf_counter() - t)
            assert report.ok, report.problems[:3]
            # The floor: one SHA-256 per leaf and one per node, nothing else.
            t = time.perf_counter()
            for _ in range(n):
                hashlib.sha256(b"\x00" + leaf).digest()
                hashlib.sha256(b"\x01" + bytes(64)).digest()
            floors.append(time.perf_counter() - t)
        audit_s, floor = statistics.median(audits), statistics.median(floors)
        t = time.perf_counter()
        with paused_gc():  # as audit() runs it
            assert row_by_row_audit(led).ok  # the pass that only runs to name damage, for scale
        emit("audit_row_by_row", time.perf_counter() - t, "s", floor, n)
        emit("audit_full", audit_s, "s", floor, n)  # n entries; medians of 3
        size = led.size
        root = led.root()
        idxs = [(i * 7919) % size for i in range(200)]
        build, verify = [], []
        for i in idxs:
            t = time.perf_counter()
            proof = led.inclusion_proof(i, size)
            build.append(time.perf_counter() - t)
            lh = merkle.leaf_hash(led.at(i).leaf)
            t = time.perf_counter()
            assert merkle.verify_inclusion(lh, i, size, proof, root)
            verify.append(time.perf_counter() - t)
        emit("inclusion_build", statistics.median(build) * 1e3, "ms", 1.0, len(idxs))
        emit("inclusion_verify", statistics.median(verify) * 1e6, "us", 100.0, len(idxs))
        build, verify = [], []
        for i in idxs:
            old = max(1, i)
            old_root = led.root(old)
            t = time.perf_counter()
            proof = led.consistency_proof(old, size)
            build.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert merkle.verify_consistency(old, size, old_root, root, proof)
            verify.append(time.perf_counter() - t)
        emit("consistency_build", statistics.median(build) * 1e3, "ms", 1.0, len(idxs))
        emit("consistency_verify", statistics.median(verify) * 1e6, "us", 100.0, len(idxs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--pg-only", action="store_true", help="only the PostgreSQL writers")
    ap.add_argument("--rounds", type=int, default=3, help="PostgreSQL rounds (medians)")
    args = ap.parse_args()
    if args.pg_only:
        bench_pg(500 if args.full else 100, args.rounds)
        return
    print(f"# load average before: {os.getloadavg()}", file=sys.stderr, flush=True)
    bench_sqlite_append(20 if args.full else 10, 100 if args.full else 50)
    bench_pg(500 if args.full else 100, args.rounds)
    bench_audit_and_proofs(1_000_000 if args.full else 50_000)
    print(f"# load average after: {os.getloadavg()}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
