"""Trust policies: honest about what they accept."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.errors import PolicyError
from provenance.home.paths import Home
from provenance.verify.policy import TrustPolicy, default_policy
from provenance.verify.report import VerificationReport


@pytest.mark.parametrize(
    "accept", [{"trusted", "invalid"}, {"error"}, {"no_credentials", "valid_untrusted"}, set()]
)
def test_policies_that_accept_anything_are_refused(accept: set[str]) -> None:
    with pytest.raises(PolicyError):
        TrustPolicy(accept=frozenset(accept))


def test_unsafe_policy_is_named_and_warns() -> None:
    with pytest.warns(UserWarning, match="Unsafe"):
        policy = TrustPolicy.unsafe_accept_all()
    assert policy.unsafe and policy.accepts(VerificationReport(path="x", verdict="invalid"))


def test_default_policy_trusts_local_ca_only_when_made(home: Home, tmp_path: Path) -> None:
    assert [a.local for a in default_policy(home, default_trust=False).anchors] == [True]
    assert default_policy(Home(tmp_path / "none"), default_trust=False).anchors == ()
    assert default_policy(None, default_trust=False).anchors_pem is None
    # By default the bundled lists come after the home's own anchors, none of them local.
    bundled = default_policy(home).anchors[1:]
    assert bundled and not any(a.local for a in bundled)


def test_unknown_verdict_is_refused() -> None:
    with pytest.raises(PolicyError, match="unknown verdict"):
        TrustPolicy(accept=frozenset({"fine"}))
