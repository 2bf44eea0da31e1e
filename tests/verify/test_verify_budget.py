"""Every file of a batch has a memory budget: past it the file is `error` and the batch carries on,
in this process (a failed allocation) and in worker processes (one that dies is replaced)."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from provenance.verify.batch import verify_many
from provenance.verify.policy import default_policy


def _bloated(src: Path, dest: Path, mib: int) -> None:
    """``src`` with a ``mib`` MiB text chunk after its header: real bytes that must be read."""
    data = src.read_bytes()
    junk = b"\0" * (mib * 1024 * 1024)
    chunk = struct.pack(">I", len(junk)) + b"teXt" + junk
    dest.write_bytes(data[:33] + chunk + struct.pack(">I", zlib.crc32(b"teXt" + junk)) + data[33:])


@pytest.mark.parametrize("pooled", [False, True])
def test_a_file_past_its_memory_budget_is_an_error_and_the_batch_carries_on(
    home: Home, workdir: Path, pooled: bool
) -> None:
    with Recorder(home) as rec:
        [out] = rec.generate("A blue square", workdir / "ok.png", size="64x64")
    big = workdir / "big.png"
    _bloated(Path(out.path), big, 96)
    items = [(out.path, None)] * 2 + [(str(big), None)] + [(out.path, None)] * 2
    # 64 MiB: the file's own bytes do not fit (a MemoryError); 112: they do, c2pa's copy does not
    # (its allocation fails and ends the worker, which is replaced).
    for mib in (64, 112) if pooled else (64,):
        reports = list(
            verify_many(
                items,
                default_policy(home),
                None,
                workers=2 if pooled else 1,
                memory_budget_mib=mib,
                pool_threshold=1,
            )
        )
        assert [r.verdict for r in reports] == ["trusted"] * 2 + ["error"] + ["trusted"] * 2
        assert f"verification exceeded {mib} MiB (the file's budget)" in reports[2].reasons[0]
        if mib == 112:
            assert "ended its worker process" in reports[2].reasons[0]
    # Without a budget the same file is read (and found altered: the chunk is not the signed one).
    [r] = verify_many([(str(big), None)], default_policy(home), None, memory_budget_mib=None)
    assert r.verdict == "invalid"


def _statm_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="Linux /proc only")
def test_the_budget_reads_what_this_process_holds_now_even_after_a_fork() -> None:
    """The kept /proc/self/statm descriptor is read afresh each time, and a forked child
    (its descriptor would describe the parent) opens its own."""
    from provenance.verify.budgets import _held_bytes

    before = _held_bytes()
    grown = bytearray(256 * 1024 * 1024)
    assert _held_bytes() >= before + len(grown)
    del grown
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: grow, and report whether the budget saw the child's own growth
        extra = bytearray(512 * 1024 * 1024)
        ok = abs(_held_bytes() - _statm_now()) < 64 * 1024 * 1024 and len(extra) > 0
        os.write(w, b"1" if ok else b"0")
        os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"1"
    os.waitpid(pid, 0)
    os.close(r)


def test_an_armed_group_times_only_its_files_and_gives_the_handler_back() -> None:
    """A batch installs its timer's handler once for a group of files (verify/budgets.Armed):
    an alarm between two files is no file's, and the caller's own handler is back afterwards."""
    import signal

    from provenance.verify.budgets import Armed, BudgetExceeded, Limits

    heard: list[int] = []
    mine = signal.signal(signal.SIGALRM, lambda signum, frame: heard.append(signum))
    try:
        callers = signal.getsignal(signal.SIGALRM)
        with Armed(5.0):
            with Limits(5.0, None):
                pass
            signal.raise_signal(signal.SIGALRM)  # between two files: ignored, not raised
            with pytest.raises(BudgetExceeded), Limits(5.0, None):
                signal.raise_signal(signal.SIGALRM)  # inside a file: its budget is spent
            with Limits(5.0, None):  # the next file starts with its own full budget
                pass
        assert signal.getsignal(signal.SIGALRM) is callers and heard == []
        signal.raise_signal(signal.SIGALRM)
        assert heard == [signal.SIGALRM]  # the caller's handler, as before the group
        with pytest.raises(BudgetExceeded), Limits(5.0, None):  # not armed: Limits installs it
            signal.raise_signal(signal.SIGALRM)
        assert signal.getsignal(signal.SIGALRM) is callers
    finally:
        signal.signal(signal.SIGALRM, mine)


def test_a_batch_never_leaves_its_handler_in_force_while_the_caller_runs(
    home: Home, workdir: Path
) -> None:
    import signal

    with Recorder(home) as rec:
        [out] = rec.generate("A blue square", workdir / "ok.png", size="64x64")
    callers = signal.getsignal(signal.SIGALRM)
    seen = []
    for report in verify_many([(out.path, None)] * 40, default_policy(home), None, workers=1):
        seen.append(signal.getsignal(signal.SIGALRM))  # the caller's code runs here
        assert report.verdict == "trusted"
    assert len(seen) == 40 and all(h is callers for h in seen)
