"""Each verdict on files we make here: own signed outputs, tampering, untrusted and expired
signers, a deep edit chain, a desk that has no identity and no ledger."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from provenance.credentials import ManifestSpec, make_context, make_signer, sign_bytes
from provenance.home.identity import Identity, create_ca, issue_signer, pem_cert
from provenance.home.paths import ENV_HOME, Home
from tests.conftest import reports, run
from tests.verify.conftest import flip_after, node_titles, record


def test_own_output_is_trusted_with_ledger_proof(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "a.png"
    record(capsys, "generate", "A red circle on a white background", "-o", str(out))
    code, text, _ = run(capsys, "verify", "--json", str(out))
    [r] = reports(text)
    assert code == 0
    assert (r["verdict"], r["chain_ok"], r["accepted"]) == ("trusted", True, True)
    assert r["ledger"]["match"] == "exact"
    proof = r["ledger"]["proof"]
    assert proof["verified"] is True and proof["signature"] is True
    assert proof["key_source"] == "the log's public key"
    assert r["ledger_entry"] == r["ledger"]["entry"]["id"]
    for field in (
        "path",
        "verdict",
        "chain_ok",
        "reasons",
        "signer",
        "ai_generated",
        "ledger_entry",
        "chain",
    ):
        assert field in r


def test_desk_without_init_gets_valid_untrusted_and_no_ledger(
    home: Home,
    workdir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = workdir / "a.jpg"
    record(capsys, "generate", "A blue square", "-o", str(out))
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "desk-without-home"))
    code, text, _ = run(capsys, "verify", "--json", str(out))
    [r] = reports(text)
    assert code == 1
    assert r["verdict"] == "valid_untrusted"
    assert r["ledger"]["done"] is False
    assert any(x.startswith("ledger:") for x in r["not_checked"])
    assert not (tmp_path / "desk-without-home").exists()  # verifying creates nothing
    # The desk names the newsroom's CA: now it is trusted, still without a home.
    code, text, _ = run(capsys, "verify", "--json", "--trust", str(home.ca_cert), str(out))
    assert reports(text)[0]["verdict"] == "trusted" and code == 0


@pytest.mark.parametrize(
    ("name", "marker", "offset"),
    [("t.png", b"IDAT", 40), ("t.jpg", b"\xff\xd9", -30), ("t.webp", b"VP8", 60)],
)
def test_tampered_pixels_are_invalid(
    name: str,
    marker: bytes,
    offset: int,
    home: Home,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = workdir / name
    record(capsys, "generate", "A green triangle", "-o", str(out))
    flip_after(out, marker, offset)
    code, text, _ = run(capsys, "verify", "--json", str(out))
    [r] = reports(text)
    assert code == 1
    assert r["verdict"] == "invalid" and r["chain_ok"] is None
    codes = {c["code"]: c["explanation"] for c in r["status_codes"] if c["kind"] == "failure"}
    assert "assertion.dataHash.mismatch" in codes
    assert "changed after signing" in codes["assertion.dataHash.mismatch"]


def _sign_with(identity: Identity, src: Path, dest: Path) -> None:
    spec = ManifestSpec(
        title=dest.name,
        actions=[
            {
                "action": "c2pa.created",
                "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
            }
        ],
    )
    data = sign_bytes(
        spec, src.read_bytes(), "image/png", make_signer(identity), make_context(thumbnail=False)
    )
    dest.write_bytes(data)


def _identity(
    not_before: dt.datetime | None = None, not_after: dt.datetime | None = None
) -> tuple[Identity, bytes]:
    ca_key, ca = create_ca("Stranger CA", org="Someone else")
    key, cert = issue_signer(
        ca_key, ca, "Stranger", org="Someone else", not_before=not_before, not_after=not_after
    )
    return Identity(pem_cert(cert) + pem_cert(ca), key, "es256", False, None), pem_cert(ca)


def test_signer_outside_the_trust_list_is_valid_untrusted(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = workdir / "src.png"
    Image.new("RGB", (64, 64), "orange").save(src)
    identity, ca_pem = _identity()
    _sign_with(identity, src, workdir / "s.png")
    code, text, _ = run(capsys, "verify", "--json", str(workdir / "s.png"))
    [r] = reports(text)
    assert (code, r["verdict"], r["signer"]["common_name"]) == (1, "valid_untrusted", "Stranger")
    assert any(c["code"] == "signingCredential.untrusted" for c in r["status_codes"])
    (workdir / "ca.pem").write_bytes(ca_pem)
    code, text, _ = run(
        capsys, "verify", "--json", "--trust", str(workdir / "ca.pem"), str(workdir / "s.png")
    )
    assert (code, reports(text)[0]["verdict"]) == (0, "trusted")
    # allowed signers: trusted, but not the signer the policy names
    code, text, _ = run(
        capsys,
        "verify",
        "--json",
        "--trust",
        str(workdir / "ca.pem"),
        "--signer",
        "Our photographer",
        str(workdir / "s.png"),
    )
    r = reports(text)[0]
    assert (code, r["verdict"], r["accepted"]) == (1, "trusted", False)
    # allowed signer certificates: this very certificate is accepted, another one is not
    (workdir / "signer.pem").write_bytes(
        identity.chain_pem.split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n"
    )
    code, text, _ = run(
        capsys,
        "verify",
        "--json",
        "--trust",
        str(workdir / "ca.pem"),
        "--signer-cert",
        str(workdir / "signer.pem"),
        str(workdir / "s.png"),
    )
    assert (code, reports(text)[0]["accepted"]) == (0, True)
    code, text, _ = run(
        capsys,
        "verify",
        "--json",
        "--trust",
        str(workdir / "ca.pem"),
        "--signer-cert",
        str(workdir / "ca.pem"),
        str(workdir / "s.png"),
    )
    assert (code, reports(text)[0]["accepted"]) == (1, False)


def test_expired_signer_without_timestamp_is_invalid(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = workdir / "src.png"
    Image.new("RGB", (64, 64), "purple").save(src)
    # c2pa refuses to sign with an expired certificate, so sign with one that expires in a
    # moment, then wait until it has (X.509 validity has one-second resolution).
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    expires = now + dt.timedelta(seconds=2)
    identity, ca_pem = _identity(now - dt.timedelta(days=1), expires)
    _sign_with(identity, src, workdir / "old.png")
    while dt.datetime.now(dt.UTC) <= expires + dt.timedelta(seconds=1):
        time.sleep(0.2)
    (workdir / "ca.pem").write_bytes(ca_pem)
    code, text, _ = run(
        capsys, "verify", "--json", "--trust", str(workdir / "ca.pem"), str(workdir / "old.png")
    )
    [r] = reports(text)
    assert (code, r["verdict"]) == (1, "invalid")
    expired = [c for c in r["status_codes"] if c["code"] == "signingCredential.expired"]
    assert expired and "time-stamp" in expired[0]["explanation"]


def test_deep_edit_chain_reports_every_ancestor(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prev = workdir / "e0.png"
    record(capsys, "generate", "A red circle on a white background", "-o", str(prev))
    steps = ["grayscale", "brightness 1.1", "crop 0 0 400 400", "resize 300x300", "contrast 1.2"]
    for i, step in enumerate(steps, 1):
        nxt = workdir / f"e{i}.png"
        record(capsys, "edit", str(prev), "-i", step, "-o", str(nxt))
        prev = nxt
    code, text, _ = run(capsys, "verify", "--json", str(prev))
    [r] = reports(text)
    assert code == 0 and r["verdict"] == "trusted" and r["chain_ok"] is True
    parents = [t for t in node_titles(r["chain"]) if t and t.startswith("e")]
    assert parents == ["e5.png", "e4.png", "e3.png", "e2.png", "e1.png", "e0.png"]
    assert len(r["ledger"]["lineage"]) == 6
    deepest = r["chain"]
    while deepest["ingredients"]:
        deepest = deepest["ingredients"][0]
    assert deepest["actions"][0] == "c2pa.created" and deepest["signer"]["common_name"]


def test_stripped_copy_is_recovered_and_unrelated_is_not(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "a.png"
    record(capsys, "generate", "A red circle on a white background", "-o", str(out))
    stripped = workdir / "stripped.jpg"
    Image.open(out).convert("RGB").save(stripped, quality=85)
    other = workdir / "other.png"
    Image.new("RGB", (300, 200), "teal").save(other)
    code, text, _ = run(
        capsys, "verify", "--json", "--accept", "recovered", str(stripped), str(other)
    )
    rs = reports(text)
    assert rs[0]["verdict"] == "recovered" and rs[0]["ledger"]["match"] == "perceptual"
    assert rs[0]["ledger"]["proof"]["verified"] is True
    assert rs[0]["ledger"]["candidates"][0]["label"] == "strong match"
    assert rs[1]["verdict"] == "no_credentials"
    assert code == 1  # the unrelated file is not accepted


def test_checkpoint_checked_with_the_log_key(
    home: Home, workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "a.png"
    record(capsys, "generate", "A red circle", "-o", str(out))
    # Another log's public key in place of ours: the checkpoint signature must not verify.
    original = home.log_pub.read_text()
    other = Home(tmp_path / "other")
    from provenance.home.ledger import create_ledger

    create_ledger(other)
    shutil.copy(other.log_pub, home.log_pub)
    _, text, _ = run(capsys, "verify", "--json", str(out))
    [r] = reports(text)
    assert r["ledger"]["proof"]["verified"] is False
    assert r["ledger"]["proof"]["signature"] is False
    assert "does not verify" in r["ledger"]["proof"]["reason"]
    home.log_pub.write_text(original)
    _code, text, _ = run(capsys, "verify", "--json", str(out))
    assert reports(text)[0]["ledger"]["proof"]["verified"] is True


def test_manifest_naming_an_entry_the_ledger_lacks(
    home: Home,
    workdir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = workdir / "a.png"
    record(capsys, "generate", "A red circle", "-o", str(out))
    entry = reports(run(capsys, "verify", "--json", str(out))[1])[0]["ledger_entry"]
    import sqlite3

    with sqlite3.connect(home.ledger_db) as db:  # a rewritten ledger: the entry is gone
        db.execute("DROP TRIGGER IF EXISTS ledger_entry_no_delete")
        db.execute("DELETE FROM ledger_artifact")
    _code, text, _ = run(capsys, "verify", "--json", str(out))
    [r] = reports(text)
    # hash lookup fails; the manifest's named entry is still found and flagged
    assert r["ledger"]["match"] == "manifest"
    assert r["ledger"]["entry"]["id"] == entry
    assert any("hash differs" in p for p in r["ledger"]["problems"])
