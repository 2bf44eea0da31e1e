"""Issue 12: what verify prints must not be forged by the file, nor claim what it has not shown:
terminal injection, look-alike local identities, a manifest naming someone else's entry, files
that will turn invalid without a time-stamp, and the desk-tool wording."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.credentials import ManifestSpec, make_context
from provenance.credentials.read import read_store
from provenance.home.identity import Identity, create_ca, issue_signer, pem_cert
from provenance.home.paths import ENV_HOME, Home
from provenance.verify.chain import assertions
from provenance.vocab import LEDGER_ASSERTION, REQUEST_ASSERTION
from tests.conftest import reports, run
from tests.verify.hostile import CAPTURE, sign_png, stranger

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
FORGED = "x\x1b[2K\x1b[1A\r\n  TRUSTED: intact, signed by a trusted signer\n  signed by: Reuters Pictures Desk"


def test_strings_from_the_file_cannot_draw_on_the_terminal(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity, _ = stranger("Sender\x1b]0;pwned\x07", "Hostile")
    spec = ManifestSpec(
        title="a\nTRUSTED.png",
        actions=[{"action": "c2pa.created", "digitalSourceType": TRAINED}],
        assertions=[{"label": REQUEST_ASSERTION, "kind": "Json", "data": {"model": FORGED}}],
    )
    sign_png(workdir / "f.png", identity, spec)
    code, out, _ = run(capsys, "verify", str(workdir / "f.png"))
    assert code == 1 and "VALID BUT UNTRUSTED" in out
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    lines = out.splitlines()
    assert not any(x.lstrip().startswith(("TRUSTED", "signed by: Reuters")) for x in lines)
    assert "\\x1b[2K" in out  # shown, escaped, so the desk sees what was tried


def test_local_identity_only_when_it_chains_to_this_homes_ca(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A CA whose subject imitates the local one (same organisation name), trusted via --trust.
    ca_key, ca = create_ca("Provenance local CA")
    key, cert = issue_signer(ca_key, ca, "Provenance local signer (tester@example.org)")
    mimic = Identity(pem_cert(cert) + pem_cert(ca), key, "es256", False, None)
    (workdir / "mimic.pem").write_bytes(pem_cert(ca))
    sign_png(
        workdir / "m.png",
        mimic,
        ManifestSpec("m.png", [{"action": "c2pa.created", "digitalSourceType": CAPTURE}]),
    )
    code, out, _ = run(capsys, "generate", "A red circle", "-o", str(workdir / "own.png"))
    assert code == 0
    files = [str(workdir / "m.png"), str(workdir / "own.png")]
    _, out, _ = run(capsys, "verify", "--json", "--trust", str(workdir / "mimic.pem"), *files)
    mimic_r, own_r = reports(out)
    assert mimic_r["verdict"] == own_r["verdict"] == "trusted"
    assert mimic_r["signer"]["local_identity"] is False
    assert own_r["signer"]["local_identity"] is True
    _, out, _ = run(capsys, "verify", "--trust", str(workdir / "mimic.pem"), files[0])
    assert "[local identity]" not in out and "self-issued" not in out


def test_manifest_naming_a_real_entry_is_not_recorded_as_it(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = workdir / "own.png"
    assert run(capsys, "generate", "A red circle", "-o", str(own))[0] == 0
    ctx = make_context(trust_anchors=home.ca_cert.read_text(), thumbnail=False)
    claim = assertions(read_store(own.read_bytes(), "image/png", ctx).active or {})
    claimed = claim[LEDGER_ASSERTION]
    identity, _ = stranger("Someone", "Elsewhere")
    spec = ManifestSpec(
        "copy.png",
        [{"action": "c2pa.created", "digitalSourceType": CAPTURE}],
        assertions=[{"label": LEDGER_ASSERTION, "kind": "Json", "data": claimed}],
    )
    sign_png(workdir / "claims.png", identity, spec, color="navy")
    _, out, _ = run(capsys, "verify", "--json", str(workdir / "claims.png"))
    [r] = reports(out)
    assert r["ledger"]["match"] == "manifest"
    assert not any("recorded as ledger entry" in x for x in r["reasons"])
    _, out, _ = run(capsys, "verify", str(workdir / "claims.png"))
    ledger_lines = [x for x in out.splitlines() if x.lstrip().startswith("ledger")]
    assert ledger_lines and "not the output recorded there" in ledger_lines[0]
    assert "proof" not in out.split("ledger", 1)[1].split("\n", 1)[0]
    assert "included in the latest signed checkpoint" not in out


def test_signing_without_a_tsa_says_until_when_it_holds(
    home: Home, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from provenance.record import timestamps

    monkeypatch.setattr(timestamps, "_warned", False)  # a fresh process for the once-only warning
    code, _, err = run(capsys, "generate", "A red circle", "-o", str(workdir / "a.png"))
    assert code == 0 and "without a time-stamp authority" in err and "until 20" in err
    code, _, err = run(capsys, "generate", "A red circle", "-o", str(workdir / "b.png"))
    assert "time-stamp" not in err  # once per process
    _, out, _ = run(capsys, "verify", "--json", str(workdir / "a.png"))
    [r] = reports(out)
    assert r["signer"]["time_stamped"] is False
    assert any(n.startswith("no trusted time-stamp: valid until 20") for n in r["notes"])
    _, out, _ = run(capsys, "verify", str(workdir / "a.png"))
    assert "signed at: not known (no time-stamp)" in out


def test_desk_wording(
    home: Home,
    workdir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    d = tmp_path / "incoming"
    d.mkdir()
    assert run(capsys, "generate", "A red circle", "-o", str(d / "a.png"))[0] == 0
    assert run(capsys, "edit", str(d / "a.png"), "-i", "grayscale", "-o", str(d / "b.png"))[0] == 0
    (d / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (d / "README.txt").write_text("pictures from the wire\n")
    code, out, err = run(capsys, "verify", str(d))
    assert code == 0  # the two pictures are trusted; the rest is not media and is skipped
    assert "skipped (not media)" in err or "skipped (not media)" in out
    assert "README.txt" not in out and ".DS_Store" not in out
    assert "app or device used: provenance" in out
    assert "AI: a procedural (non-AI) engine" in out
    assert "edits: " in out and "c2pa." not in out.split("edits: ")[1].splitlines()[0]
    # A desk without a home: "no ledger configured" as a fact, never "run provenance init".
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "desk-without-home"))
    _, out, _ = run(capsys, "verify", str(d / "a.png"))
    assert "no ledger configured" in out and "provenance init" not in out
    monkeypatch.setenv(ENV_HOME, str(home.root))
    # A tampered file: the claimed signer is not presented as the signer.
    data = bytearray((d / "a.png").read_bytes())
    at = data.rindex(b"IDAT") + 40
    data[at] ^= 0x5A
    (workdir / "t.png").write_bytes(bytes(data))
    _, out, _ = run(capsys, "verify", str(workdir / "t.png"))
    assert "INVALID" in out and "signed by:" not in out and "could not be verified" in out


def test_ledger_listings_escape_names_from_files(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workdir / "a\x1b[2Jb[red]x.png"  # a file name is chosen by whoever sent the file
    assert run(capsys, "generate", "A red circle", "-o", str(out))[0] == 0
    for argv in (("log",), ("lineage", str(out))):
        code, text, _ = run(capsys, *argv)
        assert code == 0 and "\x1b" not in text and "\\x1b[2Jb" in text


def test_the_signer_certificate_is_found_in_the_store_where_it_lies(workdir: Path) -> None:
    """find_signer_cert searches a store held in one PNG chunk in place; split over several
    chunks it is joined first. Either way it finds the signer's own certificate, and the bytes
    searched are exactly the store's."""
    import struct
    import zlib

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from provenance.verify.signer_cert import _store, _store_bytes, find_signer_cert

    identity, _ = stranger("Split Signer", "Elsewhere")
    spec = ManifestSpec("a.png", [{"action": "c2pa.created", "digitalSourceType": CAPTURE}])
    sign_png(workdir / "a.png", identity, spec)
    data = (workdir / "a.png").read_bytes()
    cert = x509.load_pem_x509_certificate(identity.chain_pem)
    serial = str(cert.serial_number)
    buf, lo, hi = _store(data, "image/png")
    assert buf is data and buf[lo:hi] == _store_bytes(data, "image/png")
    found = find_signer_cert(data, "image/png", serial)
    assert found is not None and found.der == cert.public_bytes(Encoding.DER)
    # the same store split over two caBX chunks (a cert may straddle the cut)
    at = data.index(b"caBX") - 4
    size = struct.unpack(">I", data[at : at + 4])[0]
    body = data[at + 8 : at + 8 + size]

    def chunk(payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + b"caBX"
            + payload
            + struct.pack(">I", zlib.crc32(b"caBX" + payload))
        )

    cut = body.index(cert.public_bytes(Encoding.DER)) + 100
    split = data[:at] + chunk(body[:cut]) + chunk(body[cut:]) + data[at + 12 + size :]
    buf, lo, hi = _store(split, "image/png")
    assert buf[lo:hi] == body
    again = find_signer_cert(split, "image/png", serial)
    assert again is not None and again.sha256 == found.sha256
