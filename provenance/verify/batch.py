"""Verify many files at once, spread over the machine's cores (c2pa validation is CPU-bound).

Example::

    from provenance.verify.policy import TrustPolicy
    from provenance.verify.batch import expand_inputs, verify_many

    policy = TrustPolicy.from_pem_files(["anchors.pem"])
    for report in verify_many(expand_inputs(["incoming/", "*.jpg"]), policy, None):
        print(report.path, report.verdict)

Reports come back in input order. With many files, worker processes each open the ledger
read-only once; with few, everything runs in this process (starting workers costs more).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

from provenance.home.ledger import LedgerSource, open_ledger
from provenance.verify.core import verify_path
from provenance.verify.policy import TrustPolicy
from provenance.verify.report import VerificationReport
from provenance.vocab import Verdict

if TYPE_CHECKING:
    pass

if TYPE_CHECKING:
    from ledger import Ledger

# Each worker imports the library (~1 s) before its first file; below this many files (~5 ms
# each) a pool costs more than it saves. Threads do not help: the Python side holds the GIL.
POOL_THRESHOLD = 64


def expand_inputs(args: Iterable[str]) -> Iterator[tuple[str, str | None]]:
    """Files, directories (recursive, symlink loops broken) and globs -> (path, problem or None)."""
    for arg in args:
        matches = sorted(glob.glob(arg, recursive=True)) if glob.has_magic(arg) else [arg]
        if not matches:
            yield arg, "no file matches this pattern"
        for m in matches:
            p = Path(m)
            if p.is_dir():
                yield from _walk(p)
            elif not p.exists() and not p.is_symlink():
                yield m, "no such file"
            elif not p.exists():
                yield m, "broken or looping symbolic link"
            else:
                yield m, None


def _walk(root: Path) -> Iterator[tuple[str, str | None]]:
    seen: set[tuple[int, int]] = set()
    errors: list[tuple[str, str | None]] = []

    def onerror(e: OSError) -> None:
        errors.append((e.filename or str(root), f"cannot read directory ({e.strerror})"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=True):
        yield from errors
        errors.clear()
        try:
            st = os.stat(dirpath)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:  # a symlink loop: this directory was walked already
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            yield full, (None if os.path.exists(full) else "broken or looping symbolic link")
    yield from errors


def verify_many(
    items: Iterable[tuple[str, str | None]],
    policy: TrustPolicy,
    ledger: LedgerSource | None,
    *,
    thumbnails: bool = False,
    workers: int | None = None,
) -> Iterator[VerificationReport]:
    """Reports for ``items`` (from :func:`expand_inputs`), in order; never raises for a file."""
    todo = list(items)
    cores = workers if workers is not None else (os.cpu_count() or 1)
    if cores > 1 and len(todo) >= POOL_THRESHOLD:
        yield from _pooled(todo, policy, ledger, thumbnails, cores)
        return
    led = _open(ledger)
    try:
        for path, problem in todo:
            yield _one(path, problem, policy, led, ledger, thumbnails)
    finally:
        if led is not None:
            led.close()


def _open(source: LedgerSource | None) -> Ledger | None:
    return None if source is None else open_ledger(source, read_only=True, checkpoint_every=None)


def _one(
    path: str,
    problem: str | None,
    policy: TrustPolicy,
    led: Ledger | None,
    source: LedgerSource | None,
    thumbnails: bool,
) -> VerificationReport:
    if problem is not None:
        report = VerificationReport(
            path=path, verdict=Verdict.ERROR, reasons=[f"{path}: {problem}"]
        )
        report.accepted = policy.accepts(report)
        return report
    return verify_path(
        path,
        policy,
        led,
        log_verifier=source.log_verifier if source else None,
        thumbnails=thumbnails,
    )


# --- worker processes -------------------------------------------------------------------------

_worker: dict[str, object] = {}


def _init(policy: TrustPolicy, source: LedgerSource | None, thumbnails: bool) -> None:
    _worker.update(policy=policy, source=source, thumbnails=thumbnails, ledger=_open(source))


def _work(item: tuple[str, str | None]) -> VerificationReport:
    policy, source = _worker["policy"], _worker["source"]
    led = cast("Ledger | None", _worker["ledger"])  # what _init opened
    assert isinstance(policy, TrustPolicy)
    assert source is None or isinstance(source, LedgerSource)
    return _one(item[0], item[1], policy, led, source, bool(_worker["thumbnails"]))


def _pooled(
    todo: list[tuple[str, str | None]],
    policy: TrustPolicy,
    source: LedgerSource | None,
    thumbnails: bool,
    cores: int,
) -> Iterator[VerificationReport]:
    import multiprocessing  # here: only a pool pays for it (~15 ms of start-up)
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: c2pa's native library and SQLAlchemy pools must not be shared by a fork.
    ctx = multiprocessing.get_context("spawn")
    n = min(cores, max(1, len(todo) // 4))
    chunk = max(1, min(32, len(todo) // (n * 8)))
    with ProcessPoolExecutor(
        n, mp_context=ctx, initializer=_init, initargs=(policy, source, thumbnails)
    ) as pool:
        yield from pool.map(_work, todo, chunksize=chunk)
