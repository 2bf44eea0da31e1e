"""Witness benchmark: checkpoint signing plus a C2SP tlog-witness round trip on loopback with 1
and 3 witnesses, against checkpoint signing alone.

    python bench/bench_witness.py          # 30 checkpoints per figure
    python bench/bench_witness.py --full   # 200

Each witness is a separate `provenance witness serve` process on 127.0.0.1 (its own SQLite state,
a durable commit per cosignature); the log side keeps one keep-alive httpx2 client and each
witness's last size, as a log would. Prints one JSON line per figure:
{"bench", "value", "unit", "baseline", "ratio", "n"}.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from ledger import Ledger
from ledger.checkpoint import generate_log_key
from ledger.witness.client import WitnessEndpoint, submit_checkpoint
from ledger.witness.home import add_log, init_witness

ORIGIN = "bench.example/log"
ROOT = Path(__file__).resolve().parents[1]


def emit(name: str, value: float, unit: str, baseline: float, n: int) -> None:
    figure = {
        "bench": f"witness.{name}",
        "value": round(value, 3),
        "unit": unit,
        "baseline": round(baseline, 3),
        "ratio": round(value / baseline, 3),
        "n": n,
    }
    print(json.dumps(figure), flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx2.get(url + "/add-checkpoint", timeout=1)
            return
        except httpx2.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"witness at {url} did not start") from None
            time.sleep(0.1)


@contextmanager
def witnesses(tmp: Path, log_vkey: str, count: int) -> Iterator[list[WitnessEndpoint]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs: list[subprocess.Popen[bytes]] = []
    eps: list[WitnessEndpoint] = []
    try:
        for i in range(count):
            d = tmp / f"w{i}"
            vkey = init_witness(d, f"bench.example/w{i}")
            add_log(d, log_vkey)
            port = _free_port()
            cmd = [sys.executable, "-m", "provenance", "witness", "serve", "--dir", str(d)]
            proc = subprocess.Popen(
                [*cmd, "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(proc)
            eps.append(WitnessEndpoint(vkey, f"http://127.0.0.1:{port}"))
            _wait_up(eps[-1].url, proc)
        yield eps
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        key = generate_log_key()
        url = f"sqlite:///{tmp / 'ledger.db'}"
        Ledger.create(url, origin=ORIGIN, log_key=key).close()
        led = Ledger.open(url, log_key=key, checkpoint_every=None, checkpoint_interval=None)
        with witnesses(tmp, str(led.verifier_key), 3) as eps, httpx2.Client(timeout=10) as http:
            sizes: dict[str, int] = {}
            times: dict[str, list[float]] = {"alone": [], "one": [], "three": []}
            groups = {"alone": [], "one": eps[:1], "three": eps}
            for _ in range(n):
                for label, group in groups.items():  # interleaved, so drift hits all alike
                    led.append("generate", {"n": led.size})
                    t0 = time.perf_counter()
                    cp = led.checkpoint()
                    if group:
                        result = submit_checkpoint(
                            cp.note, led.consistency_proof, group, known_sizes=sizes, client=http
                        )
                        if result.failed:
                            raise RuntimeError(f"witnesses failed: {result.failed}")
                        sizes.update(result.known_sizes())
                    times[label].append((time.perf_counter() - t0) * 1000)
        led.close()
    base = statistics.median(times["alone"])
    emit("checkpoint_1_witness", statistics.median(times["one"]), "ms", base, n)
    emit("checkpoint_3_witnesses", statistics.median(times["three"]), "ms", base, n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    run(200 if args.full else 30)


if __name__ == "__main__":
    main()
