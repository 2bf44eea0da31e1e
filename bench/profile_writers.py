"""Where the time goes with N PostgreSQL writers: CPU per append (the writer's own and its
backend's), notes heard, waits that heard nothing, entries per batch.

    python bench/profile_writers.py 1,4,16 [APPENDS_PER_WRITER]

One JSON line per writer count. The writers start together after a barrier (as
bench_ledger.py's); a backend's CPU is read from /proc, so the server must run on this machine.
psycopg's ``notifies`` is wrapped in each writer to count what it hears.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Generator
from typing import Any

from bench_ledger import drop_schema, pg_url, spawned  # the same schema and start barrier
from sqlalchemy import create_engine, text

from ledger import Ledger


def _backend_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _counting(counts: dict[str, int]) -> None:
    import psycopg

    inner = psycopg.Connection.notifies

    def notifies(self: Any, **kw: Any) -> Generator[Any]:
        got = 0
        for n in inner(self, **kw):
            got += 1
            yield n
        counts["notes"] += got
        if kw.get("timeout"):
            counts["waits"] += 1
            counts["empty_waits"] += not got

    psycopg.Connection.notifies = notifies  # type: ignore[method-assign]


def _writer(url: str, n: int, q: Any, ready: Any) -> None:
    counts = {"notes": 0, "waits": 0, "empty_waits": 0}
    _counting(counts)
    with Ledger.open(url, checkpoint_every=None, checkpoint_interval=None) as led:
        led.append("generate", {"warm": True})
        backend = int(led.appender.sequencer.channel().rsplit("_", 1)[1])  # type: ignore[union-attr]
        counts.update(notes=0, waits=0, empty_waits=0)
        ready.wait()
        r0, b0, t0 = resource.getrusage(resource.RUSAGE_SELF), _backend_cpu(backend), time.time()
        lat = []
        for i in range(n):
            t = time.perf_counter()
            led.append("generate", {"i": i, "model": "m"}, outputs=[f"{i:064x}"])
            lat.append(time.perf_counter() - t)
        r1, b1, t1 = resource.getrusage(resource.RUSAGE_SELF), _backend_cpu(backend), time.time()
        cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
        q.put({"start": t0, "end": t1, "lat": lat, "cpu": cpu, "bcpu": b1 - b0, **counts})


def run(writers: int, n: int) -> dict[str, Any]:
    got = pg_url()
    if got is None:
        raise SystemExit("profile_writers: PostgreSQL is needed")
    u, schema = got
    Ledger.create(u, origin="bench.example/log").close()
    res = spawned(_writer, [(u, n)] * writers)
    with Ledger.open(u, checkpoint_every=None, checkpoint_interval=None) as led:
        ok = led.audit().ok and led.size == writers * (n + 1)
    eng = create_engine(u)
    with eng.connect() as c:
        batches = int(c.execute(text("SELECT count(DISTINCT ts) FROM ledger_entry")).scalar_one())
    eng.dispose()
    drop_schema(schema)
    total = writers * n
    lat = sorted(x for r in res for x in r["lat"])
    out: dict[str, Any] = {
        "writers": writers,
        "appends_s": round(total / (max(r["end"] for r in res) - min(r["start"] for r in res))),
        "p50_ms": round(lat[len(lat) // 2] * 1e3, 2),
        "p99_ms": round(lat[int(len(lat) * 0.99)] * 1e3, 1),
        "writer_cpu_ms": round(sum(r["cpu"] for r in res) / total * 1e3, 3),
        "backend_cpu_ms": round(sum(r["bcpu"] for r in res) / total * 1e3, 3),
        "entries_per_batch": round(writers * (n + 1) / batches, 2),
        "audit_ok": ok,
        "load": os.getloadavg()[0],
    }
    for k in ("notes", "waits", "empty_waits"):
        out[f"{k}_per_append"] = round(sum(r[k] for r in res) / total, 2)
    return out


def main() -> None:
    counts = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "1,4,16").split(",")]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    for w in counts:
        print(json.dumps(run(w, n)), flush=True)


if __name__ == "__main__":
    main()
