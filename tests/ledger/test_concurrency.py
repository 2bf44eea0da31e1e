"""Several processes appending at once leave one contiguous, auditable tree.

Default 16 processes x 60 appends (CI time); set LEDGER_CONCURRENCY=PROCSxAPPENDS to change it,
e.g. ``LEDGER_CONCURRENCY=16x500`` for issue 15's full size (on PostgreSQL: the pending queue).
"""

from __future__ import annotations

import multiprocessing as mp
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, inspect, text

from ledger import Ledger
from tests.ledger.ledger_helpers import make_ledger

PROCS, APPENDS = (int(x) for x in os.environ.get("LEDGER_CONCURRENCY", "16x60").split("x"))


def _writer(url: str, worker: int, n: int) -> None:
    with Ledger.open(url, checkpoint_every=None, checkpoint_interval=None) as led:
        for i in range(n):
            e = led.append("generate", {"worker": worker, "i": i})
            assert e.body == {"worker": worker, "i": i} and led.at(e.index) == e


def _run(url: str, key: Ed25519PrivateKey, procs: int, appends: int) -> None:
    make_ledger(url, key).close()
    ctx = mp.get_context("spawn")
    ps = [ctx.Process(target=_writer, args=(url, w, appends)) for w in range(procs)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    assert [p.exitcode for p in ps] == [0] * procs
    with Ledger.open(url, log_key=key) as led:
        assert led.size == procs * appends
        led.checkpoint()
        report = led.audit()
        assert report.ok, report.problems[:3]
        entries = list(led.iter_entries())
        assert [e.index for e in entries] == list(range(procs * appends))  # no gap
        seen = {(e.body["worker"], e.body["i"]) for e in entries}
        assert len(seen) == procs * appends  # each entry exactly once
        if led.engine.dialect.name == "postgresql":
            with led.engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM ledger_pending")).scalar() == 0


def test_concurrent_writers_never_fork(any_url: str, log_key: Ed25519PrivateKey) -> None:
    _run(any_url, log_key, PROCS, APPENDS)


def test_pending_table_only_on_postgresql(any_url: str, log_key: Ed25519PrivateKey) -> None:
    make_ledger(any_url, log_key).close()
    engine = create_engine(any_url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    assert ("ledger_pending" in names) == any_url.startswith("postgresql")
