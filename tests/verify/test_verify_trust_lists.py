"""The bundled trust lists: used by default, named in reports, replaceable by a newer official
list loaded from a file (offline), and switched off with --no-default-trust."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.errors import PolicyError
from provenance.home.paths import Home
from provenance.verify.trust_lists import BUNDLED, OFFICIAL_JSON, OFFICIAL_PEM
from tests.conftest import reports, run
from tests.verify.hostile import camera_original, stranger


def _newer_list(workdir: Path, extra_root: bytes, issued: str) -> tuple[Path, Path]:
    """The bundled official list plus one throwaway root, as a 'downloaded' newer issue."""
    data = json.loads((BUNDLED / OFFICIAL_JSON).read_text())
    data["LoTE"]["ListAndSchemeInformation"]["ListIssueDateTime"] = issued
    pem, js = workdir / f"list-{issued[:4]}.pem", workdir / f"list-{issued[:4]}.json"
    pem.write_bytes((BUNDLED / OFFICIAL_PEM).read_bytes() + extra_root)
    js.write_text(json.dumps(data))
    return pem, js


def test_a_chain_ending_in_a_listed_anchor_is_trusted_by_default(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity, root = stranger("Wire photographer", "Wire Agency")
    camera_original(workdir / "wire.png", identity)
    code, out, _ = run(capsys, "verify", "--json", str(workdir / "wire.png"))
    assert (code, reports(out)[0]["verdict"]) == (1, "valid_untrusted")
    pem, js = _newer_list(workdir, root, "2099-01-01T00:00:00Z")
    code, out, err = run(capsys, "trust", "load", str(pem), "--json-list", str(js))
    assert code == 0, err
    code, out, _ = run(capsys, "verify", "--json", str(workdir / "wire.png"))
    [r] = reports(out)
    assert (code, r["verdict"]) == (0, "trusted")
    assert "C2PA Trust List, issued 2099-01-01" in r["reasons"][0]
    code, out, _ = run(capsys, "verify", "--json", "--no-default-trust", str(workdir / "wire.png"))
    assert (code, reports(out)[0]["verdict"]) == (1, "valid_untrusted")
    # An older (or the same) issue never replaces the list in force; nothing changes.
    old_pem, old_js = _newer_list(workdir, b"", "2030-01-01T00:00:00Z")
    code, _, err = run(capsys, "trust", "load", str(old_pem), "--json-list", str(old_js))
    assert code != 0 and "not newer than the list in force (2099-01-01)" in err
    code, out, _ = run(capsys, "trust", "list")
    assert code == 0 and "C2PA Trust List, issued 2099-01-01" in out
    assert "interim trust list (legacy, frozen 2026-01-01)" in out


def test_user_anchors_added_and_removed(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity, root = stranger("Desk", "Newsroom")
    camera_original(workdir / "n.png", identity)
    (workdir / "newsroom.pem").write_bytes(root)
    assert run(capsys, "trust", "add", str(workdir / "newsroom.pem"))[0] == 0
    code, out, _ = run(capsys, "verify", "--json", str(workdir / "n.png"))
    [r] = reports(out)
    assert code == 0 and "your anchors from newsroom.pem" in r["reasons"][0]
    assert "newsroom.pem" in run(capsys, "trust", "list")[1]
    assert run(capsys, "trust", "remove", "newsroom.pem")[0] == 0
    code, out, _ = run(capsys, "verify", "--json", str(workdir / "n.png"))
    assert (code, reports(out)[0]["verdict"]) == (1, "valid_untrusted")
    (workdir / "junk.pem").write_text("not a certificate\n")
    code, _, err = run(capsys, "trust", "add", str(workdir / "junk.pem"))
    assert code != 0 and "junk.pem: not a PEM certificate bundle" in err


def test_a_broken_list_is_refused_before_anything_is_replaced(home: Home, workdir: Path) -> None:
    from provenance.verify.trust_lists import load_official_list

    (workdir / "bad.json").write_text("{}")
    with pytest.raises(PolicyError, match="not a C2PA trust list"):
        load_official_list(home, BUNDLED / OFFICIAL_PEM, workdir / "bad.json")
    assert not (home.root / "trust-lists").exists()


def test_a_signer_on_the_conforming_products_list_is_named_with_its_product(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity, root = stranger("Pixel Camera", "Google LLC")  # a CPL entry's CN and O
    camera_original(workdir / "pixel.png", identity)
    other, other_root = stranger("Desk", "Unlisted Newsroom")
    camera_original(workdir / "other.png", other)
    pem, js = _newer_list(workdir, root + other_root, "2099-01-01T00:00:00Z")
    assert run(capsys, "trust", "load", str(pem), "--json-list", str(js))[0] == 0
    code, out, _ = run(capsys, "verify", "--json", "--no-ledger", str(workdir / "pixel.png"))
    [r] = reports(out)
    assert (code, r["verdict"]) == (0, "trusted")
    assert r["signer"]["product"] == "Pixel Camera (version 68566598 and later)"
    assert r["signer"]["source"] == "C2PA Trust List, issued 2099-01-01"
    out = run(capsys, "verify", "--no-ledger", str(workdir / "pixel.png"))[1]
    assert "product: on the C2PA Conforming Products List: Pixel Camera" in out
    [r] = reports(run(capsys, "verify", "--json", "--no-ledger", str(workdir / "other.png"))[1])
    assert r["verdict"] == "trusted" and r["signer"]["product"] is None
    html = workdir / "r.html"
    assert (
        run(capsys, "verify", "--no-ledger", "--html", str(html), str(workdir / "pixel.png"))[0]
        == 0
    )
    assert "on the C2PA Conforming Products List: Pixel Camera" in html.read_text()
