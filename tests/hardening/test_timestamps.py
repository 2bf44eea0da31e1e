"""RFC 3161 timestamps on C2PA signatures, against a real TSA on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from provenance.errors import SigningError
from provenance.home.identity import Identity, issue_signer, pem_cert
from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from provenance.verify import verify_path
from provenance.verify.policy import default_policy
from tests.conftest import files_in
from tests.hardening.tsa import TsaAuthority, running_tsa


@pytest.fixture(scope="module")
def authority() -> TsaAuthority:
    return TsaAuthority.make()


def _trust_tsa(home: Home, authority: TsaAuthority) -> None:
    """The TSA's root as this home's TSA anchor (where `provenance trust add --tsa` puts it)."""
    home.tsa_trust_dir.mkdir(parents=True, exist_ok=True)
    (home.tsa_trust_dir / "test-tsa-root.pem").write_bytes(authority.root_pem)


def _short_lived(home: Home, seconds: float) -> Identity:
    """A signer under the home's CA whose certificate expires ``seconds`` from now."""
    ca_key = serialization.load_pem_private_key(home.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(home.ca_cert.read_bytes())
    now = dt.datetime.now(dt.UTC)
    key, cert = issue_signer(
        ca_key,
        ca_cert,
        "short-lived signer",  # type: ignore[arg-type]
        not_before=now - dt.timedelta(minutes=1),
        not_after=now + dt.timedelta(seconds=seconds),
    )
    return Identity(pem_cert(cert) + pem_cert(ca_cert), key, "es256", True, pem_cert(ca_cert))


def test_timestamped_file_verifies_trusted(
    home: Home, workdir: Path, authority: TsaAuthority
) -> None:
    _trust_tsa(home, authority)
    with running_tsa(authority) as url, Recorder(home, tsa_url=url) as rec:
        [out] = rec.generate("A blue square", workdir / "ts.png", size="64x64")
    report = verify_path(out.path, default_policy(home))
    assert report.verdict == "trusted", report.reasons
    assert report.signer is not None and report.signer.time  # the TSA's time, not a claim
    with Recorder(home) as rec:
        [bare] = rec.generate("A blue square", workdir / "bare.png", size="64x64")
    plain = verify_path(bare.path, default_policy(home))
    assert plain.signer is not None and not plain.signer.time


def test_expired_certificate_still_trusted_with_timestamp_invalid_without(
    home: Home, workdir: Path, authority: TsaAuthority
) -> None:
    _trust_tsa(home, authority)
    ident = _short_lived(home, 4)
    with running_tsa(authority) as url, Recorder(home, identity=ident, tsa_url=url) as rec:
        [stamped] = rec.generate("A red circle", workdir / "stamped.png", size="64x64")
    with Recorder(home, identity=ident) as rec:
        [bare] = rec.generate("A red circle", workdir / "bare.png", size="64x64")
    policy = default_policy(home)
    assert verify_path(bare.path, policy).verdict == "trusted"  # still inside its validity
    while dt.datetime.now(dt.UTC) <= ident.certificate.not_valid_after_utc + dt.timedelta(
        seconds=1
    ):
        time.sleep(0.5)
    report = verify_path(stamped.path, policy)
    assert report.verdict == "trusted", report.reasons
    expired = verify_path(bare.path, policy)
    assert expired.verdict == "invalid"
    assert "signingCredential.expired" in {
        c.code for c in expired.status_codes if c.kind == "failure"
    }


def test_unreachable_tsa_is_a_signing_error_and_writes_nothing(home: Home, workdir: Path) -> None:
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Recorder(home, tsa_url=f"http://127.0.0.1:{port}/tsa") as rec:
        size = rec.ledger.size
        with pytest.raises(SigningError, match="sign"):
            rec.generate("A red circle", workdir / "never.png", size="64x64")
        assert rec.ledger.size == size
    assert files_in(workdir) == []


def test_tsa_url_from_environment(
    home: Home, workdir: Path, authority: TsaAuthority, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.cli import main

    _trust_tsa(home, authority)
    with running_tsa(authority) as url:
        monkeypatch.setenv("PROVENANCE_TSA_URL", url)
        assert (
            main(["generate", "A green circle", "--size", "64x64", "-o", str(workdir / "env.png")])
            == 0
        )
    monkeypatch.delenv("PROVENANCE_TSA_URL")
    report = verify_path(workdir / "env.png", default_policy(home))
    assert report.verdict == "trusted"
    assert report.signer is not None and report.signer.time


def test_recorder_tsa_url_also_stamps_the_ledger_checkpoint(
    home: Home, workdir: Path, authority: TsaAuthority
) -> None:
    """Regression: an explicit Recorder(tsa_url=...) stamped the C2PA signature only."""
    from ledger.checkpoint_timestamps import timestamp_of
    from provenance.home.ledger import open_ledger

    with running_tsa(authority) as url, Recorder(home, tsa_url=url) as rec:
        rec.generate("A blue square", workdir / "cp.png", size="64x64")
    with open_ledger(home, read_only=True, tsa_url="") as led:
        cp = led.latest_checkpoint()
        assert cp is not None
        token = timestamp_of(led, cp)
    assert token is not None
