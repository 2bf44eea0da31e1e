"""One error root: what the library raises is a ProvenanceError, ledger failures included."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger.errors import LedgerError
from provenance.cli import main
from provenance.errors import (
    IdentityExistsError,
    LedgerFailure,
    LedgerMissingError,
    OutputExistsError,
    ProvenanceError,
)
from provenance.home.identity import load_identity
from provenance.home.init import init_home
from provenance.home.ledger import find_ledger, open_ledger
from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from tests.conftest import files_in


def _refuse_appends(home: Home) -> None:
    """A real SQLite trigger: every insert into the entry table aborts."""
    with sqlite3.connect(home.ledger_db) as db:
        db.execute(
            "CREATE TRIGGER no_appends BEFORE INSERT ON ledger_entry "
            "BEGIN SELECT RAISE(ABORT, 'no appends today'); END"
        )


def test_a_database_failure_under_the_recorder_is_a_provenance_error(
    home: Home, workdir: Path
) -> None:
    _refuse_appends(home)
    with Recorder(home) as rec, pytest.raises(ProvenanceError) as info:
        rec.generate("A red circle on a white background", workdir / "c.png")
    assert isinstance(info.value, LedgerFailure)
    assert isinstance(info.value.__cause__, LedgerError)
    assert info.value.ledger_error is info.value.__cause__
    assert info.value.exit_code == info.value.__cause__.exit_code
    assert str(info.value) == info.value.__cause__.diagnostics()
    assert files_in(workdir) == []  # the signed temp file was removed too


def test_the_cli_prints_the_ledger_failure_on_one_line(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _refuse_appends(home)
    code = main(["generate", "a red circle", "-o", str(workdir / "c.png")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("provenance: error: ") and len(err.strip().splitlines()) == 1
    assert "no appends today" in err


def test_opening_a_missing_ledger_is_a_provenance_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerMissingError) as info:
        open_ledger(Home(tmp_path / "nowhere"))
    assert isinstance(info.value, ProvenanceError)
    assert find_ledger(Home(tmp_path / "nowhere")) is None


def test_library_messages_name_parameters_and_the_cli_names_flags(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "c.png").write_bytes(b"taken")
    with Recorder(home) as rec, pytest.raises(OutputExistsError) as info:
        rec.generate("A red circle", workdir / "c.png")
    assert "overwrite=True" in str(info.value) and "--" not in str(info.value)
    with pytest.raises(IdentityExistsError) as exists:
        init_home(home)
    assert "force=True" in str(exists.value) and "--force" not in str(exists.value)
    assert main(["generate", "a red circle", "-o", str(workdir / "c.png")]) == 2
    assert "already exists; use --force to overwrite it" in capsys.readouterr().err


def test_witness_errors_name_the_library_call_and_the_cli_names_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ledger.witness.errors import WitnessConfigError
    from ledger.witness.home import load_witness

    with pytest.raises(WitnessConfigError) as info:
        load_witness(tmp_path / "missing")
    assert "init_witness()" in str(info.value) and "provenance" not in str(info.value)
    assert main(["witness", "vkey", "--dir", str(tmp_path / "missing")]) == 2
    assert "missing; run `provenance witness init` first" in capsys.readouterr().err


def test_the_audit_names_the_tsa_anchors_parameter() -> None:
    from ledger.audit.timestamps import LatestTimestamp, TimestampSummary

    latest = LatestTimestamp(checkpoint=1, size=3, gen_time="2026-01-01T00:00:00Z", tsa="CN=t")
    text = TimestampSummary(timestamped=1, latest=latest).describe()
    assert text.endswith("(TSA certificate not checked: no tsa_anchors given)") and "--" not in text


def test_ledger_remedies_name_calls_and_the_cli_names_commands() -> None:
    from ledger import errors
    from provenance.cli.messages import cli_message
    from provenance.errors import LedgerFailure

    for remedy, command in [
        (errors.AUDIT_REMEDY, "run `provenance ledger audit`"),
        (errors.CHECKPOINT_REMEDY, "run `provenance ledger checkpoint`"),
    ]:
        assert "provenance" not in remedy and "Ledger." in remedy
        cause = errors.LedgerIntegrityError(f"entry 3 is missing; {remedy}")
        failure = LedgerFailure(str(cause), exit_code=1, ledger_error=cause)
        assert cli_message(failure) == f"entry 3 is missing; {command}"


def test_init_home_makes_an_identity_and_a_ledger(tmp_path: Path) -> None:
    home = Home(tmp_path / "desk")
    made = init_home(home, actor="desk@example.org")
    assert made.ledger_origin is not None
    assert load_identity(home).subject == made.identity.subject
    with open_ledger(home) as led:
        assert led.origin == made.ledger_origin and led.size == 0
    again = init_home(home, force=True)  # a new identity; the ledger is kept
    assert again.ledger_origin is None


def test_init_home_leaves_nothing_behind_when_the_ledger_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = Home(tmp_path / "desk")
    monkeypatch.setenv("PROVENANCE_LEDGER_URL", f"sqlite:///{tmp_path}/missing-dir/ledger.db")
    with pytest.raises(ProvenanceError) as info:
        init_home(home)
    assert isinstance(info.value, LedgerFailure)
    assert not home.identity_dir.exists()  # so init_home can simply be called again
    assert not home.log_key.exists()


def test_backend_errors_name_parameters_and_the_cli_names_flags(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from provenance.backends.base import GenerateRequest
    from provenance.backends.openai import OpenAIBackend
    from provenance.errors import MaskRequiredError, MissingAPIKeyError, UnsupportedParameterError

    with pytest.raises(MissingAPIKeyError) as no_key:
        OpenAIBackend()
    assert "api_key=" in str(no_key.value) and "--backend" not in str(no_key.value)
    with pytest.raises(UnsupportedParameterError) as seed:
        OpenAIBackend(api_key="sk-test").generate(GenerateRequest(prompt="x", seed=3))
    assert "--seed" not in str(seed.value)
    with Recorder(home) as rec:
        [card] = rec.generate("A red circle", workdir / "c.png")
        with pytest.raises(MaskRequiredError) as mask:
            rec.edit([card.path], "redact", workdir / "r.png")
    assert "--mask" not in str(mask.value)
    out = str(workdir / "o.png")
    assert main(["generate", "x", "--backend", "openai", "-o", out]) == 2
    assert "(or pass api_key=...) to use --backend openai" in capsys.readouterr().err
    assert main(["edit", str(card.path), "-i", "redact", "-o", out]) == 2
    assert "needs a mask (--mask) marking the region to redact" in capsys.readouterr().err
