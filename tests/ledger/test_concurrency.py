"""Several processes appending at once leave one contiguous, auditable tree.

Default 8 processes x 500 appends; set LEDGER_CONCURRENCY=PROCSxAPPENDS to change it.
"""

from __future__ import annotations

import multiprocessing as mp
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import Ledger
from tests.ledger.ledger_helpers import make_ledger

PROCS, APPENDS = (int(x) for x in os.environ.get("LEDGER_CONCURRENCY", "8x500").split("x"))


def _writer(url: str, worker: int, n: int) -> None:
    with Ledger.open(url, checkpoint_every=None, checkpoint_interval=None) as led:
        for i in range(n):
            led.append("generate", {"worker": worker, "i": i})


def test_concurrent_writers_never_fork(any_url: str, log_key: Ed25519PrivateKey) -> None:
    make_ledger(any_url, log_key).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(any_url, w, APPENDS)) for w in range(PROCS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0] * PROCS
    with Ledger.open(any_url, log_key=log_key) as led:
        assert led.size == PROCS * APPENDS
        led.checkpoint()
        report = led.audit()
        assert report.ok, report.problems[:3]
        seen = {(e.body["worker"], e.body["i"]) for e in led.iter_entries()}
        assert len(seen) == PROCS * APPENDS
