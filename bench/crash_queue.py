"""Crash harness for PostgreSQL's pending queue: SIGKILL writers while queued and integrating.

Several writer processes append one entry per call (some with a secret, some with a parent) to
one ledger; each notes every acknowledged append (id and index) in its own file. Each round
SIGKILLs one writer, half the time the one holding the integration lock (found in pg_locks by
the ``application_name`` the sequencer gives its connection), and starts a new one; a checkpoint
is signed between rounds. At the end every writer is killed, pending entries are integrated, and:

- the indices run 0..size-1 (no gap) and the audit is clean (every checkpoint consistent with
  the next: no fork);
- every acknowledged append is in the tree at its index, each (writer, counter) once;
- the queue is empty.

    python bench/crash_queue.py --ledger-url postgresql+psycopg://postgres@127.0.0.1/test
    python bench/crash_queue.py --ledger-url ... --writers 8 --kills 200

Prints one JSON object with the figures; exit 1 on any violation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from ledger import Ledger
from ledger.checkpoint import generate_log_key

ORIGIN = "crash.example/queue"
PARENT = "01900000-0000-7000-8000-000000000001"


def writer(url: str, acks: Path, tag: str) -> None:
    with (
        Ledger.open(url, checkpoint_every=None, checkpoint_interval=None) as led,
        acks.open("a") as f,
    ):
        i = 0
        while True:
            i += 1
            e = led.append(
                "generate",
                {"w": tag, "i": i},
                secret=f"prompt {tag}.{i}" if i % 3 == 0 else None,
                parents=[PARENT] if i % 5 == 0 else (),
            )
            f.write(f"{e.id} {e.index}\n")
            f.flush()  # the page cache outlives a SIGKILL


def _spawn(url: str, root: Path, tag: str) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            writer(url, root / f"{tag}.acks", tag)
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    return pid


def _holder(led: Ledger, key: int, pids: list[int]) -> int | None:
    """The writer process holding the integration lock, if one is."""
    sql = text(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :c AND l.objid = :o"
    )
    with led.engine.connect() as conn:
        names = conn.execute(sql, {"c": key >> 32, "o": key & 0xFFFFFFFF}).scalars().all()
    for name in names:
        pid = int(str(name).rsplit(" ", 1)[-1]) if str(name).startswith("provenance") else 0
        if pid in pids:
            return pid
    return None


def run(url: str, writers: int, kills: int, seed: int, root: Path) -> dict[str, object]:
    rng = random.Random(seed)
    key = generate_log_key()
    Ledger.create(url, origin=ORIGIN, log_key=key).close()
    stats: dict[str, object] = {"kills": 0, "integrator_kills": 0, "violations": []}
    with Ledger.open(url, log_key=key, checkpoint_every=None, checkpoint_interval=None) as led:
        led.append("seed", {}, entry_id=PARENT)
        lock = led.appender.sequencer.lock_key()  # type: ignore[union-attr]
        pids = {_spawn(url, root, f"w{n}"): f"w{n}" for n in range(writers)}
        for k in range(kills):
            time.sleep(rng.uniform(0.05, 0.4))
            victim = _holder(led, lock, list(pids)) if rng.random() < 0.5 else None
            stats["integrator_kills"] = int(str(stats["integrator_kills"])) + (victim is not None)
            victim = victim or rng.choice(list(pids))
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
            os.waitpid(victim, 0)
            stats["kills"] = k + 1
            pids.pop(victim)
            pids[_spawn(url, root, f"r{k}")] = f"r{k}"
            with contextlib.suppress(Exception):  # a checkpoint may meet a batch: next round
                led.checkpoint()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        stats["integrated_after"] = led.appender.integrate_pending()
        led.checkpoint()
        stats.update(_check(led, root))
    return stats


def _check(led: Ledger, root: Path) -> dict[str, object]:
    bad: list[str] = []
    entries = list(led.iter_entries())
    if [e.index for e in entries] != list(range(led.size)):
        bad.append("indices are not 0..size-1")
    at = {e.id: e.index for e in entries}
    keys = [(e.body.get("w"), e.body.get("i")) for e in entries if e.kind == "generate"]
    if len(keys) != len(set(keys)):
        bad.append("an entry integrated twice")
    acked = 0
    for f in root.glob("*.acks"):
        for line in f.read_text().splitlines():
            eid, idx = line.split()
            acked += 1
            if at.get(eid) != int(idx):
                bad.append(f"acknowledged {eid} at {idx}: tree has {at.get(eid)}")
    report = led.audit()
    if not report.ok:
        bad.append(f"audit: {report.problems[:3]}")
    with led.engine.connect() as conn:
        if conn.execute(text("SELECT count(*) FROM ledger_pending")).scalar():
            bad.append("entries left in the queue")
    return {"entries": led.size, "acknowledged": acked, "violations": bad[:20]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--ledger-url", required=True, help="PostgreSQL URL (an empty schema)")
    p.add_argument("--writers", type=int, default=4)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crash-queue-") as d:
        stats = run(a.ledger_url, a.writers, a.kills, a.seed, Path(d))
    stats["seconds"] = round(time.monotonic() - start, 1)
    print(json.dumps(stats))
    return 1 if stats["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
