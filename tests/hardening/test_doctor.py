"""`provenance doctor` on the states an interrupted recording leaves, built from real recordings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.cli import main
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.record.doctor import run_doctor
from provenance.record.recorder import Recorder

DEAD_PID = 2**22 + 12345  # above Linux's default pid_max: no process has it


def _temp_name(dest: Path, rand: str = "0badc0de") -> Path:
    return dest.with_name(f".{dest.name}.provenance-tmp-{DEAD_PID}-{rand}")


def _age(*paths: Path) -> None:
    """Make leftovers older than the doctor's minimum age (a crash some time ago)."""
    import os
    import time

    for p in paths:
        old = time.time() - 3600
        os.utime(p, (old, old))


def _record(home: Home, dest: Path) -> str:
    with Recorder(home) as rec:
        [out] = rec.generate("A red circle", dest, size="64x64")
    return out.sha256


def test_committed_but_not_renamed_is_rolled_forward(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = workdir / "a.png"
    digest = _record(home, dest)
    tmp = _temp_name(dest)
    dest.rename(tmp)  # exactly what a kill after the ledger append and before the rename leaves
    _age(tmp)
    assert main(["doctor", str(workdir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"restore": 1}
    assert report["leftovers"][0]["action"] == "restored"
    assert report["audit"]["ok"] is True
    assert dest.exists() and not tmp.exists()
    from provenance.media.hashing import sha256_bytes

    assert sha256_bytes(dest.read_bytes()) == digest


def test_unrecorded_temp_is_garbage_and_a_copy_is_removed(home: Home, workdir: Path) -> None:
    dest = workdir / "b.png"
    _record(home, dest)
    garbage = _temp_name(workdir / "c.png")
    garbage.write_bytes(dest.read_bytes()[:100])  # killed while writing: never appended
    copy = _temp_name(dest, "12345678")
    copy.write_bytes(dest.read_bytes())  # killed after the link, before the temp was removed
    _age(garbage, copy)
    with open_ledger(home, read_only=True) as ledger:
        dry = run_doctor([workdir], ledger, fix=False)
        assert sorted(i.status for i in dry.leftovers) == ["duplicate", "garbage"]
        assert not dry.ok and garbage.exists()
        fixed = run_doctor([workdir], ledger)
    assert fixed.ok
    assert not garbage.exists() and not copy.exists() and dest.exists()


def test_conflict_is_kept_and_reported(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = workdir / "d.png"
    _record(home, dest)
    tmp = _temp_name(dest)
    dest.rename(tmp)
    _age(tmp)
    dest.write_bytes(b"someone else's file")
    assert main(["doctor", str(workdir)]) == 1
    out = capsys.readouterr().out
    assert "conflict" in out and str(tmp) in out
    assert tmp.exists() and dest.read_bytes() == b"someone else's file"


def test_temp_of_a_live_process_is_left_alone(home: Home, workdir: Path) -> None:
    import os

    live = workdir / f".e.png.provenance-tmp-{os.getppid()}-abcdef01"
    live.write_bytes(b"in flight")
    _age(live)  # old, but its (legacy-named) writer is alive on this host
    with open_ledger(home, read_only=True) as ledger:
        report = run_doctor([workdir], ledger)
    assert [i.status for i in report.leftovers] == ["in_use"] and live.exists() and report.ok
