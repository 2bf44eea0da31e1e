"""The insider attacks of the ledger's trust model, end to end through the CLI, as a table.

Each case is what a hostile insider did on the first version, and what notices now:
- a database writer without the log key rewrites an entry, rebuilds the tree and deletes the
  checkpoint rows: the signer refuses the next checkpoint (its memory is outside the database);
- the same writer puts its own key into the database: verification uses the pinned key only;
- the key holder rewrites or truncates history after a desk verified a checkpoint: fork alarm,
  with both signed notes, and the file is not accepted;
- an old receipt for an entry rewritten since: fails against today's log, with the evidence.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.checkpoint import generate_log_key, key_from_pem, open_checkpoint, verifier_key
from provenance.home.paths import Home
from tests.conftest import reports, run
from tests.ledger.forge import rewrite_entry, swap_verifier_key


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def desk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """A home whose ledger is SQLite or PostgreSQL, initialised through the CLI."""
    if request.param == "postgres":
        monkeypatch.setenv("PROVENANCE_LEDGER_URL", request.getfixturevalue("pg_url"))
    home = Home(tmp_path / "home")
    monkeypatch.setenv("PROVENANCE_HOME", str(home.root))
    from provenance.cli import main

    assert main(["init", "--actor", "desk@example.org"]) == 0
    return home


def _generate(capsys: pytest.CaptureFixture[str], out: Path, prompt: str) -> None:
    code, _, err = run(capsys, "generate", prompt, "-o", str(out))
    assert code == 0, err


def _verify(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code, out, _ = run(capsys, "verify", "--json", *extra, str(path))
    [report] = reports(out)
    return code, report


def test_database_rewrite_is_refused_by_the_next_recording(
    desk: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(3):
        _generate(capsys, tmp_path / f"{i}.png", f"A red circle number {i}")
    url = desk.ledger_url()
    rewrite_entry(url, 1, lambda body: body.update(actor="mallory@example.org"))
    code, _, err = run(capsys, "ledger", "audit")
    assert code != 0 or "0 checkpoints" in _  # rows deleted: nothing for the audit to hold
    code, _, err = run(capsys, "generate", "A blue square", "-o", str(tmp_path / "new.png"))
    assert code != 0
    assert "refusing to sign" in err and "size" in err and "\n" not in err.strip()
    # nothing was signed over the forged tree
    with Ledger.open(url) as led:
        assert led.checkpoints() == []
        assert led.size == 4  # the new entry is recorded (and its file in place), unsigned
    assert (tmp_path / "new.png").exists()
    code, report = _verify(capsys, tmp_path / "1.png")
    assert report["ledger"]["proof"]["verified"] is not True


def test_a_key_swapped_into_the_database_is_never_used(
    desk: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a.png"
    _generate(capsys, out, "A red circle")
    url = desk.ledger_url()
    with Ledger.open(url) as led:
        origin = led.origin
    mallory = generate_log_key()
    rewrite_entry(url, 0, lambda body: body.update(actor="mallory@example.org"))
    swap_verifier_key(url, verifier_key(mallory, origin))
    with Ledger.open(url, log_key=mallory, checkpoint_every=None) as led:  # no memory: forged
        led.checkpoint()
    # the desk's own pinned key (log.pub) refuses the forged checkpoint
    code, report = _verify(capsys, out)
    assert report["ledger"]["proof"]["verified"] is False  # flagged (the C2PA verdict stands)
    assert "does not verify" in report["ledger"]["proof"]["reason"]
    code, text, _ = run(capsys, "ledger", "audit", "--json")
    kinds = {p["kind"] for p in json.loads(text)["problems"]}
    assert code == 1 and "verifier_key_mismatch" in kinds
    # a desk with no pinned key for this log gets no proof at all, never one by the stored key
    desk.log_pub.unlink()
    code, report = _verify(capsys, out)
    assert report["ledger"]["proof"]["verified"] is None
    assert report["ledger"]["proof"]["reason"] == f"not verified: no pinned key for log {origin}"


@pytest.mark.parametrize("attack", ["rewrite", "truncate"])
def test_key_holder_rewriting_history_after_a_desk_saw_it_is_a_fork(
    desk: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str], attack: str
) -> None:
    for i in range(4):
        _generate(capsys, tmp_path / f"{i}.png", f"A green triangle {i}")
    code, report = _verify(capsys, tmp_path / "0.png")
    assert code == 0 and report["ledger"]["proof"]["verified"] is True  # the desk saw size 4
    url, key = desk.ledger_url(), key_from_pem(desk.log_key.read_bytes())
    if attack == "rewrite":
        rewrite_entry(url, 2, lambda body: body.update(actor="mallory@example.org"))
    else:
        _truncate(url, 3)
    desk.log_signed.unlink()  # the key holder also discards its own memory
    with Ledger.open(url, log_key=key, checkpoint_every=None) as led:
        led.checkpoint()
    code, report = _verify(capsys, tmp_path / "0.png")
    proof = report["ledger"]["proof"]
    assert code == 1 and report["accepted"] is False
    assert proof["verified"] is False and "fork alarm" in proof["reason"]
    vkey = desk.log_pub.read_text().strip()
    assert open_checkpoint(proof["fork"]["previous"], vkey).size == 4  # evidence, checkable
    assert open_checkpoint(proof["fork"]["current"], vkey).size == (4 if attack == "rewrite" else 3)


def test_an_old_receipt_fails_against_todays_log_after_a_rewrite(
    desk: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(3):
        _generate(capsys, tmp_path / f"{i}.png", f"A yellow star {i}")
    receipt = tmp_path / "1.tlog-proof"
    assert run(capsys, "ledger", "receipt", str(tmp_path / "1.png"), "-o", str(receipt))[0] == 0
    code, out, _ = run(capsys, "ledger", "check-receipt", str(receipt), "--json")
    assert code == 0 and json.loads(out)["checked_against_log"] is True
    url, key = desk.ledger_url(), key_from_pem(desk.log_key.read_bytes())
    rewrite_entry(url, 1, lambda body: body.update(actor="mallory@example.org"))
    desk.log_signed.unlink()
    with Ledger.open(url, log_key=key, checkpoint_every=None) as led:
        led.checkpoint()
    offline = run(capsys, "ledger", "check-receipt", str(receipt), "--offline")
    assert offline[0] == 0  # offline the receipt still holds: its checkpoint was signed
    code, out, _ = run(capsys, "ledger", "check-receipt", str(receipt), "--json")
    result = json.loads(out)
    assert code == 1 and result["ok"] is False
    assert "deleted or rewritten" in result["reason"]
    vkey = desk.log_pub.read_text().strip()
    assert open_checkpoint(result["fork"]["previous"], vkey).size == 3
    assert open_checkpoint(result["fork"]["current"], vkey).size == 3


def test_gossip_between_two_desks_finds_the_split_view(
    desk: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _generate(capsys, tmp_path / "a.png", "A purple circle")
    assert _verify(capsys, tmp_path / "a.png")[0] == 0
    assert run(capsys, "logs", "export-checkpoints", "-o", str(tmp_path / "mine.txt"))[0] == 0
    # another desk was shown a different tree at the same size, signed by the same key
    url, key = desk.ledger_url(), key_from_pem(desk.log_key.read_bytes())
    with Ledger.open(url) as led:
        size, origin = led.size, led.origin
    from ledger.checkpoint import Checkpoint

    other = Checkpoint(origin, size, bytes(32)).sign(key)
    (tmp_path / "theirs.txt").write_text(other)
    code, out, _ = run(capsys, "logs", "import-checkpoints", str(tmp_path / "theirs.txt"))
    assert code == 1 and "FORK" in out and other in out
    code, out, _ = run(capsys, "logs", "import-checkpoints", str(tmp_path / "mine.txt"))
    assert code == 0 and "agrees" in out


def _truncate(url: str, keep: int) -> None:
    """The key holder drops the newest entries and rebuilds the tree over the rest."""
    from sqlalchemy import create_engine, text

    from tests.ledger.forge import _rebuild_tree

    engine = create_engine(url)
    with engine.begin() as conn:
        for table in ("ledger_artifact", "ledger_parent"):
            col = "entry_idx" if table == "ledger_artifact" else "child_idx"
            conn.execute(text(f"DELETE FROM {table} WHERE {col} >= :k"), {"k": keep})
        conn.execute(text("DELETE FROM ledger_entry WHERE idx >= :k"), {"k": keep})
        leaves = [
            bytes(r[0]) for r in conn.execute(text("SELECT leaf FROM ledger_entry ORDER BY idx"))
        ]
        _rebuild_tree(conn, leaves)
        conn.execute(text("UPDATE ledger_head SET size = :k"), {"k": keep})
        conn.execute(text("DELETE FROM ledger_checkpoint_timestamp"))
        conn.execute(text("DELETE FROM ledger_checkpoint"))
    engine.dispose()


def test_a_receipt_of_another_log_is_not_compared_with_this_homes_ledger(
    desk: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A desk with a ledger of its own checks a receipt from someone else's log: the offline
    check holds, and its own, unrelated ledger is no evidence of a rewrite."""
    _generate(capsys, tmp_path / "mine.png", "A red circle")
    desk_url = os.environ.get("PROVENANCE_LEDGER_URL")  # set for the PostgreSQL desk
    other = Home(tmp_path / "other-home")
    monkeypatch.setenv("PROVENANCE_HOME", str(other.root))
    monkeypatch.delenv("PROVENANCE_LEDGER_URL", raising=False)
    from provenance.cli import main

    assert main(["init", "--actor", "other@example.org"]) == 0
    _generate(capsys, tmp_path / "theirs.png", "A blue square")
    receipt = tmp_path / "theirs.tlog-proof"
    assert (
        run(capsys, "ledger", "receipt", str(tmp_path / "theirs.png"), "-o", str(receipt))[0] == 0
    )
    monkeypatch.setenv("PROVENANCE_HOME", str(desk.root))
    if desk_url:
        monkeypatch.setenv("PROVENANCE_LEDGER_URL", desk_url)
    code, out, _ = run(
        capsys, "ledger", "check-receipt", str(receipt), "--log-key", str(other.log_pub), "--json"
    )
    result = json.loads(out)
    assert code == 0 and result["ok"] is True and result["fork"] is None
    assert result["checked_against_log"] is False and "another log" in result["reason"]
