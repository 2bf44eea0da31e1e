"""Review, gate, erasure and report on a PostgreSQL ledger (skips without a server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.compliance import (
    build_report,
    check_path,
    check_report,
    parse_policy,
    parse_when,
    record_review,
)
from provenance.compliance.signing import enrolled_reviewers
from provenance.home.identity import create_local_identity
from provenance.home.ledger import create_ledger, open_ledger
from provenance.home.paths import ENV_HOME, ENV_LEDGER_URL, Home
from provenance.record.recorder import Recorder
from tests.compliance.conftest import make_reviewer


@pytest.mark.postgres
def test_review_check_erase_report_on_postgres(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = Home(tmp_path / "home")
    monkeypatch.setenv(ENV_HOME, str(home.root))
    monkeypatch.setenv(ENV_LEDGER_URL, pg_url)
    create_local_identity(home, actor="pg@example.org")
    create_ledger(home)
    with Recorder(home) as rec:
        [out] = rec.generate("A yellow star", tmp_path / "star.png")
    policy = parse_policy("[rules.approval]\n[rules.recorded]", source="p")
    with open_ledger(home) as ledger:
        assert not check_path(out.path, policy, home=home, ledger=ledger).passed
        legal = make_reviewer(home, "legal@example.org", tmp_path / "keys").signer
        record_review(ledger, out.path, "approve", signer=legal)
        result = check_path(out.path, policy, home=home, ledger=ledger)
        assert result.passed, result.results
        ledger.erase_secret(out.entry_id, reason="request", actor="dpo@example.org")
        assert ledger.audit().ok
        trail = build_report(
            ledger, since=parse_when("2000-01-01"), reviewers=enrolled_reviewers(home)
        )
    doc = trail.to_json()
    assert [r["kind"] for r in doc["entries"]] == ["generate", "review", "erasure"]
    assert doc["entries"][0]["prompt_status"] == "erased"
    assert doc["entries"][0]["review_status"] == "approved"
    assert check_report(doc, home.log_pub.read_text().strip()) == []
