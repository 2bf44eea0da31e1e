"""Issue 13: no write follows a planted symlink; every file is created new (no-follow, exclusive).

Each case plants a symlink at a name the command used to open for writing (the old, predictable
temp names and sidecars) pointing at a victim file, runs the command, and checks the victim is
untouched. On the code before the fix every case overwrote the victim.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from provenance.cli import main
from provenance.errors import InputError
from provenance.fileio import write_atomic, write_new
from provenance.home.files import write_private
from provenance.home.paths import Home
from provenance.record.recorder import Recorder

VICTIM = b"the victim's own bytes\n"


@dataclass(frozen=True)
class Case:
    name: str
    argv: Callable[[Path, Path], list[str]]  # (recorded image, out path) -> argv
    link_at: Callable[[Path], Path]  # out path -> where the insider plants a link
    out_name: str


CASES = [
    Case(
        "report -o checkpoint sidecar",
        lambda img, out: ["report", "--since", "2000-01-01", "--format", "csv", "-o", str(out)],
        lambda out: Path(f"{out}.checkpoint"),
        "audit.csv",
    ),
    Case(
        "report -o temp file",
        lambda img, out: ["report", "--since", "2000-01-01", "--format", "json", "-o", str(out)],
        lambda out: out.with_name(f".{out.name}.tmp-{os.getpid()}"),
        "audit.json",
    ),
    Case(
        "verify --html temp file",
        lambda img, out: ["verify", str(img), "--html", str(out)],
        lambda out: out.with_name(f".{out.name}.tmp"),
        "report.html",
    ),
    Case(
        "ledger receipt temp file",
        lambda img, out: ["ledger", "receipt", str(img), "-o", str(out)],
        lambda out: out.with_name(out.name + ".tmp"),
        "img.tlog-proof",
    ),
    Case(
        "ledger export -o itself",
        lambda img, out: ["ledger", "export", "-o", str(out)],
        lambda out: out,
        "ledger.jsonl",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_planted_symlink_is_never_written_through(
    case: Case, home: Home, workdir: Path, tmp_path: Path
) -> None:
    with Recorder(home) as rec:
        [out] = rec.generate("A red circle", workdir / "img.png", size="64x64")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(VICTIM)
    dest = workdir / case.out_name
    case.link_at(dest).symlink_to(victim)
    main(case.argv(out.path, dest))  # it may refuse or succeed; it must not write the victim
    assert victim.read_bytes() == VICTIM


def test_home_secret_write_ignores_a_planted_temp_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(VICTIM)
    key = tmp_path / "home" / "identity" / "signer.key.pem"
    key.parent.mkdir(parents=True)
    key.with_name(f".{key.name}.tmp-{os.getpid()}").symlink_to(victim)  # the old temp name
    write_private(key, b"secret")
    assert victim.read_bytes() == VICTIM and key.read_bytes() == b"secret"
    assert key.stat().st_mode & 0o777 == 0o600 and not key.is_symlink()


@pytest.mark.parametrize("planted", ["symlink", "dangling symlink", "file"])
def test_create_new_never_opens_an_existing_path(tmp_path: Path, planted: str) -> None:
    target = tmp_path / "target"
    path = tmp_path / "new"
    if planted == "file":
        path.write_bytes(VICTIM)
    else:
        if planted == "symlink":
            target.write_bytes(VICTIM)
        path.symlink_to(target)
    with pytest.raises(InputError, match="already exists"):
        write_new(path, b"x")
    assert not target.exists() or target.read_bytes() == VICTIM


def test_atomic_replace_replaces_a_link_not_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(VICTIM)
    dest = tmp_path / "dest"
    dest.symlink_to(target)
    write_atomic(dest, b"new", mode=0o644)
    assert target.read_bytes() == VICTIM
    assert not dest.is_symlink() and dest.read_bytes() == b"new"
    with pytest.raises(InputError, match="already exists"):
        write_atomic(dest, b"newer", overwrite=False)
    assert dest.read_bytes() == b"new"
