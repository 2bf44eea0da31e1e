"""Each publish rule with a passing and a failing case, on real recorded and signed files."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from provenance.compliance.check import check_path
from provenance.compliance.policy_file import parse_policy
from provenance.compliance.review import record_review
from provenance.home.ledger import open_ledger
from tests.compliance.conftest import make_reviewer


class Case(NamedTuple):
    name: str
    policy: str
    file: str  # attribute of World
    passed: bool
    reason: str  # expected in the rule's reason


CASES = [
    Case("credentials_trusted", "[rules.credentials]", "generated", True, "trusted: signed by"),
    Case("credentials_missing", "[rules.credentials]", "camera", False, "verdict recovered"),
    Case(
        "credentials_wrong_signer",
        '[rules.credentials]\nsigners = ["Agency signer"]',
        "generated",
        False,
        "not an allowed signer",
    ),
    Case(
        "credentials_untrusted_accepted",
        '[rules.credentials]\naccept = ["trusted", "recovered"]',
        "camera",
        True,
        "recovered",
    ),
    Case(
        "ai_disclosure_present",
        "[rules.ai_disclosure]",
        "edited",
        True,
        "digitalSourceType algorithmicMedia",
    ),
    Case(
        "ai_disclosure_not_generative", "[rules.ai_disclosure]", "camera", True, "not an AI output"
    ),
    Case("ai_disclosure_stripped", "[rules.ai_disclosure]", "stripped", False, "digitalSourceType"),
    Case(
        "ai_disclosure_scope_all",
        '[rules.ai_disclosure]\nscope = "all"',
        "camera",
        False,
        "no digitalSourceType",
    ),
    Case(
        "latent_present",
        "[rules.latent_disclosure]",
        "generated",
        True,
        "provider provenance (local renderer), model local-procedural-1",
    ),
    Case(
        "latent_missing",
        "[rules.latent_disclosure]",
        "foreign",
        False,
        "no org.provenance.request assertion",
    ),
    Case(
        "latent_stripped",
        "[rules.latent_disclosure]",
        "stripped",
        False,
        "no valid content credentials",
    ),
    Case("chain_ok", "[rules.chain]", "edited", True, "every ancestor"),
    Case("chain_broken", "[rules.chain]", "broken_chain", False, "broken ancestor: tampered.png"),
    Case("recorded_yes", "[rules.recorded]", "edited", True, "included in the signed checkpoint"),
    Case("recorded_no", "[rules.recorded]", "foreign", False, "not recorded in the ledger"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rule(case: Case, in_world) -> None:  # type: ignore[no-untyped-def]
    policy = parse_policy(case.policy, source="case")
    with open_ledger(in_world.home, read_only=True) as ledger:
        result = check_path(getattr(in_world, case.file), policy, home=in_world.home, ledger=ledger)
    [rule] = result.results
    assert (rule.passed, case.reason in rule.reason) == (case.passed, True), rule.reason
    assert result.passed is case.passed


def test_approval_rule_cases(in_world) -> None:  # type: ignore[no-untyped-def]
    w = in_world
    allowed = parse_policy('[rules.approval]\nreviewers = ["legal@example.org"]', source="p")
    four_eyes = parse_policy("[rules.approval]\nfour_eyes = true", source="p")
    with open_ledger(w.home) as ledger:

        def approval(path, policy):  # type: ignore[no-untyped-def]
            [r] = check_path(path, policy, home=w.home, ledger=ledger).results
            return r

        assert not approval(w.camera, allowed).passed
        keys = w.dir / "reviewer-keys"
        intern, legal, maker = (
            make_reviewer(w.home, who, keys).signer
            for who in ("intern@example.org", "legal@example.org", "maker@example.org")
        )
        record_review(ledger, w.camera, "approve", signer=intern)
        r = approval(w.camera, allowed)
        assert not r.passed and "not an allowed reviewer" in r.reason
        record_review(ledger, w.camera, "approve", signer=legal)
        r = approval(w.camera, allowed)
        assert r.passed and "approved by legal@example.org" in r.reason
        # The importer approving their own import fails the four-eyes rule.
        record_review(ledger, w.generated, "approve", signer=maker)
        r = approval(w.generated, four_eyes)
        assert not r.passed and "who also made it" in r.reason
        # An approval of the parent does not carry to the edit.
        r = approval(w.edited, four_eyes)
        assert not r.passed and "every change needs its own approval" in r.reason
