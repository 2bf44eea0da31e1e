"""Tiles benchmarks: publishing per 10,000 entries vs writing the same bytes bare; an audit from
tiles (a directory, and over HTTP on loopback) vs the audit from the database.

    python bench/bench_tiles.py          # a 50,000-entry log, a minute or two
    python bench/bench_tiles.py --full   # a 1,000,000-entry log

Prints one JSON line per figure: {"bench", "value", "unit", "baseline", "ratio", "n"}.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger import AppendRequest, Ledger
from ledger.checkpoint import generate_log_key
from ledger.tiles import audit_tiles, publish

ORIGIN = "bench.example/log"
STEP = 10_000


def emit(name: str, value: float, unit: str, baseline: float | None, n: int) -> None:
    ratio = round(value / baseline, 3) if baseline else None
    figure = {
        "bench": f"tiles.{name}",
        "value": round(value, 4),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": ratio,
        "n": n,
    }
    print(json.dumps(figure), flush=True)


def _grow(led: Ledger, n: int) -> None:
    start = led.size
    for i in range(0, n, STEP):
        led.append_many(
            [
                AppendRequest("generate", {"i": start + i + j}, outputs=[f"{start + i + j:064x}"])
                for j in range(min(STEP, n - i))
            ]
        )
    led.checkpoint()


def _snapshot(d: Path) -> dict[str, int]:
    return {str(p.relative_to(d)): p.stat().st_mtime_ns for p in d.rglob("*") if p.is_file()}


def _bare_write(files: dict[str, bytes], out: Path, fsync: bool) -> float:
    """The same bytes at the same paths with plain writes (and, if asked, an fsync each)."""
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    for rel, data in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
    return time.perf_counter() - t


def bench_publish(rounds: int) -> None:
    """Each round appends 10,000 entries and signs a checkpoint (untimed), then publishes them;
    the bare figure writes the files that publish wrote, with the same bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        url = f"sqlite:///{d / 'l.db'}"
        key = generate_log_key()
        Ledger.create(url, origin=ORIGIN, log_key=key).close()
        timed: dict[bool, list[float]] = {True: [], False: []}
        bare: dict[bool, list[float]] = {True: [], False: []}
        with Ledger.open(url, log_key=key, checkpoint_every=None, checkpoint_interval=None) as led:
            for r in range(rounds):
                durable = r % 2 == 0  # alternate, so load hits both alike
                _grow(led, STEP)
                before = _snapshot(d / "log") if (d / "log").exists() else {}
                t = time.perf_counter()
                publish(led, d / "log", durable=durable)
                timed[durable].append(time.perf_counter() - t)
                after = _snapshot(d / "log")
                changed = [f for f, m in after.items() if before.get(f) != m and f[0] != "."]
                files = {f: (d / "log" / f).read_bytes() for f in changed}
                bare[durable].append(_bare_write(files, d / "bare", fsync=durable))
        for durable, name in ((True, "publish_10k"), (False, "publish_10k_no_fsync")):
            emit(
                name,
                statistics.median(timed[durable]),
                "s",
                statistics.median(bare[durable]),
                len(timed[durable]),
            )


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """A static file server with keep-alive and no request log."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _served(directory: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def bench_audit(n: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        url = f"sqlite:///{d / 'l.db'}"
        key = generate_log_key()
        Ledger.create(url, origin=ORIGIN, log_key=key).close()
        with Ledger.open(url, log_key=key, checkpoint_every=None, checkpoint_interval=None) as led:
            _grow(led, n)
            t = time.perf_counter()
            publish(led, d / "log")
            emit("publish_all", time.perf_counter() - t, "s", None, n)
            vkey = led.verifier_key
            assert vkey is not None
            db, tiles, web = [], [], []
            with _served(d / "log") as base:
                for _ in range(rounds):  # alternated, so load hits all three alike
                    t = time.perf_counter()
                    assert led.audit().ok
                    db.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    assert audit_tiles(d / "log", vkey).ok
                    tiles.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    assert audit_tiles(base, vkey).ok
                    web.append(time.perf_counter() - t)
        baseline = statistics.median(db)
        emit("audit_from_directory", statistics.median(tiles), "s", baseline, n)
        emit("audit_over_http", statistics.median(web), "s", baseline, n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    print(f"# load average before: {os.getloadavg()}", file=sys.stderr, flush=True)
    bench_publish(6)
    bench_audit(1_000_000 if args.full else 50_000, 3)
    print(f"# load average after: {os.getloadavg()}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
