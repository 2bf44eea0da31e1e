"""The verifier and the publish gate share one idea of what is AI (they once disagreed about
``trainedAlgorithmicData``), and the gate judges from the report verification already made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Ledger
from provenance.compliance import check as gate
from provenance.compliance.policy_file import default_publish_policy
from provenance.verify.chain import build_chain
from provenance.verify.core import verify_path
from provenance.verify.report import VerificationReport
from provenance.vocab import AI_SOURCE_TYPES, IPTC_SOURCE_TYPE_PREFIX, Verdict, is_ai_source_type
from tests.compliance.conftest import World

# Every IPTC term a file might disclose, AI or not, plus C2PA's term for data from a model.
TERMS = sorted(
    AI_SOURCE_TYPES
    | {
        "digitalCapture",
        "negativeFilm",
        "algorithmicMedia",
        "digitalArt",
        "composite",
        "minorHumanEdits",
    }
)


def _verifier_says_ai(term: str) -> bool:
    """What the verifier's chain walk concludes from a manifest disclosing ``term``."""
    action = {"action": "c2pa.created", "digitalSourceType": IPTC_SOURCE_TYPE_PREFIX + term}
    active = {
        "label": "m",
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [action]}}],
    }
    return build_chain(
        {"active_manifest": "m", "manifests": {"m": active}}, active, True
    ).ai_disclosed


def _gate_says_ai(ledger: Ledger, term: str) -> bool:
    """Whether the gate holds a camera-style disclosure to understate a recorded ``term`` step."""
    entry = ledger.append(
        "generate", {"op": "generate", "digital_source_type": IPTC_SOURCE_TYPE_PREFIX + term}
    )
    report = VerificationReport(
        path="x.png",
        verdict=Verdict.TRUSTED,
        digital_source_type="digitalCapture",
        ai_generated=False,
    )
    facts = gate._Facts(report, ledger, entry=entry, lineage=[entry])
    rule = default_publish_policy().rule("ai_disclosure")
    assert rule is not None
    return not gate._ai_disclosure(facts, rule).passed


@pytest.fixture()
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger.create(f"sqlite:///{tmp_path / 'l.db'}", origin="test.example/vocab")
    yield led
    led.close()


@pytest.mark.parametrize("term", TERMS)
def test_verifier_and_publish_gate_agree_on_what_is_ai(ledger: Ledger, term: str) -> None:
    assert _verifier_says_ai(term) == _gate_says_ai(ledger, term) == is_ai_source_type(term)


def test_trained_algorithmic_data_is_ai_for_both() -> None:
    assert is_ai_source_type("trainedAlgorithmicData")
    assert gate.AI_SOURCE_TYPES is AI_SOURCE_TYPES


def test_gate_reads_the_file_once(world: World, tmp_path: Path) -> None:
    """The latent-disclosure rule works from the report's assertions: the file may be gone."""
    copy = tmp_path / world.generated.name
    copy.write_bytes(world.generated.read_bytes())
    report = verify_path(copy, gate.trust_policy_for(default_publish_policy(), None))
    copy.unlink()
    facts = gate._Facts(report, None)
    rule = default_publish_policy().rule("latent_disclosure")
    assert rule is not None
    result = gate._latent_disclosure(facts, rule)
    assert report.verdict == Verdict.VALID_UNTRUSTED
    assert result.passed, result.reason
    assert "latent disclosure present" in result.reason
