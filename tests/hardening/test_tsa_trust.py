"""Time-stamps count only when their TSA chains to a TSA list in force (the C2PA TSA Trust List or
the user's TSA anchors), against a real RFC 3161 TSA on 127.0.0.1 with a throwaway root."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from provenance.verify import verify_path
from provenance.verify.policy import default_policy
from tests.conftest import reports, run
from tests.hardening.test_timestamps import _short_lived
from tests.hardening.tsa import TsaAuthority, running_tsa
from tests.verify.hostile import camera_original, stranger


@pytest.fixture(scope="module")
def authority() -> TsaAuthority:
    return TsaAuthority.make()


def _stamped(home: Home, workdir: Path, authority: TsaAuthority, name: str = "ts.png") -> Path:
    with running_tsa(authority) as url, Recorder(home, tsa_url=url) as rec:
        [out] = rec.generate("A blue square", workdir / name, size="64x64")
    return Path(out.path)


def test_untrusted_tsa_is_not_a_time_stamp_until_added_as_a_tsa_anchor(
    home: Home, workdir: Path, authority: TsaAuthority, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _stamped(home, workdir, authority)
    code, out, _ = run(capsys, "verify", "--json", "--no-ledger", str(path))
    [r] = reports(out)
    assert (code, r["verdict"], r["signer"]["time_stamped"]) == (0, "trusted", False)
    assert "time-stamp not trusted: its TSA (Test TSA) is on no TSA list in force" in r["notes"]
    # A signer anchor is not a TSA anchor: c2pa would accept the stamp, the verifier does not.
    (workdir / "tsa-root.pem").write_bytes(authority.root_pem)
    assert run(capsys, "trust", "add", str(workdir / "tsa-root.pem"))[0] == 0
    [r] = reports(run(capsys, "verify", "--json", "--no-ledger", str(path))[1])
    assert r["signer"]["time_stamped"] is False
    assert run(capsys, "trust", "remove", "tsa-root.pem")[0] == 0
    # Added through the TSA path, the same time-stamp counts, and the report says who vouched.
    code, out, err = run(capsys, "trust", "add", "--tsa", str(workdir / "tsa-root.pem"))
    assert code == 0 and "TSA certificate(s)" in out, err
    assert "your TSA anchors from tsa-root.pem: 1 certificate(s)" in run(capsys, "trust", "list")[1]
    [r] = reports(run(capsys, "verify", "--json", "--no-ledger", str(path))[1])
    assert r["signer"]["time_stamped"] is True
    assert r["signer"]["tsa"] == "Test TSA"
    assert r["signer"]["tsa_source"] == "your TSA anchors from tsa-root.pem"
    assert not any("time-stamp" in n for n in r["notes"])
    code, out, _ = run(capsys, "verify", "--no-ledger", str(path))
    assert "(time-stamped by Test TSA (your TSA anchors from tsa-root.pem))" in out
    # --no-default-trust keeps the user's own TSA anchors.
    [r] = reports(
        run(capsys, "verify", "--json", "--no-ledger", "--no-default-trust", str(path))[1]
    )
    assert r["signer"]["time_stamped"] is True
    assert run(capsys, "trust", "remove", "--tsa", "tsa-root.pem")[0] == 0
    [r] = reports(run(capsys, "verify", "--json", "--no-ledger", str(path))[1])
    assert r["signer"]["time_stamped"] is False


def test_tsa_trust_option_and_the_bundled_tsa_list(
    home: Home, workdir: Path, authority: TsaAuthority, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _stamped(home, workdir, authority)
    (workdir / "tsa.pem").write_bytes(authority.root_pem)
    argv = ["verify", "--json", "--no-ledger", "--tsa-trust", str(workdir / "tsa.pem"), str(path)]
    [r] = reports(run(capsys, *argv)[1])
    assert r["signer"]["time_stamped"] is True
    sources = {a.source for a in default_policy(home).tsa_anchors}
    assert any(s.startswith("C2PA TSA Trust List, issued 2026-") for s in sources)
    assert not default_policy(home, default_trust=False).tsa_anchors
    assert "C2PA TSA Trust List, issued" in run(capsys, "trust", "list")[1]


def test_a_tsa_anchor_never_vouches_for_a_signer(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """c2pa pools every list it is given: a root only on a TSA list made a signer `trusted`."""
    identity, root = stranger("Desk", "Timestamping Co")
    camera_original(workdir / "c.png", identity)
    (workdir / "root.pem").write_bytes(root)
    assert run(capsys, "trust", "add", "--tsa", str(workdir / "root.pem"))[0] == 0
    code, out, _ = run(capsys, "verify", "--json", "--no-ledger", str(workdir / "c.png"))
    assert (code, reports(out)[0]["verdict"]) == (1, "valid_untrusted")


def test_an_untrusted_time_stamp_does_not_outlive_the_certificate(
    home: Home, workdir: Path, authority: TsaAuthority
) -> None:
    """The TSA chains to a signer anchor only: c2pa extends validity with it, the verifier not."""
    home.trust_dir.mkdir(parents=True, exist_ok=True)
    (home.trust_dir / "tsa-as-signer.pem").write_bytes(authority.root_pem)
    ident = _short_lived(home, 4)
    with running_tsa(authority) as url, Recorder(home, identity=ident, tsa_url=url) as rec:
        [stamped] = rec.generate("A red circle", workdir / "stamped.png", size="64x64")
    while dt.datetime.now(dt.UTC) <= ident.certificate.not_valid_after_utc + dt.timedelta(
        seconds=1
    ):
        time.sleep(0.5)
    report = verify_path(stamped.path, default_policy(home))
    assert report.verdict == "invalid", report.reasons
    assert "no time-stamp that counts" in report.reasons[0]
    home.tsa_trust_dir.mkdir(parents=True, exist_ok=True)
    (home.tsa_trust_dir / "tsa.pem").write_bytes(authority.root_pem)
    assert verify_path(stamped.path, default_policy(home)).verdict == "trusted"
