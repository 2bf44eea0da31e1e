"""Benchmark: `verify` throughput and perceptual search, each beside its bare baseline.

The baseline of every verify figure is c2pa-python's bare ``Reader`` (``json()`` and the
validation state) over the same files in one process, with one ``Context`` holding the same
trust anchors as ours (the bundled C2PA Trust List, interim list and C2PA TSA Trust List, ~70
certificates, as the same named lists), built once.

verify.files_per_s         batch: ``verify_many`` as `provenance verify DIR` runs it (worker
                           processes from 1,000 files, else one process): chain walk, ledger lookup
                           and signed-checkpoint proof, per-file time and memory budgets. A pooled
                           batch runs in a fresh ``python -c`` interpreter (as the CLI's workers
                           start), its pool's start-up timed.
verify.files_per_s_single  single: one process verifying one file at a time (``verify_many`` with
                           one worker), the same work as above.
verify.files_per_s_single_no_ledger  the same without the ledger cross-check (``--no-ledger``).
                           (A fresh `provenance verify FILE --no-ledger` process per file, start-up
                           included, is bench_startup.py's startup.verify_no_ledger_ms.)
Each verify figure also as ``<name>_cpu``: files per second of this process's CPU time (the
same ratio, steadier when other work shares the machine; not for a pool). The rounds are
interleaved (each variant first in turn); ``value`` and ``baseline`` are medians over the rounds,
and ``ratio`` is the median of each round's figure over the same round's bare Reader.
verify.reader_narrowed_anchors  the bare Reader handed only the anchors each file could chain
                           to (the one list entry, the home's CA, that verify hands c2pa from
                           a process's third file on: verify/narrowing.py) vs the same Reader
                           with every list: c2pa weighs every anchor it holds for every file.
verify.hostile_batch_s     a batch of 20 files with a hostile one among them (15 manifests, each
                           naming its predecessor three times: a 3**14-path DAG) vs c2pa's bare
                           Reader on the hostile file alone; bounded by the per-file budget.
verify.hostile_file_s      the hostile file alone (its worst case in a batch: the budget, 60 s and
                           2048 MiB, ends it at the latest) vs the same bare Reader.
search.load_ms             first perceptual search of verify's index on a freshly opened ledger (loads
                           every stored pHash into memory) vs a raw SELECT of the same values.
search.query_ms            one search once loaded (prefilter + resolving the hits) vs a bare numpy
                           XOR + bit count over the values.
search.ledger_api_load_ms  the same first search through ``Ledger.search_fingerprints``.

    python bench/bench_verify.py            # 200 files, 100,000 fingerprints
    python bench/bench_verify.py --full     # 1,000 files, 1,000,000 fingerprints
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledger import AppendRequest, Ledger
from ledger.fingerprint_index import FingerprintIndex
from provenance.credentials import (
    LEDGER_ASSERTION,
    ManifestSpec,
    make_context,
    make_signer,
    sign_bytes,
)
from provenance.home.identity import create_local_identity, load_identity
from provenance.home.ledger import create_ledger, open_ledger
from provenance.home.paths import Home
from provenance.recovery.fingerprint import SEARCH_KIND, SEARCH_RADIUS, to_signed64
from provenance.verify.batch import POOL_THRESHOLD, LedgerSource, verify_many
from provenance.verify.narrowing import narrowed
from provenance.verify.policy import default_policy


def emit(
    bench: str, value: float, unit: str, baseline: float, n: int, ratio: float | None = None
) -> None:
    """One figure; ``ratio`` (default value / baseline) may be the median of paired ratios."""
    print(
        json.dumps(
            {
                "bench": bench,
                "value": round(value, 3),
                "unit": unit,
                "baseline": round(baseline, 3),
                "ratio": round(ratio if ratio is not None else value / baseline, 3),
                "n": n,
            }
        ),
        flush=True,
    )


def _make_files(home: Home, out: Path, count: int) -> list[Path]:
    """Signed 256x256 PNGs, each recorded in the ledger under the id its manifest names."""
    identity = load_identity(home)
    signer = make_signer(identity)
    ctx = make_context(trust_anchors=(identity.ca_pem or b"").decode(), thumbnail=False)
    rng = np.random.default_rng(1)
    files, reqs = [], []
    with open_ledger(home, checkpoint_every=None) as led:
        for i in range(count):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).save(buf, "PNG")
            entry_id = led.new_entry_id()
            spec = ManifestSpec(
                title=f"f{i}.png",
                actions=[{"action": "c2pa.created", "digitalSourceType": "algorithmicMedia"}],
                assertions=[
                    {
                        "label": LEDGER_ASSERTION,
                        "kind": "Json",
                        "data": {"origin": led.origin, "entry": entry_id},
                    }
                ],
            )
            data = sign_bytes(spec, buf.getvalue(), "image/png", signer, ctx)
            path = out / f"f{i:05d}.png"
            path.write_bytes(data)
            files.append(path)
            sha = hashlib.sha256(data).hexdigest()
            reqs.append(
                AppendRequest(
                    kind="generate",
                    body={"output": {"sha256": sha}},
                    entry_id=entry_id,
                    outputs=[sha],
                )
            )
        led.append_many(reqs)
        led.checkpoint()
    signer.close()
    return files


def _bare_reader(files: list[Path], lists: tuple[tuple[str, str, str], ...]) -> tuple[float, float]:
    import c2pa

    start, cpu = time.perf_counter(), time.process_time()
    ctx = make_context(trust_lists=lists, thumbnail=False)  # once, as verify does
    for f in files:
        with c2pa.Reader("image/png", io.BytesIO(f.read_bytes()), context=ctx) as r:
            r.json()
            r.get_validation_state()
    return len(files) / (time.perf_counter() - start), len(files) / (time.process_time() - cpu)


def _ours(
    files: list[Path], home: Home, workers: int | None, ledger: bool = True
) -> tuple[float, float]:
    """(files/s of wall time, files/s of this process's CPU time: steadier under load, and
    meaningless for a pool, whose work is in other processes)."""
    policy = default_policy(home)
    source = LedgerSource(home.ledger_url(), home.log_pub.read_text().strip()) if ledger else None
    start, cpu = time.perf_counter(), time.process_time()
    reports = list(verify_many([(str(f), None) for f in files], policy, source, workers=workers))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    bad = [
        r
        for r in reports
        if r.verdict != "trusted"
        or (ledger and not (r.ledger and r.ledger.proof and r.ledger.proof.verified))
    ]
    if bad:
        raise SystemExit(f"bench: {len(bad)} files did not verify: {bad[0].reasons}")
    return len(files) / elapsed, len(files) / cpu


# A pooled batch is timed in a fresh interpreter started with ``-c``, as the CLI runs it: worker
# processes are spawned, and a spawned child first imports its parent's main module, which for
# this script would add numpy, Pillow and the signing code to every worker's start-up.
_POOLED = """
import json, sys, time
from provenance.home.paths import Home
from provenance.verify.batch import LedgerSource, verify_many
from provenance.verify.policy import default_policy
from pathlib import Path
home, files = Home(Path(sys.argv[1])), open(sys.argv[2]).read().split(chr(10))
policy = default_policy(home)
source = LedgerSource(home.ledger_url(), home.log_pub.read_text().strip())
start = time.perf_counter()
reports = list(verify_many([(f, None) for f in files], policy, source))
took = time.perf_counter() - start
ok = lambda r: r.verdict == "trusted" and r.ledger and r.ledger.proof and r.ledger.proof.verified
bad = [r.reasons for r in reports if not ok(r)]
print(json.dumps({"files_per_s": len(files) / took, "bad": bad[:1]}))
"""


def _ours_pooled(files: list[Path], home: Home, tmp: Path) -> tuple[float, float]:
    """``verify_many`` over ``files`` with its worker pool, timed in a fresh interpreter (pool
    start-up included, the interpreter's own not); the CPU figure is not meaningful."""
    import subprocess

    listing = tmp / "files.txt"
    listing.write_text("\n".join(str(f) for f in files))
    done = subprocess.run(
        [sys.executable, "-c", _POOLED, str(home.root), str(listing)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode:
        raise SystemExit(f"bench: the pooled batch failed: {done.stderr.strip()[-2000:]}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    if got["bad"]:
        raise SystemExit(f"bench: files did not verify in the pool: {got['bad'][0]}")
    return got["files_per_s"], got["files_per_s"]


def bench_verify(tmp: Path, count: int, repeats: int) -> None:
    home = Home(tmp / "home")
    create_local_identity(home, actor="bench")
    create_ledger(home)
    files = _make_files(home, tmp, count)
    lists = default_policy(home).groups.lists  # the same anchors as ours, lists included
    runs: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("bare", "batch", "single", "no_ledger")
    }
    measure = {
        "bare": lambda: _bare_reader(files, lists),
        "batch": lambda: (
            _ours_pooled(files, home, tmp) if count >= POOL_THRESHOLD else _ours(files, home, None)
        ),
        "single": lambda: _ours(files, home, 1),
        "no_ledger": lambda: _ours(files, home, 1, ledger=False),
    }
    order = list(measure)
    for r in range(repeats):  # interleaved, so that load from elsewhere hits every figure alike
        for key in order[r % 4 :] + order[: r % 4]:  # each first in turn
            runs[key].append(measure[key]())
    pooled = count >= POOL_THRESHOLD
    for i, suffix in enumerate(("", "_cpu")):
        bare = statistics.median(r[i] for r in runs["bare"])
        for key, name in (
            ("batch", "verify.files_per_s"),
            ("single", "verify.files_per_s_single"),
            ("no_ledger", "verify.files_per_s_single_no_ledger"),
        ):
            if not (suffix and key == "batch" and pooled):
                value = statistics.median(r[i] for r in runs[key])
                # each round's figure against the same round's bare Reader, then the median:
                # load that changes from round to round cancels out of each pair
                paired = statistics.median(
                    o[i] / b[i] for o, b in zip(runs[key], runs["bare"], strict=True)
                )
                emit(name + suffix, value, "files/s", bare, count, paired)
    bench_narrowed_reader(files, lists, repeats)
    bench_hostile(tmp, home, files[:19])


def bench_narrowed_reader(
    files: list[Path], lists: tuple[tuple[str, str, str], ...], repeats: int
) -> None:
    """What the bare Reader gains from being handed only the anchors a file could chain to
    (verify/narrowing.py, which verify does from a process's third file on): where most of
    the verify figures' margin over the bare Reader with every list comes from."""
    cut = narrowed(lists, files[0].read_bytes(), "image/png")
    assert cut is not None and all(
        narrowed(lists, f.read_bytes(), "image/png") == cut for f in files
    )
    full, narrow = [], []
    for r in range(repeats):  # each first in turn
        for rates, anchors in [(full, lists), (narrow, cut)][:: 1 if r % 2 else -1]:
            rates.append(_bare_reader(files, anchors)[0])
    paired = statistics.median(n / f for n, f in zip(narrow, full, strict=True))
    emit(
        "verify.reader_narrowed_anchors",
        statistics.median(narrow),
        "files/s",
        statistics.median(full),
        len(files),
        paired,
    )


def bench_hostile(tmp: Path, home: Home, normal: list[Path]) -> None:
    import c2pa

    from tests.verify.hostile import diamond_chain, stranger

    hostile = tmp / "hostile.png"
    diamond_chain(hostile, stranger("Sender", "Hostile")[0], levels=14)
    start = time.perf_counter()
    ctx = make_context(thumbnail=False)
    with c2pa.Reader("image/png", io.BytesIO(hostile.read_bytes()), context=ctx) as r:
        r.json()
    bare = time.perf_counter() - start
    items = [(str(f), None) for f in [*normal[:10], hostile, *normal[10:]]]
    start = time.perf_counter()
    reports = list(verify_many(items, default_policy(home), None, workers=1))
    took = time.perf_counter() - start
    assert len(reports) == len(items) and reports[10].verdict == "valid_untrusted"
    emit("verify.hostile_batch_s", took, "s", bare, len(items))
    start = time.perf_counter()
    [alone] = verify_many([(str(hostile), None)], default_policy(home), None, workers=1)
    assert alone.verdict == "valid_untrusted"
    emit("verify.hostile_file_s", time.perf_counter() - start, "s", bare, 1)


def _fill_fingerprints(url: str, total: int) -> None:
    rng = random.Random(3)
    with Ledger.open(url, log_key=None, checkpoint_every=None) as led:
        for start in range(0, total, 20_000):
            reqs = []
            for i in range(start, min(total, start + 20_000)):
                sha = hashlib.sha256(b"fp%d" % i).hexdigest()
                reqs.append(
                    AppendRequest(
                        kind="generate",
                        body={},
                        outputs=[sha],
                        fingerprints=[(sha, SEARCH_KIND, to_signed64(rng.getrandbits(64)))],
                    )
                )
            led.append_many(reqs)


def bench_search(tmp: Path, total: int, queries: int) -> None:
    home = Home(tmp / "search-home")
    create_local_identity(home, actor="bench")
    create_ledger(home)
    url = home.ledger_url()
    _fill_fingerprints(url, total)
    rng = random.Random(9)
    loads, raw_loads, api_loads = [], [], []
    for _ in range(3):
        with Ledger.open(url, log_key=None, checkpoint_every=None) as led:
            t = time.perf_counter()
            FingerprintIndex(led, SEARCH_KIND).search(rng.getrandbits(64), SEARCH_RADIUS, 20)
            loads.append((time.perf_counter() - t) * 1000)
        with Ledger.open(url, log_key=None, checkpoint_every=None) as led:
            t = time.perf_counter()
            led.search_fingerprints(SEARCH_KIND, rng.getrandbits(64), SEARCH_RADIUS)
            api_loads.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        with sqlite3.connect(home.ledger_db) as db:
            rows = db.execute(
                "SELECT value FROM ledger_fingerprint WHERE kind = ?", (SEARCH_KIND,)
            ).fetchall()
        values = np.array([r[0] for r in rows], dtype=np.int64).view(np.uint64)
        raw_loads.append((time.perf_counter() - t) * 1000)
    emit("search.load_ms", statistics.median(loads), "ms", statistics.median(raw_loads), total)
    emit(
        "search.ledger_api_load_ms",
        statistics.median(api_loads),
        "ms",
        statistics.median(raw_loads),
        total,
    )
    with Ledger.open(url, log_key=None, checkpoint_every=None) as led:
        index = FingerprintIndex(led, SEARCH_KIND)
        index.search(0, SEARCH_RADIUS, 20)
        times, bare = [], []
        for _ in range(queries):
            q = rng.getrandbits(64)
            t = time.perf_counter()
            index.search(q, SEARCH_RADIUS, 20)
            times.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            dist = np.bitwise_count(values ^ np.uint64(q))
            np.nonzero(dist <= SEARCH_RADIUS)
            bare.append((time.perf_counter() - t) * 1000)
    emit("search.query_ms", statistics.median(times), "ms", statistics.median(bare), total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="1,000 files, 1,000,000 fingerprints")
    parser.add_argument("--files", type=int, default=None)
    parser.add_argument("--fingerprints", type=int, default=None)
    parser.add_argument("--only", choices=("verify", "search"), default=None)
    parser.add_argument("--repeats", type=int, default=9, help="interleaved rounds (median)")
    args = parser.parse_args()
    files = args.files or (1_000 if args.full else 200)
    fps = args.fingerprints or (1_000_000 if args.full else 100_000)
    with tempfile.TemporaryDirectory() as d:
        if args.only in (None, "verify"):
            bench_verify(Path(d), files, args.repeats)
        if args.only in (None, "search"):
            bench_search(Path(d), fps, 50)


if __name__ == "__main__":
    main()
