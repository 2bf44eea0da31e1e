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
import mimetypes
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from provenance.home.ledger import LedgerSource, open_ledger
from provenance.verify.budgets import (
    BUDGET_S,
    MEMORY_BUDGET_MIB,
    Armed,
    BudgetExceeded,
    Budgets,
    Limits,
)
from provenance.verify.core import Deferred, finish_deferred, verify_path, verify_path_deferred
from provenance.verify.ledger_check import LOOK_UP, in_batch
from provenance.verify.policy import TrustPolicy
from provenance.verify.report import VerificationReport
from provenance.vocab import Verdict

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from ledger import Entry, Ledger

# A pool's workers take ~0.8 s to start (each imports the library, opens the ledger) before their
# first file; below this many files (~2 ms each in one process) a pool costs more than it saves.
# Measured on 2 cores (bench_verify.py, 2026-12-03): pooled against one process, 354 against 485
# files/s at 500 files, 435 against 494 at 750, 512 against 485 at 1,000. Threads do not help:
# the Python side holds the GIL.
POOL_THRESHOLD = 1000


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
    memory_budget_mib: int | None = MEMORY_BUDGET_MIB,
    pool_threshold: int = POOL_THRESHOLD,
) -> Iterator[VerificationReport]:
    """Reports for ``items`` (from :func:`expand_inputs`), in order; never raises for a file.

    A file whose verification runs past ``budget_s`` seconds, or needs more than
    ``memory_budget_mib`` MiB, gets verdict ``error``. With ``pool_threshold`` files or more
    (and more than one worker), files are verified in worker processes; one that a file kills
    is replaced and the batch carries on.
    """
    todo = list(items)
    cores = workers if workers is not None else (os.cpu_count() or 1)
    budgets = Budgets(budget_s, memory_budget_mib)
    if cores > 1 and len(todo) >= pool_threshold:
        yield from _pooled(todo, policy, ledger, thumbnails, cores, budgets)
        return
    led = _open(ledger)
    try:
        for at in range(0, len(todo), GROUP):
            group = todo[at : at + GROUP]
            if led is None or ledger is None:
                with Armed(budgets.seconds):
                    reports = [
                        _one(p, why, policy, None, None, thumbnails, budgets) for p, why in group
                    ]
                yield from reports
            else:
                yield from _grouped(group, policy, led, ledger, thumbnails, budgets)
    finally:
        if led is not None:
            led.close()


def _open(source: LedgerSource | None) -> Ledger | None:
    """The batch's own read-only ledger: its checkpoints' checks are made once per batch."""
    if source is None:
        return None
    led = open_ledger(source, read_only=True, checkpoint_every=None)
    in_batch(led)
    return led


def _one(
    path: str,
    problem: str | None,
    policy: TrustPolicy,
    led: Ledger | None,
    source: LedgerSource | None,
    thumbnails: bool,
    budgets: Budgets | None = None,
) -> VerificationReport:
    log_verifier = source.log_verifier if source else None
    got, _ = _budgeted(
        path,
        problem,
        policy,
        budgets or Budgets(None, None),
        lambda: verify_path(path, policy, led, log_verifier=log_verifier, thumbnails=thumbnails),
    )
    assert isinstance(got, VerificationReport)
    return got


def _budgeted(
    path: str,
    problem: str | None,
    policy: TrustPolicy,
    budgets: Budgets,
    run: Callable[[], VerificationReport | Deferred],
) -> tuple[VerificationReport | Deferred, float]:
    """``run()`` (a file's verification) under the file's budgets: what it returned and the
    seconds it took, or the file's `error` report (its ``problem``, or a budget it ran past)."""
    if problem is None:
        started = time.monotonic()
        try:
            with Limits(budgets.seconds, budgets.mib):
                got = run()
            # The timer's exception can be swallowed (raised inside a finaliser): check the clock.
            took = time.monotonic() - started
            if not budgets.seconds or took <= budgets.seconds:
                return got, took
            problem = _over_time(budgets)
        except BudgetExceeded:
            problem = _over_time(budgets)
        except MemoryError:
            problem = _over_memory(budgets)
    return error_report(path, problem, policy), 0.0


# Files whose ledger checks are made together: each file is verified up to its ledger check,
# then the group's hashes are looked up in one query and the checks run back to back. One file's
# check run between two c2pa reads cost ~0.11 ms (c2pa's read had just evicted the caches the
# Python and SQLite code runs from); run together they cost about half. The reports are the
# same, and come out in order, a group at a time.
GROUP = 32


def _grouped(
    todo: list[tuple[str, str | None]],
    policy: TrustPolicy,
    led: Ledger,
    source: LedgerSource,
    thumbnails: bool,
    budgets: Budgets,
) -> Iterator[VerificationReport]:
    with Armed(budgets.seconds):
        firsts = [
            _first(path, problem, policy, led, source, thumbnails, budgets)
            for path, problem in todo
        ]
    digests = [got.report.sha256 or "" for got, _ in firsts if isinstance(got, Deferred)]
    try:
        found = led.find_by_outputs(digests) if digests else {}
    except Exception:  # each file asks again on its own, and fails (or not) as it would alone
        found = None
    for got, took in firsts:
        if isinstance(got, Deferred):
            got = _second(got, took, found, policy, led, source, budgets)
        yield got


def _first(
    path: str,
    problem: str | None,
    policy: TrustPolicy,
    led: Ledger,
    source: LedgerSource,
    thumbnails: bool,
    budgets: Budgets,
) -> tuple[VerificationReport | Deferred, float]:
    """:func:`_one` up to the file's ledger check: the report or what is left of the file, and
    the seconds of its budget spent."""
    return _budgeted(
        path,
        problem,
        policy,
        budgets,
        lambda: verify_path_deferred(
            path, policy, led, log_verifier=source.log_verifier, thumbnails=thumbnails
        ),
    )


def _second(
    pending: Deferred,
    took: float,
    found: dict[str, list[Entry]] | None,
    policy: TrustPolicy,
    led: Ledger,
    source: LedgerSource,
    budgets: Budgets,
) -> VerificationReport:
    """The file's ledger check. Not under the timer and address-space cap (installing them
    again cost ~10 us a file): what it does depends on the ledger, not on the file's contents,
    which are only its hash and the entry id its manifest names. The clock still counts: a
    file whose two parts together ran past its budget is `error`, as it would be alone."""
    path, digest = pending.report.path, (pending.report.sha256 or "").lower()
    hits = found.get(digest) if found is not None else None
    producer: Any = LOOK_UP if found is None else hits[-1] if hits else None
    started = time.monotonic()
    try:
        report = finish_deferred(
            pending, policy, led, log_verifier=source.log_verifier, producer=producer
        )
    except MemoryError:
        return error_report(path, _over_memory(budgets), policy)
    if not budgets.seconds or took + time.monotonic() - started <= budgets.seconds:
        return report
    return error_report(path, _over_time(budgets), policy)


def _over_time(budgets: Budgets) -> str:
    return f"verification exceeded {budgets.seconds:g} s (the file's budget); not checked"


def _over_memory(budgets: Budgets) -> str:
    return f"verification exceeded {budgets.mib} MiB (the file's budget); not checked"


def error_report(path: str, problem: str, policy: TrustPolicy) -> VerificationReport:
    report = VerificationReport(path=path, verdict=Verdict.ERROR, reasons=[f"{path}: {problem}"])
    report.accepted = policy.accepts(report)
    return report


# --- worker processes -------------------------------------------------------------------------

_worker: dict[str, object] = {}


def _init(
    policy: TrustPolicy, source: LedgerSource | None, thumbnails: bool, budgets: Budgets
) -> None:
    _worker.update(
        policy=policy, source=source, thumbnails=thumbnails, ledger=_open(source), budget=budgets
    )


def _work(item: tuple[str, str | None]) -> VerificationReport:
    policy, source = _worker["policy"], _worker["source"]
    led = cast("Ledger | None", _worker["ledger"])  # what _init opened
    assert isinstance(policy, TrustPolicy)
    assert source is None or isinstance(source, LedgerSource)
    budgets = cast("Budgets", _worker["budget"])
    return _one(item[0], item[1], policy, led, source, bool(_worker["thumbnails"]), budgets)


def _pooled(
    todo: list[tuple[str, str | None]],
    policy: TrustPolicy,
    source: LedgerSource | None,
    thumbnails: bool,
    cores: int,
    budgets: Budgets,
) -> Iterator[VerificationReport]:
    """Reports in order. A worker that dies (a native allocation past the memory budget aborts
    it) breaks the pool: the first unfinished file is then verified alone in a fresh worker,
    where dying marks it `error`, and the rest go on in a new pool."""
    from concurrent.futures.process import BrokenProcessPool

    at = 0
    while at < len(todo):
        n = min(cores, max(1, (len(todo) - at) // 4))
        chunk = max(1, min(32, (len(todo) - at) // (n * 8)))
        try:
            with _pool(n, policy, source, thumbnails, budgets) as pool:
                for report in pool.map(_work, todo[at:], chunksize=chunk):
                    yield report
                    at += 1
        except BrokenProcessPool:
            try:
                with _pool(1, policy, source, thumbnails, budgets) as alone:
                    report = alone.submit(_work, todo[at]).result()
            except BrokenProcessPool:
                report = error_report(
                    todo[at][0],
                    f"verification exceeded {budgets.mib} MiB (the file's budget) and ended "
                    "its worker process; not checked",
                    policy,
                )
            yield report
            at += 1


def _pool(
    n: int, policy: TrustPolicy, source: LedgerSource | None, thumbnails: bool, budgets: Budgets
) -> ProcessPoolExecutor:
    import multiprocessing  # here: only a pool pays for it (~15 ms of start-up)
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: c2pa's native library and SQLAlchemy pools must not be shared by a fork.
    ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        n, mp_context=ctx, initializer=_init, initargs=(policy, source, thumbnails, budgets)
    )
