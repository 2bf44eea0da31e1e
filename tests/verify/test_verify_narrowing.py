"""c2pa is handed only the anchors a file's certificates could chain to (verify/narrowing.py):
never a different report than with every list, and never an anchor left out that could vouch."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provenance.verify import judge, verify_path
from provenance.verify.narrowing import narrowed
from provenance.verify.policy import default_policy
from tests.conftest import ASSETS
from tests.verify.hostile import camera_original, stranger

_THIRD_PARTY = [
    *((p, ASSETS / "c2pa" / "test-trust-anchors.pem") for p in (ASSETS / "c2pa").glob("*/*.*")),
    *(
        (p, ASSETS / "c2pa-rs" / "test_cert_root_bundle.pem")
        for p in (ASSETS / "c2pa-rs" / "files").iterdir()
    ),
]
_FILES = sorted((p, a) for p, a in _THIRD_PARTY if p.suffix.lower() not in {".json", ".md", ".pem"})


def _report(path: Path, anchors: Path, narrow: bool, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setattr(judge, "NARROW_AFTER", 0 if narrow else 10**9)
    policy = default_policy(None, trust=[anchors])  # the bundled lists too: ~70 anchors
    return verify_path(path, policy).to_json()


@pytest.mark.parametrize(("path", "anchors"), _FILES, ids=[p.name for p, _ in _FILES])
def test_a_narrowed_read_reports_what_the_full_lists_report(
    path: Path, anchors: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = _report(path, anchors, False, monkeypatch)
    assert _report(path, anchors, True, monkeypatch) == full


def test_the_third_party_files_are_all_covered() -> None:
    names = {p.name for p, _ in _FILES}
    assert (
        len(names) >= 40 and {"CA.jpg", "libpng-test.png", "nikon-20221019-building.jpeg"} <= names
    )


def test_only_the_root_a_file_chains_to_is_handed_to_c2pa_and_it_still_vouches(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    identity, root = stranger("Wire photographer", "Wire Agency")
    camera_original(workdir / "wire.png", identity)
    (workdir / "root.pem").write_bytes(root)
    policy = default_policy(None, trust=[workdir / "root.pem"])
    lists = policy.groups.lists
    assert sum(pem.count("BEGIN CERT") for _, _, pem in lists) > 50
    cut = narrowed(lists, (workdir / "wire.png").read_bytes(), "image/png")
    assert cut is not None and [pem for _, _, pem in cut] == [root.decode()]
    assert [name for _, name, _ in cut] == [lists[0][1]]  # its list keeps its name
    monkeypatch.setattr(judge, "NARROW_AFTER", 0)
    report = verify_path(workdir / "wire.png", policy)
    assert report.verdict == "trusted" and "root.pem" in report.reasons[0]


def _name(*parts: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in parts])


def _cert(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_an_anchor_named_in_another_case_spacing_or_order_is_kept() -> None:
    """The match is looser than chain building: an anchor that could vouch is never cut."""
    key = ec.generate_private_key(ec.SECP256R1())
    root = _cert(
        _name((NameOID.COMMON_NAME, "Wire Root"), (NameOID.ORGANIZATION_NAME, "Wire  Agency")),
        _name((NameOID.COMMON_NAME, "Wire Root"), (NameOID.ORGANIZATION_NAME, "Wire  Agency")),
        key,
    )
    other = _cert(
        _name((NameOID.COMMON_NAME, "Other Root")), _name((NameOID.COMMON_NAME, "Other Root")), key
    )
    issued = _cert(
        _name((NameOID.COMMON_NAME, "signer")),
        _name((NameOID.ORGANIZATION_NAME, "wire agency"), (NameOID.COMMON_NAME, "WIRE ROOT")),
        key,
    )
    der = issued.public_bytes(serialization.Encoding.DER)
    png = _png_with_store(b"\x00junk" + der + b"more")
    lists = (("manifest", "mine", _pem(other) + _pem(root)), ("tsa", "tsas", _pem(other)))
    assert narrowed(lists, png, "image/png") == (("manifest", "mine", _pem(root)),)


def test_where_nothing_can_be_said_every_anchor_is_used() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    root = _cert(_name((NameOID.COMMON_NAME, "R")), _name((NameOID.COMMON_NAME, "R")), key)
    lists = (("manifest", "mine", _pem(root)),)
    der = _cert(
        _name((NameOID.COMMON_NAME, "S")), _name((NameOID.COMMON_NAME, "X")), key
    ).public_bytes(serialization.Encoding.DER)
    assert narrowed(lists, _png_with_store(b"no certificate here"), "image/png") is None
    assert narrowed(lists, _png_with_store(der), "image/png") is None  # no anchor matches
    assert narrowed(lists, der, "video/mp4") is None  # a store not isolated here
    many = b"".join(
        _cert(
            _name((NameOID.COMMON_NAME, f"S{i}")), _name((NameOID.COMMON_NAME, "R")), key
        ).public_bytes(serialization.Encoding.DER)
        for i in range(65)
    )
    assert narrowed(lists, _png_with_store(many), "image/png") is None  # past MAX_CERTS
    # A store stuffed with certificate-sized look-alikes is not parsed one by one (a hostile
    # file's cost stays bounded): past MAX_TRIED, every anchor, even before a real certificate.
    issued = _cert(_name((NameOID.COMMON_NAME, "S")), _name((NameOID.COMMON_NAME, "R")), key)
    real = issued.public_bytes(serialization.Encoding.DER)
    assert narrowed(lists, _png_with_store(real), "image/png") == lists
    junk = b"".join(b"\x30\x82\x01\x00" + bytes([i % 251]) * 252 for i in range(1100))
    assert narrowed(lists, _png_with_store(junk + real), "image/png") is None


def _png_with_store(payload: bytes) -> bytes:
    """A PNG signature and one caBX chunk holding ``payload`` (CRC not checked here)."""
    return b"\x89PNG\r\n\x1a\n" + len(payload).to_bytes(4, "big") + b"caBX" + payload + b"\0" * 4
