"""Signer keys: encryption, permissions, a key in another process, rotation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from provenance.cli import main
from provenance.home.identity import callback_identity
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from provenance.verify import verify_path
from provenance.verify.policy import default_policy
from tests.conftest import files_in

REMOTE = Path(__file__).with_name("remote_signer.py")


def _init_encrypted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    home = Home(tmp_path / "enc-home")
    monkeypatch.setenv("PROVENANCE_HOME", str(home.root))
    monkeypatch.setenv("PROVENANCE_KEY_PASSPHRASE", "correct horse")
    assert main(["init", "--encrypt", "--actor", "enc@example.org"]) == 0
    assert b"ENCRYPTED PRIVATE KEY" in home.signer_key.read_bytes()
    return home


def test_encrypted_key_needs_its_passphrase_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _init_encrypted(tmp_path, monkeypatch)
    work = tmp_path / "w"
    work.mkdir()
    assert main(["generate", "A red circle", "--size", "64x64", "-o", str(work / "ok.png")]) == 0
    monkeypatch.delenv("PROVENANCE_KEY_PASSPHRASE")
    capsys.readouterr()
    assert main(["generate", "A red circle", "-o", str(work / "no.png")]) == 2
    assert "encrypted; set PROVENANCE_KEY_PASSPHRASE" in capsys.readouterr().err
    monkeypatch.setenv("PROVENANCE_KEY_PASSPHRASE", "wrong")
    assert main(["generate", "A red circle", "-o", str(work / "no.png")]) == 2
    assert "wrong passphrase" in capsys.readouterr().err
    assert files_in(work) == ["ok.png"]
    assert verify_path(work / "ok.png", default_policy(home)).verdict == "trusted"


def test_no_passphrase_option_on_the_command_line(home: Home) -> None:
    for argv in (["init", "--force", "--passphrase", "x"], ["rotate-key", "--passphrase", "x"]):
        assert main(argv) == 2


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_key_readable_by_others_is_refused(
    home: Home, workdir: Path, mode: int, capsys: pytest.CaptureFixture[str]
) -> None:
    home.signer_key.chmod(mode)
    assert main(["generate", "A red circle", "-o", str(workdir / "x.png")]) == 2
    err = capsys.readouterr().err
    assert str(home.signer_key) in err and "readable by others" in err and "chmod 600" in err
    assert files_in(workdir) == []


def test_callback_signer_with_the_key_in_another_process(home: Home, workdir: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(REMOTE), str(home.ca_cert), str(home.ca_key)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        while not (line := proc.stdout.readline()).startswith("PORT"):
            lines.append(line)
        url = f"http://127.0.0.1:{int(line.split()[1])}/sign"
        calls: list[int] = []

        def sign(data: bytes) -> bytes:
            calls.append(len(data))
            with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
                body: bytes = r.read()
                return body

        ident = callback_identity("".join(lines).encode(), sign, ca_pem=home.ca_cert.read_bytes())
        assert ident.key is None
        with Recorder(home, identity=ident) as rec:
            [out] = rec.generate("A red circle", workdir / "remote.png", size="64x64")
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
    assert calls and all(n > 0 for n in calls)
    report = verify_path(out.path, default_policy(home))
    assert report.verdict == "trusted", report.reasons
    assert report.signer is not None and "Remote signer" in (report.signer.common_name or "")


def test_rotation_keeps_old_files_verifying_and_the_ledger_names_each_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _init_encrypted(tmp_path, monkeypatch)  # rotation keeps the key encrypted
    work = tmp_path / "w"
    work.mkdir()
    assert main(["generate", "A red circle", "--size", "64x64", "-o", str(work / "old.png")]) == 0
    capsys.readouterr()
    assert main(["rotate-key", "--json"]) == 0
    rotated = json.loads(capsys.readouterr().out)
    assert rotated["cert_sha256"] != rotated["retired_cert_sha256"]
    assert b"ENCRYPTED PRIVATE KEY" in home.signer_key.read_bytes()
    assert oct(home.signer_key.stat().st_mode & 0o777) == "0o600"
    assert (
        home.identity_dir / "retired" / f"signer-{rotated['retired_cert_sha256'][:16]}.chain.pem"
    ).exists()
    assert main(["generate", "A blue circle", "--size", "64x64", "-o", str(work / "new.png")]) == 0
    policy = default_policy(home)
    for name in ("old.png", "new.png"):
        assert verify_path(work / name, policy).verdict == "trusted", name
    with open_ledger(home, read_only=True) as ledger:
        signers = [e.body["signer"]["cert_sha256"] for e in ledger.iter_entries(kinds=["generate"])]
    assert signers == [rotated["retired_cert_sha256"], rotated["cert_sha256"]]


def test_rotation_refuses_an_imported_identity(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "chain.pem"
    other.write_bytes(home.signer_chain.read_bytes())
    key = tmp_path / "key.pem"
    key.write_bytes(home.signer_key.read_bytes())
    assert main(["init", "--force", "--cert", str(other), "--key", str(key)]) == 0
    capsys.readouterr()
    before = home.signer_key.read_bytes()
    assert main(["rotate-key"]) == 2
    assert "only a local identity" in capsys.readouterr().err
    assert home.signer_key.read_bytes() == before
    assert os.stat(home.signer_key).st_mode & 0o077 == 0
