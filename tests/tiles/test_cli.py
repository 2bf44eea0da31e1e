"""``provenance ledger publish`` and ``provenance ledger audit-tiles``, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger import AppendRequest
from ledger.checkpoint import generate_log_key, verifier_key
from provenance.cli import main
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home


def _fill(home: Home, n: int) -> None:
    with open_ledger(home, checkpoint_every=None) as led:
        led.append_many([AppendRequest("generate", {"n": i}) for i in range(n)])


def test_publish_then_audit_from_tiles(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "log"
    _fill(home, 300)
    # the home's ledger was checkpointed empty at init: only that is published, and said so
    assert main(["ledger", "publish", str(out)]) == 0
    assert "300 newer entries are not covered by a signed checkpoint" in capsys.readouterr().err
    assert (out / "checkpoint").read_text().split("\n")[1] == "0"

    assert main(["ledger", "publish", str(out), "--checkpoint", "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["size"], summary["tiles_written"], summary["bundles_written"]) == (300, 3, 2)
    assert "publishing entries: 300/300" in captured.err

    assert main(["ledger", "publish", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["tiles_written"], again["tiles_skipped"]) == (0, 3)

    assert main(["ledger", "audit-tiles", str(out), "--log-key", str(home.log_pub)]) == 0
    assert capsys.readouterr().out.startswith("clean: 300 entries of ")

    tile = out / "tile/0/000"
    data = tile.read_bytes()
    tile.write_bytes(bytes([data[0] ^ 1]) + data[1:])  # always a change, whatever the byte was
    assert main(["ledger", "audit-tiles", str(out), "--json"]) == 1  # the home's log.pub
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["problems"][0]["message"].startswith("tile/0/000 (entry 0): hash 0 is not")


def test_audit_tiles_bad_input(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ledger", "audit-tiles", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["ledger", "audit-tiles", str(tmp_path), "--log-key", "not-a-key"]) == 2
    assert "verifier key" in capsys.readouterr().err
    other = verifier_key(generate_log_key(), "other.example/log")
    _fill(home, 3)
    assert main(["ledger", "publish", str(tmp_path / "log"), "--checkpoint"]) == 0
    capsys.readouterr()
    assert main(["ledger", "audit-tiles", str(tmp_path / "log"), "--log-key", other]) == 1
    assert "checkpoint: not verified" in capsys.readouterr().out
