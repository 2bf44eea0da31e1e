"""Issue 13: `doctor` never deletes a live writer's temp file, even from another PID namespace.

A writer holds an flock on its temp file while it lives; names carry host and boot identity; the
doctor touches only files whose lock is free and that are older than a minimum age. Before the
fix the doctor judged by a local PID lookup alone, so each `in_use` case below was deleted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.record.doctor import run_doctor
from provenance.record.tempfiles import TempFileVanishedError, place, write_temp

DEAD_PID = 2**22 + 12345  # above Linux's default pid_max: no process here has it
HOLD = (
    "import fcntl, os, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('locked', flush=True)\n"
    "time.sleep(60)\n"
)


@dataclass(frozen=True)
class Case:
    name: str
    filename: str  # temp name beside dest "x.png"
    locked: bool  # a live writer (another process, maybe another namespace) holds the lock
    age: float  # seconds since last write
    status: str
    kept: bool


CASES = [
    # another container: its PID means nothing here, but its writer holds the lock
    Case(
        "foreign host, live lock",
        f".x.png.provenance-tmp-otherbox-0123abcd-{DEAD_PID}-0badc0de",
        True,
        3600,
        "in_use",
        True,
    ),
    # the same, with a legacy name (PID only) that names no local process
    Case(
        "legacy name, live lock",
        f".x.png.provenance-tmp-{DEAD_PID}-0badc0de",
        True,
        3600,
        "in_use",
        True,
    ),
    # a writer between creating and locking its file: too young to judge
    Case(
        "young, unlocked",
        f".x.png.provenance-tmp-otherbox-0123abcd-{DEAD_PID}-0badc0de",
        False,
        0,
        "in_use",
        True,
    ),
    # an old file nobody holds: really abandoned, removed as garbage
    Case(
        "old, unlocked",
        f".x.png.provenance-tmp-otherbox-0123abcd-{DEAD_PID}-0badc0de",
        False,
        3600,
        "garbage",
        False,
    ),
]


@pytest.fixture
def holder() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        p.kill()
        p.wait()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_doctor_leaves_live_or_young_temp_files_alone(
    case: Case, home: Home, workdir: Path, holder: list[subprocess.Popen[str]]
) -> None:
    tmp = workdir / case.filename
    tmp.write_bytes(b"an output in flight")
    old = time.time() - case.age
    os.utime(tmp, (old, old))
    if case.locked:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(tmp)], stdout=subprocess.PIPE, text=True
        )
        holder.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    with open_ledger(home, read_only=True) as ledger:
        report = run_doctor([workdir], ledger, audit=False)
    assert [i.status for i in report.leftovers] == [case.status]
    assert tmp.exists() is case.kept


def test_own_temp_file_is_locked_while_the_writer_lives(home: Home, workdir: Path) -> None:
    tmp = write_temp(workdir / "y.png", b"signed bytes")
    old = time.time() - 3600
    os.utime(tmp, (old, old))
    with open_ledger(home, read_only=True) as ledger:
        report = run_doctor([workdir], ledger, audit=False, min_age=0)
    assert [i.status for i in report.leftovers] == ["in_use"] and tmp.exists()
    place(tmp, workdir / "y.png", overwrite=False)
    assert (workdir / "y.png").read_bytes() == b"signed bytes"


def test_a_vanished_temp_file_fails_clearly_and_is_reported(home: Home, workdir: Path) -> None:
    dest = workdir / "z.png"
    tmp = write_temp(dest, b"signed bytes")
    tmp.unlink()  # what an over-eager doctor in another container did
    with pytest.raises(TempFileVanishedError, match=r"entry e-123.*provenance doctor"):
        place(tmp, dest, overwrite=False, entry_id="e-123")
    with open_ledger(home, read_only=True) as ledger:
        report = run_doctor([workdir], ledger, audit=False)
    assert [(i.status, i.entry_id) for i in report.leftovers] == [("lost", "e-123")]
    assert not report.ok
