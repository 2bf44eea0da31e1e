"""Witness benchmark: checkpoint signing plus a C2SP tlog-witness round trip on loopback with 1
and 3 witnesses, against checkpoint signing alone.

    python bench/bench_witness.py          # 30 checkpoints per figure
    python bench/bench_witness.py --full   # 200

Each witness is a separate `provenance witness serve` process on 127.0.0.1 (its own SQLite state,
a durable commit per cosignature). The log side is the real one: `Ledger.open(witnesses=...)`,
whose `checkpoint()` signs, commits, submits to the witnesses (one kept keep-alive client, each
witness's last size from the stored cosignatures) and stores the cosignatures. Each figure has
a ledger of its own (own origin and key); every witness witnesses all three. Prints one JSON line per figure:
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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import Ledger
from ledger.checkpoint import generate_log_key, verifier_key
from ledger.witness.client import WitnessEndpoint
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
def witnesses(tmp: Path, log_vkeys: list[str], count: int) -> Iterator[list[WitnessEndpoint]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs: list[subprocess.Popen[bytes]] = []
    eps: list[WitnessEndpoint] = []
    try:
        for i in range(count):
            d = tmp / f"w{i}"
            vkey = init_witness(d, f"bench.example/w{i}")
            for log_vkey in log_vkeys:
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


def _log(tmp: Path, label: str) -> tuple[str, Ed25519PrivateKey, str]:
    """A ledger of its own per figure (own origin and key), so each witness sees three logs."""
    key = generate_log_key()
    url = f"sqlite:///{tmp / (label + '.db')}"
    Ledger.create(url, origin=f"{ORIGIN}/{label}", log_key=key).close()
    return url, key, verifier_key(key, f"{ORIGIN}/{label}")


def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        logs = {label: _log(tmp, label) for label in ("alone", "one", "three")}
        with witnesses(tmp, [v for _, _, v in logs.values()], 3) as eps:
            groups = {"alone": [], "one": eps[:1], "three": eps}
            # The real log-side path: Ledger.open(witnesses=...) submits after each commit.
            leds = {
                label: Ledger.open(
                    url,
                    log_key=key,
                    checkpoint_every=None,
                    checkpoint_interval=None,
                    tsa_url="",
                    witnesses=groups[label],
                )
                for label, (url, key, _) in logs.items()
            }
            times: dict[str, list[float]] = {label: [] for label in leds}
            try:
                for _ in range(n):
                    for label, led in leds.items():  # interleaved, so drift hits all alike
                        led.append("generate", {"n": led.size})
                        t0 = time.perf_counter()
                        led.checkpoint()
                        times[label].append((time.perf_counter() - t0) * 1000)
                        result = led.witness_result
                        if result is not None and result.failed:
                            raise RuntimeError(f"witnesses failed: {result.failed}")
            finally:
                for led in leds.values():
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
