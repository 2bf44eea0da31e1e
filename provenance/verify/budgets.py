"""What one file of a batch may take: seconds of verification (a timer signal) and address
space (RLIMIT_AS, Linux), past which its verdict is `error` and the batch carries on."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from typing import Any

# Each file gets this long (c2pa reads a hostile 333 KB file in 0.14 s; ours takes ~5 ms): past
# it the file's verdict is `error` and the batch carries on.
BUDGET_S = 60.0
# ... and this much more address space than its process held before it (RLIMIT_AS, Linux): past
# it an allocation fails, the file's verdict is `error`; a worker that dies of it is replaced.
MEMORY_BUDGET_MIB = 2048


class BudgetExceeded(BaseException):
    """Raised by the timer inside a file's verification; a BaseException so that the verifier's
    catch-all for hostile input (``except Exception``) does not swallow it."""


def _fire(signum: int, frame: object) -> None:
    if not _Native.timing:  # between two files of an armed group: no file's time is counted
        return
    if _Native.depth:  # inside c2pa-python: raised when its call returns (see native_call)
        _Native.fired = True
        return
    raise BudgetExceeded


class _Native:
    """While c2pa-python runs: the native library calls back into Python (the stream's read and
    seek) through ctypes, and the timer's exception raised inside such a callback is dropped by
    ctypes, which hands the native side a bogus result; a few reads later c2pa aborted the whole
    process (SIGABRT: no report, the batch gone). Inside it the timer only notes that it fired;
    the exception is raised as the call returns. c2pa's native work is bounded by c2pa itself."""

    depth = 0
    fired = False
    timing = False  # a file's timer runs (Limits)

    def __enter__(self) -> None:
        _Native.depth += 1

    def __exit__(self, *exc: object) -> None:
        _Native.depth -= 1
        if not _Native.depth and _Native.fired:
            _Native.fired = False
            raise BudgetExceeded


native_call = _Native()  # `with native_call: ...` around every c2pa-python call of a file


class Limits:
    """One file's budgets: the address space capped at what this process holds now plus ``mib``
    MiB (RLIMIT_AS, Linux), and a timer signal that interrupts the Python side of the file's
    verification after ``seconds`` (main thread only; native c2pa calls finish first, and they
    are bounded by c2pa). A class, not two generator context managers: ~30 -> ~10 us a file."""

    __slots__ = ("_alarm", "_cap", "_installed", "_timed", "mib", "seconds")

    def __init__(self, seconds: float | None, mib: int | None) -> None:
        self.seconds, self.mib = seconds, mib
        self._cap: tuple[int, int] | None = None
        self._timed = self._installed = False
        self._alarm: Any = None

    def __enter__(self) -> Limits:
        held = _held_bytes() if self.mib else 0
        if held and self.mib:
            import resource

            old = resource.getrlimit(resource.RLIMIT_AS)
            cap = held + self.mib * 1024 * 1024
            if old[1] != resource.RLIM_INFINITY:
                cap = min(cap, old[1])
            resource.setrlimit(resource.RLIMIT_AS, (cap, old[1]))
            self._cap = old
        self._timed = _timer_usable(self.seconds)
        if self._timed:
            _Native.fired, _Native.timing = False, True
            self._installed = not Armed.depth
            if self._installed:
                self._alarm = signal.signal(signal.SIGALRM, _fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds or 0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _Native.fired = _Native.timing = False
            if self._installed:
                signal.signal(signal.SIGALRM, self._alarm)
        if self._cap is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self._cap)


def _timer_usable(seconds: float | None) -> bool:
    """Whether a timer of ``seconds`` is set at all: signals reach the main thread only."""
    return bool(seconds) and threading.current_thread() is threading.main_thread()


class Armed:
    """The timer's handler installed once for a group of files (a batch's groups, never across
    a yield to the caller): each file's :class:`Limits` then only starts and stops the timer.
    Installing and restoring the handler for every file cost ~25 us, 1% of a small file."""

    depth = 0

    def __init__(self, seconds: float | None) -> None:
        self._on = _timer_usable(seconds)
        self._old: Any = None

    def __enter__(self) -> None:
        if self._on:
            self._old = signal.signal(signal.SIGALRM, _fire)
            Armed.depth += 1

    def __exit__(self, *exc: object) -> None:
        if self._on:
            Armed.depth -= 1
            signal.signal(signal.SIGALRM, self._old)


_statm: tuple[int, int] | None = None  # (pid, an open /proc/self/statm of that process)


def _held_bytes() -> int:
    """The address space this process holds (0 where /proc is not there), read through one kept
    descriptor: opening /proc/self/statm for every file cost ~10 us."""
    global _statm
    pid = os.getpid()
    try:
        if _statm is None or _statm[0] != pid:  # a forked child must read its own
            _statm = (pid, os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC))
        return int(os.pread(_statm[1], 128, 0).split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


@dataclass(frozen=True)
class Budgets:
    """What one file may take: seconds of verification, MiB of address space (None: no cap)."""

    seconds: float | None
    mib: int | None
