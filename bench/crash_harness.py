"""Crash harness: SIGKILL recording processes at random points, then check nothing was lost.

Each round forks a worker that records generate and edit calls (local backend, PNG/JPEG/WebP)
into one output folder and ledger, kills it with SIGKILL after a random delay, runs
``provenance doctor`` (in-process) on the folder and checks:

- no signed file at a destination without its ledger entry (same name, same SHA-256);
- no ledger entry whose file is missing or differs (half-written);
- no recorder temp file left after the doctor ran (each one restored or removed, and counted);
- the ledger audit is clean.

At the end a sample of files is verified and must read ``trusted``.

    python bench/crash_harness.py               # CI budget: >= 60 operations and >= 30 kills
    python bench/crash_harness.py --full        # >= 500 operations and >= 100 kills
    python bench/crash_harness.py --ledger-url postgresql+psycopg://postgres@127.0.0.1/test
    python bench/crash_harness.py --concurrent 4 --ops 25    # 4 writers at once, no kills

Prints one JSON object with the figures; exit 1 on any violation.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from provenance.home.identity import create_local_identity
from provenance.home.ledger import create_ledger, open_ledger
from provenance.home.paths import ENV_HOME, ENV_LEDGER_URL, Home
from provenance.media.hashing import sha256_bytes
from provenance.record.doctor import find_temp_files, run_doctor

COLORS = ("red", "blue", "green", "orange", "purple", "black")
EXTS = ("png", "jpg", "webp")


@dataclass
class CrashStats:
    operations: int = 0  # ledger entries recorded (generate + edit)
    kills: int = 0  # SIGKILLs that hit a live worker
    rounds: int = 0
    leftovers: dict[str, int] = field(default_factory=dict)  # doctor's counts by status
    verified: int = 0
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0


def setup_home(root: Path, ledger_url: str | None) -> Home:
    home = Home(root / "home")
    os.environ[ENV_HOME] = str(home.root)
    if ledger_url:
        os.environ[ENV_LEDGER_URL] = ledger_url
    else:
        os.environ.pop(ENV_LEDGER_URL, None)
    create_local_identity(home, actor="crash-harness@example.org")
    create_ledger(home)
    return home


def record_loop(home: Home, out: Path, tag: str, seed: int, max_ops: int | None = None) -> None:
    """Record generate/edit calls forever (or ``max_ops`` times); files named ``TAG-N.EXT``."""
    from provenance.record.recorder import Recorder

    rng = random.Random(seed)
    with Recorder(home, actor=f"worker {tag}") as rec:
        i = 0
        while max_ops is None or i < max_ops:
            i += 1
            dest = out / f"{tag}-{i}.{rng.choice(EXTS)}"
            mine = [p for p in out.iterdir() if p.name.startswith(f"{tag}-")]
            if mine and rng.random() < 0.4:
                parent = rng.choice(mine)
                rec.edit(
                    [parent],
                    rng.choice(("grayscale", "brightness 1.2", "rotate 90", "crop 0 0 48 48")),
                    dest,
                )
            else:
                rec.generate(
                    f"A {rng.choice(COLORS)} circle on a white background",
                    dest,
                    size="96x96",
                    seed=rng.randrange(1 << 30),
                )


def _fork(fn: object, *args: object) -> int:
    pid = os.fork()
    if pid == 0:  # child: never return into the harness
        code = 0
        try:
            fn(*args)  # type: ignore[operator]
        except BaseException:
            traceback.print_exc()
            code = 3
        finally:
            os._exit(code)
    return pid


def check(home: Home, out: Path, stats: CrashStats) -> None:
    """Doctor the folder, then check the invariants; violations go into ``stats``."""
    with open_ledger(home, read_only=True) as ledger:
        report = run_doctor([out], ledger, fix=True, audit=True, min_age=0)  # writer reaped
        for status, n in report.counts().items():
            stats.leftovers[status] = stats.leftovers.get(status, 0) + n
        if report.audit is not None and not report.audit.ok:
            stats.violations.append(f"audit: {report.audit.problems[:3]}")
        left = find_temp_files([out])
        if left:
            stats.violations.append(f"temp files left after doctor: {[p.name for p in left]}")
        recorded: dict[str, str] = {}
        for entry in ledger.iter_entries(kinds=["generate", "edit"]):
            recorded[entry.body["output"]["name"]] = entry.outputs[0]
        stats.operations = len(recorded)
    files = {
        p.name: sha256_bytes(p.read_bytes())
        for p in out.iterdir()
        if p.is_file() and not p.name.startswith(".")
    }
    for name, digest in files.items():
        if recorded.get(name) != digest:
            stats.violations.append(
                f"{name}: signed file at its destination without its ledger entry"
            )
    for name, digest in recorded.items():
        if files.get(name) != digest:
            stats.violations.append(
                f"{name}: ledger entry {digest[:12]} points at a missing or different file"
            )


def verify_sample(home: Home, out: Path, k: int, rng: random.Random) -> tuple[int, list[str]]:
    from provenance.verify import verify_path
    from provenance.verify.policy import default_policy

    bad = []
    files = sorted(p for p in out.iterdir() if not p.name.startswith("."))
    sample = rng.sample(files, min(k, len(files)))
    with open_ledger(home, read_only=True) as ledger:
        policy = default_policy(home)
        for p in sample:
            report = verify_path(p, policy, ledger)
            if report.verdict != "trusted":
                bad.append(f"{p.name}: verdict {report.verdict} ({report.reasons[:2]})")
    return len(sample), bad


def warm_up() -> None:
    """Import and initialise the heavy modules once, so forked workers start recording at once.

    Nothing here touches c2pa's signer or a database: forking after those is not safe.
    """
    from PIL import Image

    import provenance.backends.local
    import provenance.record.recorder  # noqa: F401
    from provenance.recovery import fingerprint

    fingerprint.compute(Image.new("RGB", (64, 64), "white"))


def _prepare(
    root: Path, seed: int, ledger_url: str | None
) -> tuple[float, random.Random, Home, Path]:
    """Start clock, seeded RNG, a warmed-up interpreter, a fresh home and output folder."""
    start = time.monotonic()
    rng = random.Random(seed)
    warm_up()
    home = setup_home(root, ledger_url)
    out = root / "out"
    out.mkdir()
    return start, rng, home, out


def run(
    root: Path,
    *,
    target_ops: int,
    max_delay: float,
    seed: int = 1,
    ledger_url: str | None = None,
    verify: int = 10,
    min_kills: int = 0,
) -> CrashStats:
    """Kill workers until ``target_ops`` operations are recorded and ``min_kills`` kills made."""
    start, rng, home, out = _prepare(root, seed, ledger_url)
    stats = CrashStats()
    while stats.operations < target_ops or stats.kills < min_kills:
        stats.rounds += 1
        pid = _fork(record_loop, home, out, f"r{stats.rounds}", rng.randrange(1 << 30))
        time.sleep(rng.uniform(0.0, max_delay))
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            stats.kills += 1
        else:
            stats.violations.append(f"round {stats.rounds}: worker ended by itself ({status})")
        check(home, out, stats)
        if stats.violations:
            break
    stats.verified, bad = verify_sample(home, out, verify, rng)
    stats.violations.extend(bad)
    stats.seconds = round(time.monotonic() - start, 1)
    return stats


def concurrent(
    root: Path, *, workers: int, ops: int, seed: int = 1, ledger_url: str | None = None
) -> CrashStats:
    """``workers`` processes record ``ops`` calls each into one ledger at once; then check."""
    start, rng, home, out = _prepare(root, seed, ledger_url)
    stats = CrashStats(rounds=1)
    pids = [
        _fork(record_loop, home, out, f"w{i}", rng.randrange(1 << 30), ops) for i in range(workers)
    ]
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            stats.violations.append(f"worker {pid} failed ({status})")
    check(home, out, stats)
    with open_ledger(home, read_only=True) as ledger:
        indices = [e.index for e in ledger.iter_entries()]
    if indices != list(range(len(indices))):
        stats.violations.append("the tree is not contiguous")
    if stats.operations != workers * ops:
        stats.violations.append(f"{stats.operations} entries for {workers * ops} operations")
    stats.verified, bad = verify_sample(home, out, 5, rng)
    stats.violations.extend(bad)
    stats.seconds = round(time.monotonic() - start, 1)
    return stats


@dataclass
class _Args:
    full: bool
    ops: int | None
    max_delay: float
    seed: int
    ledger_url: str | None
    workers: int
    workdir: Path | None
    kills: int


def _args(argv: list[str] | None) -> _Args:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--full", action="store_true", help="at least 500 operations")
    p.add_argument("--ops", type=int, help="operations to reach (overrides --full)")
    p.add_argument("--max-delay", type=float, default=1.0, help="longest life of a worker, s")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ledger-url", help="SQLAlchemy URL (e.g. PostgreSQL); default SQLite")
    p.add_argument(
        "--concurrent",
        type=int,
        default=0,
        metavar="N",
        help="instead of killing: N workers record --ops calls each at once",
    )
    p.add_argument("--workdir", type=Path, help="keep files and ledger here (new folder)")
    p.add_argument("--kills", type=int, help="at least this many kills (default 30; --full 100)")
    ns = p.parse_args(argv)
    return _Args(
        ns.full,
        ns.ops,
        ns.max_delay,
        ns.seed,
        ns.ledger_url,
        ns.concurrent,
        ns.workdir,
        ns.kills if ns.kills is not None else (100 if ns.full else 30),
    )


def main(argv: list[str] | None = None) -> int:
    a = _args(argv)
    with tempfile.TemporaryDirectory(prefix="crash-harness-") as d:
        root = a.workdir or Path(d)
        root.mkdir(parents=True, exist_ok=True)
        if a.workers:
            stats = concurrent(
                root, workers=a.workers, ops=a.ops or 10, seed=a.seed, ledger_url=a.ledger_url
            )
        else:
            stats = run(
                root,
                target_ops=a.ops or (500 if a.full else 60),
                max_delay=a.max_delay,
                seed=a.seed,
                ledger_url=a.ledger_url,
                min_kills=a.kills,
            )
    print(json.dumps(asdict(stats)))
    return 1 if stats.violations else 0


if __name__ == "__main__":
    sys.exit(main())
