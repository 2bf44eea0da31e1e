"""Issue 13: a home's files are 0600 and folders 0700; exposed keys or ledger are refused;
``init --encrypt`` encrypts the log key too. Each case failed before the fix (the ledger was
created 0644, certificates 0644, the log key was written in clear and never mode-checked)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from provenance.cli import main
from provenance.home.paths import Home

PASS = "correct horse"


def _init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> Home:
    home = Home(tmp_path / "h")
    monkeypatch.setenv("PROVENANCE_HOME", str(home.root))
    if "--encrypt" in extra:
        monkeypatch.setenv("PROVENANCE_KEY_PASSPHRASE", PASS)
    assert main(["init", "--actor", "p@example.org", *extra]) == 0
    return home


def _generate(tmp_path: Path, name: str = "a.png") -> int:
    return main(["generate", "A red circle", "--size", "64x64", "-o", str(tmp_path / name)])


@pytest.mark.parametrize("encrypt", [False, True], ids=["plain", "encrypted"])
def test_every_file_in_the_home_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encrypt: bool
) -> None:
    home = _init(tmp_path, monkeypatch, *(["--encrypt"] if encrypt else []))
    assert _generate(tmp_path) == 0  # the ledger's -wal/-shm exist too now
    seen = []
    for dirpath, dirnames, filenames in os.walk(home.root):
        for d in [dirpath, *(os.path.join(dirpath, n) for n in dirnames)]:
            assert os.stat(d).st_mode & 0o777 == 0o700, d
        for f in filenames:
            path = os.path.join(dirpath, f)
            seen.append(f)
            assert os.stat(path).st_mode & 0o777 == 0o600, path
    assert {"ledger.db", "log.key.pem", "signer.key.pem", "ca.pem"} <= set(seen)


EXPOSED = [  # (the file, its mode, what the refusal names)
    ("ledger_db", 0o644, "ledger"),
    ("ledger_db", 0o640, "ledger"),
    ("log_key", 0o604, "log key"),
    ("log_key", 0o640, "log key"),
    ("signer_key", 0o640, "signer key"),
]


@pytest.mark.parametrize(("attr", "mode", "what"), EXPOSED)
def test_exposed_private_files_are_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    attr: str,
    mode: int,
    what: str,
) -> None:
    home = _init(tmp_path, monkeypatch)
    path: Path = getattr(home, attr)
    path.chmod(mode)
    capsys.readouterr()
    assert _generate(tmp_path) == 2
    err = capsys.readouterr().err
    assert "readable by others" in err and what in err and str(path) in err
    assert not (tmp_path / "a.png").exists()


def test_init_encrypt_encrypts_the_log_key_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _init(tmp_path, monkeypatch, "--encrypt")
    assert b"ENCRYPTED PRIVATE KEY" in home.log_key.read_bytes()
    assert _generate(tmp_path) == 0
    for env, message in [
        (None, "encrypted; set PROVENANCE_KEY_PASSPHRASE"),
        ("no", "wrong passphrase"),
    ]:
        if env is None:
            monkeypatch.delenv("PROVENANCE_KEY_PASSPHRASE")
        else:
            monkeypatch.setenv("PROVENANCE_KEY_PASSPHRASE", env)
        capsys.readouterr()
        assert main(["review", str(tmp_path / "a.png"), "--approve", "--by", "x@example.org"]) == 2
        assert message in capsys.readouterr().err
