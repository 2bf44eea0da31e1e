"""Receipts verify offline and fail when tampered; the CLI commands in-process."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import Ledger, merkle, verify_receipt
from ledger.checkpoint import generate_log_key, key_to_pem, verifier_key
from ledger.errors import MalformedNoteError, WrongLogKeyError
from provenance.cli import main
from provenance.home.paths import Home
from tests.ledger.ledger_helpers import ORIGIN, make_ledger


def test_receipt_verifies_offline_and_fails_when_tampered(
    sqlite_url: str, log_key: Ed25519PrivateKey
) -> None:
    with make_ledger(sqlite_url, log_key, 9) as led:
        entry = led.at(4)
        receipt = led.receipt(entry.id)
        vkey = str(led.verifier_key)
    assert receipt.startswith("c2sp.org/tlog-proof@v1\nextra ")
    good = verify_receipt(receipt, vkey, file_sha256=f"{4:064x}")
    assert good.ok and good.index == 4 and good.entry_id == entry.id and good.tree_size == 9
    assert not verify_receipt(receipt, vkey, file_sha256="f" * 64).ok
    lines = receipt.split("\n")
    proof_line = 3
    tampered = base64.b64encode(bytes(32)).decode()
    bad = "\n".join([*lines[:proof_line], tampered, *lines[proof_line + 1 :]])
    assert not verify_receipt(bad, vkey).ok
    with pytest.raises(WrongLogKeyError):
        verify_receipt(receipt, verifier_key(generate_log_key(), ORIGIN))
    with pytest.raises(MalformedNoteError):
        verify_receipt("not a receipt", vkey)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_key: Ed25519PrivateKey) -> Home:
    h = Home(tmp_path / "home")
    h.log_key.parent.mkdir(parents=True)
    h.log_key.write_bytes(key_to_pem(log_key))
    h.log_key.chmod(0o600)  # a log key readable by others is refused, like the signer key
    h.log_pub.write_text(verifier_key(log_key, ORIGIN) + "\n")
    monkeypatch.setenv("PROVENANCE_HOME", str(h.root))
    monkeypatch.delenv("PROVENANCE_LEDGER_URL", raising=False)
    return h


def test_cli_receipt_audit_export(
    home: Home, tmp_path: Path, log_key: Ed25519PrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", "audit"]) == 2
    assert "provenance init" in capsys.readouterr().err
    art = tmp_path / "art.png"
    art.write_bytes(b"pixels")
    digest = hashlib.sha256(b"pixels").hexdigest()
    with make_ledger(home.ledger_url(), log_key, 3, memory=home.log_signed) as led:
        led.append("generate", {"model": "m"}, outputs=[digest])
    home.ledger_db.chmod(0o600)  # as `provenance init` makes it: an exposed ledger is refused
    assert main(["ledger", "checkpoint"]) == 0
    assert capsys.readouterr().out.startswith(f"{ORIGIN}\n4\n")
    rc = main(["ledger", "receipt", str(art), "-o", str(tmp_path / "r.tlog-proof")])
    assert rc == 0
    base = ["ledger", "verify-receipt", str(tmp_path / "r.tlog-proof")]
    assert main([*base, "--log-key", str(home.log_pub), "--file", str(art)]) == 0
    other = tmp_path / "other.png"
    other.write_bytes(b"other pixels")
    assert main([*base, "--log-key", str(home.log_pub), "--file", str(other)]) == 1
    assert main([*base, "--log-key", verifier_key(generate_log_key(), ORIGIN)]) == 2
    capsys.readouterr()
    assert main(["ledger", "audit", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main(["ledger", "export", "-o", str(tmp_path / "e.jsonl")]) == 0
    lines = [json.loads(x) for x in (tmp_path / "e.jsonl").read_text().splitlines()]
    rebuilt = merkle.root_of([merkle.leaf_hash(x["leaf"].encode()) for x in lines])
    with Ledger.open(home.ledger_url()) as led:
        assert rebuilt == led.root() and len(lines) == 4
        led.engine.dispose()
    assert main(["ledger", "key"]) == 0
    assert capsys.readouterr().out.strip() == verifier_key(log_key, ORIGIN)
    for cmd in ("checkpoint", "receipt", "verify-receipt", "audit", "export", "key"):
        assert main(["ledger", cmd, "--help"]) == 0
        assert "Example" in capsys.readouterr().out
