"""Issue 2: every bad input gets a one-line error naming the thing, exit 2, and changes nothing."""

from __future__ import annotations

import sqlite3
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from PIL import Image

from provenance.cli import main
from provenance.home.paths import Home
from tests.conftest import files_in


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims a huge canvas (a decompression bomb) with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


class Case(NamedTuple):
    name: str
    setup: Callable[[Path], list[str]]  # builds files in the work dir, returns the CLI argv
    expect: str  # a fragment of the one-line message


def _photo(work: Path, name: str = "in.png", size: tuple[int, int] = (64, 48)) -> Path:
    p = work / name
    Image.new("RGB", size, "orange").save(p)
    return p


def _truncated(work: Path) -> list[str]:
    p = _photo(work, "t.png", (256, 256))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return ["edit", str(p), "-i", "grayscale", "-o", str(work / "out.png")]


def _not_image(work: Path) -> list[str]:
    p = work / "notes.png"
    p.write_text("this is not an image\n")
    return ["edit", str(p), "-i", "grayscale", "-o", str(work / "out.png")]


def _bomb(work: Path) -> list[str]:
    p = work / "bomb.png"
    _png_header_only(p, 100_000, 100_000)
    return ["edit", str(p), "-i", "grayscale", "-o", str(work / "out.png")]


def _wrong_mask(work: Path) -> list[str]:
    p = _photo(work)
    m = work / "mask.png"
    Image.new("L", (10, 10), 255).save(m)
    return ["edit", str(p), "-i", "redact", "--mask", str(m), "-o", str(work / "out.png")]


def _existing_output(work: Path) -> list[str]:
    p = _photo(work)
    out = _photo(work, "out.png")
    return ["edit", str(p), "-i", "grayscale", "-o", str(out)]


CASES = [
    Case(
        "missing input",
        lambda w: ["edit", str(w / "nope.png"), "-i", "grayscale", "-o", str(w / "out.png")],
        "nope.png: no such file",
    ),
    Case(
        "directory as input",
        lambda w: ["edit", str(w), "-i", "grayscale", "-o", str(w / "o.png")],
        "is a directory",
    ),
    Case("not an image", _not_image, "notes.png"),
    Case("truncated image", _truncated, "t.png"),
    Case("decompression bomb", _bomb, "bomb.png"),
    Case(
        "unknown instruction",
        lambda w: ["edit", str(_photo(w)), "-i", "sparkle 3", "-o", str(w / "out.png")],
        "sparkle",
    ),
    Case("mask of the wrong size", _wrong_mask, "mask.png"),
    Case(
        "output in a missing directory",
        lambda w: ["generate", "a red circle", "-o", str(w / "missing" / "o.png")],
        "does not exist",
    ),
    Case("existing output without --force", _existing_output, "already exists"),
    Case(
        "unsupported output format",
        lambda w: ["generate", "a red circle", "-o", str(w / "o.tiff")],
        "o.tiff",
    ),
    Case(
        "output format the local engine does not make",
        lambda w: ["generate", "a red circle", "-o", str(w / "o.gif")],
        "output format 'gif'",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_changes_nothing(
    case: Case, home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = case.setup(workdir)
    before_files = {p: p.read_bytes() for p in workdir.rglob("*") if p.is_file()}
    size_before = _ledger_size(home)
    code = main(argv)
    _out, err = capsys.readouterr()
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("provenance: error: ")
    assert case.expect in lines[0]
    assert "Traceback" not in err
    assert {p: p.read_bytes() for p in workdir.rglob("*") if p.is_file()} == before_files
    assert _ledger_size(home) == size_before


def _ledger_size(home: Home) -> int:
    with sqlite3.connect(home.ledger_db) as db:
        return int(db.execute("SELECT count(*) FROM ledger_entry").fetchone()[0])


def test_no_identity_says_run_init(
    workdir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PROVENANCE_HOME", str(tmp_path / "empty-home"))
    code = main(["generate", "a red circle", "-o", str(workdir / "o.png")])
    err = capsys.readouterr().err
    assert code == 2
    assert "provenance init" in err
    assert files_in(workdir) == []


def test_ledger_that_cannot_be_opened(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(home.ledger_db) + suffix).unlink(missing_ok=True)
    home.ledger_db.write_bytes(b"this is not a database" * 100)
    code = main(["generate", "a red circle", "-o", str(workdir / "o.png")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "ledger" in err.lower()
    assert files_in(workdir) == []


def test_init_refuses_to_overwrite_identity(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    before = home.signer_key.read_bytes()
    assert main(["init"]) == 2
    assert "--force" in capsys.readouterr().err
    assert home.signer_key.read_bytes() == before
    assert main(["init", "--force"]) == 0
    assert home.signer_key.read_bytes() != before


def test_signer_key_mode_is_0600(home: Home) -> None:
    assert home.signer_key.stat().st_mode & 0o777 == 0o600
    assert home.log_key.stat().st_mode & 0o777 == 0o600


def test_init_against_an_unusable_ledger_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "not-a-dir"
    target.write_text("a file where the ledger's folder should be")
    monkeypatch.setenv("PROVENANCE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PROVENANCE_LEDGER_URL", f"sqlite:///{target}/ledger.db")
    code = main(["init"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "home" / "identity").exists()
    assert not (tmp_path / "home" / "ledger").exists()
