"""Bad input to `verify`: every file gets verdict error with a reason naming it, the batch
carries on, and exit 2 only when nothing could be read at all."""

from __future__ import annotations

import os
import socket
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from provenance.home.paths import Home
from tests.conftest import reports, run
from tests.verify.conftest import record


class Case(NamedTuple):
    name: str
    make: Callable[[Path, Path], Path]  # (signed png, workdir) -> bad file
    says: str  # part of the reason


def _truncated(signed: Path, work: Path) -> Path:
    data = signed.read_bytes()
    (out := work / "truncated.png").write_bytes(data[: len(data) * 2 // 3])
    return out


def _garbage_after(signed: Path, work: Path) -> Path:
    (out := work / "garbage.png").write_bytes(signed.read_bytes() + b"GARBAGE" * 100)
    return out


def _corrupt_manifest(signed: Path, work: Path) -> Path:
    data = bytearray(signed.read_bytes())
    at = data.index(b"caBX") + 4
    for i in range(at + 8, at + 200):  # smash the JUMBF box headers, keep the chunk length
        data[i] = 0xA5
    (out := work / "corrupt-manifest.png").write_bytes(bytes(data))
    return out


def _oversized_manifest(signed: Path, work: Path) -> Path:
    data = signed.read_bytes()
    body = b"\x00" * (17 * 1024 * 1024)
    chunk = (
        struct.pack(">I", len(body))
        + b"caBX"
        + body
        + struct.pack(">I", zlib.crc32(b"caBX" + body))
    )
    (out := work / "oversized.png").write_bytes(data[:33] + chunk + data[33:])
    return out


def _zero(signed: Path, work: Path) -> Path:
    (out := work / "empty.jpg").write_bytes(b"")
    return out


def _text(signed: Path, work: Path) -> Path:
    (out := work / "notes.txt").write_text("not a picture\n")
    return out


def _ttf(signed: Path, work: Path) -> Path:
    (out := work / "font.ttf").write_bytes(b"\x00\x01\x00\x00" + b"\x00" * 200)
    return out


def _fifo(signed: Path, work: Path) -> Path:
    os.mkfifo(out := work / "pipe.png")
    return out


def _loop(signed: Path, work: Path) -> Path:
    (work / "loop-b.png").symlink_to(work / "loop-a.png")
    (out := work / "loop-a.png").symlink_to(work / "loop-b.png")
    return out


CASES = [
    Case("truncated", _truncated, "truncated PNG"),
    Case("garbage after the image", _garbage_after, "unexpected data after the end"),
    Case("corrupt manifest", _corrupt_manifest, "content credentials are corrupt"),
    Case("oversized manifest", _oversized_manifest, "above the limit"),
    Case("zero bytes", _zero, "empty file"),
    Case("text file", _text, "format not supported"),
    Case("unsupported format", _ttf, "format not supported"),
    Case("fifo", _fifo, "not a regular file"),
    Case("symlink loop", _loop, "looping symbolic link"),
]


@pytest.fixture
def signed(home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = workdir / "good.png"
    record(capsys, "generate", "A red circle on a white background", "-o", str(out))
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_file_gets_error_and_batch_carries_on(
    case: Case, signed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = case.make(signed, bad_dir)
    code, out, err = run(capsys, "verify", "--json", str(bad), str(signed))
    bad_r, good_r = reports(out)
    assert bad_r["verdict"] == "error", bad_r["reasons"]
    assert case.says in bad_r["reasons"][0] and bad.name in bad_r["reasons"][0]
    assert good_r["verdict"] == "trusted"
    assert code == 1  # one file could be read, so not a usage error
    assert "Traceback" not in err
    # alone, nothing could be read: exit 2
    code, out, _ = run(capsys, "verify", "--json", str(bad))
    assert code == 2 and reports(out)[0]["verdict"] == "error"


def test_directory_with_unreadable_entries_and_loops(
    signed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path / "incoming"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "copy.png").write_bytes(signed.read_bytes())
    (d / "sub" / "back").symlink_to(d, target_is_directory=True)  # a directory loop
    (d / "dangling.png").symlink_to(d / "nowhere.png")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "a.sock"))  # a socket: no bytes to read, even for root
    try:
        code, out, _ = run(capsys, "verify", "--json", str(d))
    finally:
        sock.close()
    by_name = {Path(r["path"]).name: r for r in reports(out)}
    assert by_name["copy.png"]["verdict"] == "trusted"
    assert by_name["dangling.png"]["verdict"] == "error"
    assert by_name["a.sock"]["verdict"] == "error"
    assert sum(1 for r in reports(out) if Path(r["path"]).name == "copy.png") == 1
    assert code == 1


def test_missing_file_and_empty_glob(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(
        capsys, "verify", "--json", str(tmp_path / "nope.jpg"), str(tmp_path / "*.none")
    )
    rs = reports(out)
    assert code == 2
    assert [r["verdict"] for r in rs] == ["error", "error"]
    assert "no such file" in rs[0]["reasons"][0]
    assert "no file matches" in rs[1]["reasons"][0]


def test_bad_trust_bundle_is_a_usage_error(
    tmp_path: Path, signed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "anchors.pem"
    bundle.write_text("not a certificate\n")
    code, out, err = run(capsys, "verify", "--trust", str(bundle), str(signed))
    assert code == 2 and out == ""
    assert "anchors.pem: not a PEM certificate bundle" in err


def test_a_file_is_read_whole_whatever_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify_path's read: one read for a file as large as it was when classified, more for
    one that grew since (here: larger than the first read asks for), nothing for an empty one."""
    from provenance.verify.core import _read_regular

    for size in (0, 1, 4096, 3 * (1 << 20) + 7):
        f = tmp_path / f"f{size}"
        data = os.urandom(size)
        f.write_bytes(data)
        assert _read_regular(str(f)) == data
    grown = tmp_path / "grown"
    grown.write_bytes(b"a" * 10)
    real_stat = os.stat

    def stat_then_grow(name: str) -> os.stat_result:
        st = real_stat(name)
        with open(name, "ab") as out:  # the file grows between its stat and its read
            out.write(b"b" * (2 << 20))
        return st

    monkeypatch.setattr(os, "stat", stat_then_grow)
    assert _read_regular(str(grown)) == b"a" * 10 + b"b" * (2 << 20)
