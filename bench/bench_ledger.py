"""Ledger benchmarks: append rate vs a bare insert, PostgreSQL writers, audit, proofs.

    python bench/bench_ledger.py          # small sizes, a few minutes at most
    python bench/bench_ledger.py --full   # 1,000,000-entry audit and proofs

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

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger import AppendRequest, Ledger, merkle
from ledger.checkpoint import generate_log_key

ORIGIN = "bench.example/log"
PG = os.environ.get("PROVENANCE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def emit(name: str, value: float, unit: str, baseline: float | None, n: int) -> None:
    ratio = round(value / baseline, 3) if baseline else None
    print(json.dumps({"bench": f"ledger.{name}", "value": round(value, 3), "unit": unit,
                      "baseline": None if baseline is None else round(baseline, 3),
                      "ratio": ratio, "n": n}), flush=True)


def bench_sqlite_append(n: int) -> None:
    d = tempfile.mkdtemp()
    url = f"sqlite:///{d}/l.db"
    Ledger.create(url, origin=ORIGIN).close()
    with Ledger.open(url, checkpoint_every=None, checkpoint_interval=None) as led:
        leaves = []
        t = time.perf_counter()
        for i in range(n):
            leaves.append(led.append("generate", {"i": i, "model": "m"}, outputs=[f"{i:064x}"]).leaf)
        ours = n / (time.perf_counter() - t)
    raw = sqlite3.connect(f"{d}/raw.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("CREATE TABLE e (idx INTEGER PRIMARY KEY, leaf BLOB)")
    t = time.perf_counter()
    for i, leaf in enumerate(leaves):
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO e VALUES (?, ?)", (i, leaf))
        raw.execute("COMMIT")
    base = n / (time.perf_counter() - t)
    emit("sqlite_append_durable", ours, "entries/s", base, n)


def _pg_url() -> tuple[str, str] | None:
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


def _pg_writer(url: str, n: int, batch: int, times: mp.Queue) -> None:  # type: ignore[type-arg]
    with Ledger.open(url, checkpoint_every=None, checkpoint_interval=None) as led:
        start = time.time()  # timed inside the worker: process start-up is not the ledger's cost
        for i in range(0, n, batch):
            led.append_many([AppendRequest("generate", {"i": i + j})
                             for j in range(min(batch, n - i))])
        times.put((start, time.time()))


def bench_pg(per_writer: int) -> None:
    for writers in (1, 4, 16):
        for batch in (1, 32):
            got = _pg_url()
            if got is None:
                return
            url, schema = got
            Ledger.create(url, origin=ORIGIN).close()
            ctx = mp.get_context("spawn")
            q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
            ps = [ctx.Process(target=_pg_writer, args=(url, per_writer, batch, q))
                  for _ in range(writers)]
            for p in ps:
                p.start()
            spans = [q.get() for _ in ps]
            for p in ps:
                p.join()
            rate = writers * per_writer / (max(e for _, e in spans) - min(s for s, _ in spans))
            emit(f"pg_append_w{writers}_b{batch}", rate, "entries/s", None, writers * per_writer)
            eng = create_engine(PG, isolation_level="AUTOCOMMIT")
            with eng.connect() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            eng.dispose()


def bench_audit_and_proofs(n: int) -> None:
    d = tempfile.mkdtemp()
    url = f"sqlite:///{d}/big.db"
    Ledger.create(url, origin=ORIGIN).close()
    key = generate_log_key()
    with Ledger.open(url, log_key=key, checkpoint_every=None, checkpoint_interval=None) as led:
        step = 10000
        for i in range(0, n, step):
            led.append_many([AppendRequest("generate", {"i": i + j}, outputs=[f"{i + j:064x}"])
                             for j in range(min(step, n - i))])
        led.checkpoint()
        t = time.perf_counter()
        report = led.audit()
        audit_s = time.perf_counter() - t
        assert report.ok
        # The floor: one SHA-256 per leaf and one per node, nothing else.
        leaf = led.at(0).leaf
        t = time.perf_counter()
        for _ in range(n):
            hashlib.sha256(b"\x00" + leaf).digest()
            hashlib.sha256(b"\x01" + bytes(64)).digest()
        floor = time.perf_counter() - t
        emit("audit_full", audit_s, "s", floor, n)
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
    args = ap.parse_args()
    bench_sqlite_append(2000 if args.full else 500)
    bench_pg(500 if args.full else 100)
    bench_audit_and_proofs(1_000_000 if args.full else 50_000)


if __name__ == "__main__":
    main()
