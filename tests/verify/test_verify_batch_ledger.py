"""A batch makes each checkpoint's own checks (pinned key, signature, verifier memory, witness
policy) once for all its files: its reports must be the ones each file gets verified alone."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from ledger.checkpoint import generate_log_key
from ledger.witness.cosignature import witness_vkey
from provenance.home.ledger import LedgerSource, open_ledger
from provenance.home.paths import Home
from provenance.home.witnesses import ENV_WITNESS_POLICY
from provenance.media.hashing import sha256_file
from provenance.verify import batch
from provenance.verify.batch import verify_many
from provenance.verify.core import verify_path
from provenance.verify.policy import default_policy
from tests.conftest import png_bytes, reports, run
from tests.verify.conftest import flip_after, record


def _mixed_set(home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]) -> list[Path]:
    """Recorded, tampered, unrecorded, and a file whose hash an index row was inserted for."""
    a, b = workdir / "a.png", workdir / "b.png"
    record(capsys, "generate", "A red circle on a white background", "-o", str(a))
    record(capsys, "generate", "A blue square", "-o", str(b))
    tampered = workdir / "tampered.png"
    shutil.copy(b, tampered)
    flip_after(tampered, b"IDAT", 40)
    plain = workdir / "plain.png"
    plain.write_bytes(png_bytes(color="green"))
    inserted = workdir / "inserted.png"
    inserted.write_bytes(png_bytes((200, 100), color="yellow"))
    forged = workdir / "forged.png"  # with credentials: its ledger check is made in the group
    shutil.copy(a, forged)
    flip_after(forged, b"IDAT", 60)
    with sqlite3.connect(home.ledger_db) as db:  # the index now names entry 0 for these files
        for f in (inserted, forged):
            db.execute(
                "INSERT INTO ledger_artifact (entry_idx, role, sha256) VALUES (0, 'output', ?)",
                (sha256_file(f),),
            )
    return [a, tampered, plain, b, inserted, forged, a]


def _batch_and_alone(files: list[Path], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    _, together, err = run(capsys, "verify", "--json", *map(str, files))
    assert together, err
    alone = "".join(run(capsys, "verify", "--json", str(f))[1] for f in files)
    return together, alone


def test_a_batchs_reports_are_each_files_own(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _mixed_set(home, workdir, capsys)
    together, alone = _batch_and_alone(files, capsys)
    assert together == alone  # the same bytes, file by file
    got = reports(together)
    assert [r["verdict"] for r in got] == [
        "trusted",
        "invalid",
        "no_credentials",
        "trusted",
        "no_credentials",
        "invalid",
        "trusted",
    ]
    assert all(got[i]["ledger"]["proof"]["verified"] is True for i in (0, 3, 6))
    assert got[1]["ledger"]["match"] == "manifest"
    assert got[2]["ledger"]["match"] is None
    # the inserted index rows are not believed: the entry's own leaf does not list the hash
    assert got[4]["ledger"]["match"] is None and got[5]["ledger"]["match"] == "manifest"
    assert all(any("index was altered" in p for p in got[i]["ledger"]["problems"]) for i in (4, 5))
    # the library's batch against verify_path on a ledger no batch opened, with groups of every
    # size: all files in one, two a group, one a group
    policy = default_policy(home)
    source = LedgerSource(home.ledger_url(), home.log_pub.read_text().strip())
    items = [(str(f), None) for f in files]
    with open_ledger(source, read_only=True, checkpoint_every=None) as led:
        each = [
            verify_path(f, policy, led, log_verifier=source.log_verifier).to_json() for f in files
        ]
    for group in (32, 2, 1):
        monkeypatch.setattr(batch, "GROUP", group)
        assert [r.to_json() for r in verify_many(items, policy, source)] == each
    pooled = verify_many(items, policy, source, workers=2, pool_threshold=2)
    assert [r.to_json() for r in pooled] == each  # worker processes: one file at a time


def test_a_batch_fails_a_checkpoint_for_every_file_as_alone(
    home: Home,
    workdir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A checkpoint that fails once fails for every file of the batch, with the same words:
    under a witness policy nobody cosigned, and with another log's key pinned."""
    files = _mixed_set(home, workdir, capsys)
    policy = tmp_path / "witness.policy"
    witness = witness_vkey(generate_log_key(), "witness.example/w1")
    policy.write_text(f"witness W1 {witness}\nquorum W1\n")
    monkeypatch.setenv(ENV_WITNESS_POLICY, str(policy))
    together, alone = _batch_and_alone(files, capsys)
    assert together == alone
    proofs = [r["ledger"]["proof"] for r in reports(together) if r["ledger"]["proof"]]
    assert len(proofs) == 5  # a, tampered and forged (their manifests' entries), b, a
    assert all(p["verified"] is False and p["reason"].startswith("not witnessed") for p in proofs)
    monkeypatch.delenv(ENV_WITNESS_POLICY)
    other = Home(tmp_path / "other")
    from provenance.home.ledger import create_ledger

    create_ledger(other)
    shutil.copy(other.log_pub, home.log_pub)  # another log's key pinned for this one
    together, alone = _batch_and_alone(files, capsys)
    assert together == alone
    proofs = [r["ledger"]["proof"] for r in reports(together) if r["ledger"]["proof"]]
    assert len(proofs) == 5
    assert all(p["signature"] is False and "does not verify" in p["reason"] for p in proofs)
