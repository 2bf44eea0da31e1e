"""Two verifiers shown two different trees (a split view by the log key holder): the witnesses
refuse the second tree (409 at the same size, 422 for a tree that does not extend what they
cosigned), and a verifier with a quorum policy does not count the proof from the unwitnessed
tree, while one without a policy would. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import Ledger, verify_receipt
from ledger.checkpoint import generate_log_key, verifier_key
from ledger.witness.client import WitnessEndpoint
from ledger.witness.home import add_log
from ledger.witness.policy import Policy
from provenance.home.witnesses import ENV_WITNESS_POLICY
from provenance.verify.ledger_check import proof
from tests.witness.conftest import RunningWitness

ORIGIN = "test.example/split"


def test_split_view_is_refused_by_witnesses_and_not_counted_under_a_quorum_policy(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_log_key()
    vkey = verifier_key(key, ORIGIN)
    ws = [RunningWitness(tmp_path / f"w{i}", f"witness.example/w{i}") for i in (1, 2)]
    for w in ws:
        add_log(w.dir, vkey)
        w.start()
    eps = [WitnessEndpoint(w.vkey, w.url) for w in ws]
    policy = tmp_path / "witness.policy"
    policy.write_text(
        f"witness W1 {ws[0].vkey}\nwitness W2 {ws[1].vkey}\ngroup both all W1 W2\nquorum both\n"
    )
    seen_url = db_url
    hidden_url = f"sqlite:///{tmp_path / 'hidden.db'}"  # the second tree: same key and origin
    try:
        for url in (seen_url, hidden_url):
            Ledger.create(url, origin=ORIGIN, log_key=key).close()
        opts = {"log_key": key, "checkpoint_every": None, "witnesses": eps, "tsa_url": ""}
        with Ledger.open(seen_url, **opts) as seen, Ledger.open(hidden_url, **opts) as hidden:
            a = [seen.append("generate", {"prompt": f"true {i}"}) for i in range(3)]
            seen.checkpoint()
            assert seen.witness_result is not None and seen.witness_result.failed == {}
            b = [hidden.append("generate", {"prompt": f"forged {i}"}) for i in range(3)]
            hidden.checkpoint()  # the same size with another root: the split view itself
            statuses = {o.status for o in hidden.witness_result.outcomes.values()}  # type: ignore[union-attr]
            assert statuses == {409} and not hidden.witness_result.cosigned  # type: ignore[union-attr]
            hidden.append("generate", {"prompt": "forged 3"})
            hidden.checkpoint()  # a bigger tree that does not extend what they cosigned
            statuses = {o.status for o in hidden.witness_result.outcomes.values()}  # type: ignore[union-attr]
            assert statuses == {422} and not hidden.witness_result.cosigned  # type: ignore[union-attr]

            monkeypatch.setenv(ENV_WITNESS_POLICY, str(policy))
            monkeypatch.setenv("PROVENANCE_STATE_DIR", str(tmp_path / "verifier-1"))
            good = proof(seen, a[0], vkey)
            assert good.verified is True, good.reason
            assert good.witnesses is not None and good.witnesses["cosigned"] == ["W1", "W2"]
            assert "witnessed: 2 of 2 required cosigned size 3" in good.reason

            monkeypatch.setenv("PROVENANCE_STATE_DIR", str(tmp_path / "verifier-2"))
            bad = proof(hidden, b[0], vkey)
            assert bad.verified is False and bad.signature is True
            assert bad.reason.startswith("not witnessed: 0 of 2 required cosigned size 4")
            assert bad.witnesses is not None and bad.witnesses["satisfied"] is False
            assert bad.to_json()["witnesses"]["size"] == 4

            quorum = Policy.parse(policy.read_text())  # and its receipts do not verify either
            forged = verify_receipt(hidden.receipt(b[0].id), vkey, policy=quorum)
            assert not forged.ok and forged.reason.startswith("not witnessed: 0 of 2 required")
            assert verify_receipt(seen.receipt(a[0].id), vkey, policy=quorum).ok

            monkeypatch.delenv(ENV_WITNESS_POLICY)  # without a policy the forgery would pass
            monkeypatch.setenv("PROVENANCE_STATE_DIR", str(tmp_path / "verifier-3"))
            naive = proof(hidden, b[0], vkey)
            assert naive.verified is True and naive.witnesses is None
            assert "witnesses" not in naive.to_json()
    finally:
        for w in ws:
            w.stop()
