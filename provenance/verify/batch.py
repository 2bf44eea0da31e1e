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

import contextlib
import glob
import mimetypes
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

from provenance.home.ledger import LedgerSource, open_ledger
from provenance.verify.core import verify_path
from provenance.verify.policy import TrustPolicy
from provenance.verify.report import VerificationReport
from provenance.vocab import Verdict

if TYPE_CHECKING:
    from ledger import Ledger

# Each worker imports the library (~1 s) before its first file; below this many files (~5 ms
# each) a pool costs more than it saves. Threads do not help: the Python side holds the GIL.
POOL_THRESHOLD = 64
# Each file gets this long (c2pa reads a hostile 333 KB file in 0.14 s; ours takes ~5 ms): past
# it the file's verdict is `error` and the batch carries on.
BUDGET_S = 60.0


class BudgetExceeded(BaseException):
    """Raised by the timer inside a file's verification; a BaseException so that the verifier's
    catch-all for hostile input (``except Exception``) does not swallow it."""


@contextlib.contextmanager
def _budget(seconds: float | None) -> Iterator[None]:
    """Interrupt the Python side of one file's verification after ``seconds`` (main thread only:
    a timer signal; native c2pa calls finish first, and they are bounded by c2pa)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: object) -> None:
        raise BudgetExceeded

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def expand_inputs(
    args: Iterable[str], *, skipped: list[str] | None = None
) -> Iterator[tuple[str, str | None]]:
    """Files, directories (recursive, symlink loops broken) and globs -> (path, problem or None).

    Inside a directory, files that are not media (``.DS_Store``, ``README.txt``) are left out
    and, with ``skipped``, listed there; a file named on its own is always verified.
    """
    for arg in args:
        matches = sorted(glob.glob(arg, recursive=True)) if glob.has_magic(arg) else [arg]
        if not matches:
            yield arg, "no file matches this pattern"
        for m in matches:
            p = Path(m)
            if p.is_dir():
                for path, problem in _walk(p):
                    # only plain files: a socket or FIFO in the way is still reported
                    if problem is None and os.path.isfile(path) and not is_media_name(path):
                        if skipped is not None:
                            skipped.append(path)
                        continue
                    yield path, problem
            elif not p.exists() and not p.is_symlink():
                yield m, "no such file"
            elif not p.exists():
                yield m, "broken or looping symbolic link"
            else:
                yield m, None


# Formats that can carry credentials and that Python's mimetypes does not know.
_RAW_EXTENSIONS = frozenset({".dng", ".arw", ".nef", ".cr2", ".cr3", ".heif", ".c2pa", ".jxl"})


def is_media_name(path: str) -> bool:
    """Whether a file's name says it may carry content credentials (image, video, audio, PDF)."""
    name = os.path.basename(path)
    if name.startswith("."):
        return False
    if os.path.splitext(name)[1].lower() in _RAW_EXTENSIONS:
        return True
    guessed, _ = mimetypes.guess_type(name)
    return guessed is not None and (
        guessed.split("/")[0] in ("image", "video", "audio", "font") or guessed == "application/pdf"
    )


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
    budget_s: float | None = BUDGET_S,
) -> Iterator[VerificationReport]:
    """Reports for ``items`` (from :func:`expand_inputs`), in order; never raises for a file.

    A file whose verification runs past ``budget_s`` seconds gets verdict ``error``.
    """
    todo = list(items)
    cores = workers if workers is not None else (os.cpu_count() or 1)
    if cores > 1 and len(todo) >= POOL_THRESHOLD:
        yield from _pooled(todo, policy, ledger, thumbnails, cores, budget_s)
        return
    led = _open(ledger)
    try:
        for path, problem in todo:
            yield _one(path, problem, policy, led, ledger, thumbnails, budget_s)
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
    budget_s: float | None = None,
) -> VerificationReport:
    if problem is None:
        started = time.monotonic()
        try:
            with _budget(budget_s):
                report = verify_path(
                    path,
                    policy,
                    led,
                    log_verifier=source.log_verifier if source else None,
                    thumbnails=thumbnails,
                )
            # The timer's exception can be swallowed (raised inside a finaliser): check the clock.
            if not budget_s or time.monotonic() - started <= budget_s:
                return report
        except BudgetExceeded:
            pass
        problem = f"verification exceeded {budget_s:g} s (the file's budget); not checked"
    report = VerificationReport(path=path, verdict=Verdict.ERROR, reasons=[f"{path}: {problem}"])
    report.accepted = policy.accepts(report)
    return report


# --- worker processes -------------------------------------------------------------------------

_worker: dict[str, object] = {}


def _init(
    policy: TrustPolicy, source: LedgerSource | None, thumbnails: bool, budget_s: float | None
) -> None:
    _worker.update(
        policy=policy, source=source, thumbnails=thumbnails, ledger=_open(source), budget=budget_s
    )


def _work(item: tuple[str, str | None]) -> VerificationReport:
    policy, source = _worker["policy"], _worker["source"]
    led = cast("Ledger | None", _worker["ledger"])  # what _init opened
    assert isinstance(policy, TrustPolicy)
    assert source is None or isinstance(source, LedgerSource)
    budget = cast("float | None", _worker["budget"])
    return _one(item[0], item[1], policy, led, source, bool(_worker["thumbnails"]), budget)


def _pooled(
    todo: list[tuple[str, str | None]],
    policy: TrustPolicy,
    source: LedgerSource | None,
    thumbnails: bool,
    cores: int,
    budget_s: float | None,
) -> Iterator[VerificationReport]:
    import multiprocessing  # here: only a pool pays for it (~15 ms of start-up)
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: c2pa's native library and SQLAlchemy pools must not be shared by a fork.
    ctx = multiprocessing.get_context("spawn")
    n = min(cores, max(1, len(todo) // 4))
    chunk = max(1, min(32, len(todo) // (n * 8)))
    with ProcessPoolExecutor(
        n, mp_context=ctx, initializer=_init, initargs=(policy, source, thumbnails, budget_s)
    ) as pool:
        yield from pool.map(_work, todo, chunksize=chunk)
