"""Public C2PA test files made by other implementations: each gets its expected verdict and
chain_ok with the test anchors as the only trust anchors and the network off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provenance.verify import verify_path
from provenance.verify.policy import TrustPolicy
from tests.conftest import ASSETS, reports, run

_EXPECTED: dict[str, Any] = json.loads((ASSETS / "c2pa" / "expected.json").read_text())["files"]


@pytest.mark.parametrize("name", sorted(_EXPECTED))
def test_expected_verdict(name: str, c2pa_fixtures: Path) -> None:
    policy = TrustPolicy.from_pem_files([c2pa_fixtures / "test-trust-anchors.pem"])
    assert not policy.allow_network
    report = verify_path(c2pa_fixtures / "public-testfiles" / name, policy)
    want = _EXPECTED[name]
    assert (report.verdict, report.chain_ok) == (want["verdict"], want["chain_ok"]), report.reasons
    assert report.reasons  # every verdict says why
    codes = [c for c in report.status_codes if c.kind == "failure"]
    assert all(c.explanation and c.explanation != c.code for c in codes)


@pytest.mark.parametrize("name", sorted(_EXPECTED))
def test_state_is_what_c2pa_reports(name: str, c2pa_fixtures: Path) -> None:
    """read_store takes the validation state from the JSON it parsed: the same answer as
    c2pa's own get_validation_state (which parses the JSON again), for every fixture."""
    import io

    import c2pa

    from provenance.credentials import make_context
    from provenance.credentials.read import read_store
    from provenance.media.sniff import mime_for

    f = c2pa_fixtures / "public-testfiles" / name
    data = f.read_bytes()
    mime = mime_for(data, name) or ""
    ctx = make_context(
        trust_anchors=(c2pa_fixtures / "test-trust-anchors.pem").read_text(), thumbnail=False
    )
    try:
        with c2pa.Reader(mime, io.BytesIO(data), context=ctx) as r:
            want = r.get_validation_state()
    except c2pa.C2paError:
        want = None
    assert read_store(data, mime, ctx).state == want


def test_broken_ancestor_is_named_and_strict_chain_fails_it(
    c2pa_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = str(c2pa_fixtures / "public-testfiles" / "adobe-20220124-CIE-sig-CA.jpg")
    anchors = str(c2pa_fixtures / "test-trust-anchors.pem")
    code, out, _ = run(capsys, "verify", "--json", "--trust", anchors, f)
    [r] = reports(out)
    assert code == 0 and r["verdict"] == "trusted" and r["chain_ok"] is False
    [broken] = [n for n in r["chain"]["ingredients"] if not n["ok"]]
    assert broken["title"] == "E-sig-CA.jpg"
    assert {c["code"] for c in broken["failures"]} >= {"claimSignature.mismatch"}
    code, out, _ = run(capsys, "verify", "--json", "--strict-chain", "--trust", anchors, f)
    [r] = reports(out)
    assert code == 1 and r["accepted"] is False


def test_without_anchors_trusted_becomes_valid_untrusted(
    c2pa_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = str(c2pa_fixtures / "public-testfiles" / "adobe-20220124-CACA.jpg")
    code, out, _ = run(capsys, "verify", "--json", f)
    [r] = reports(out)
    assert (code, r["verdict"]) == (1, "valid_untrusted")
    titles = []
    node = r["chain"]
    while node["ingredients"]:
        node = node["ingredients"][0]
        titles.append(node["title"])
    assert titles == ["CA.jpg", "A.jpg"]  # every ancestor walked, down to the bare original


def test_whole_directory_in_one_batch(
    c2pa_fixtures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors = str(c2pa_fixtures / "test-trust-anchors.pem")
    code, out, err = run(
        capsys,
        "verify",
        "--json",
        "--jobs",
        "2",
        "--no-default-trust",  # the fixtures' verdicts hold with only their test anchors
        "--trust",
        anchors,
        str(c2pa_fixtures / "public-testfiles"),
    )
    got = {Path(r["path"]).name: (r["verdict"], r["chain_ok"]) for r in reports(out)}
    for name, want in _EXPECTED.items():
        assert got[name] == (want["verdict"], want["chain_ok"])
    assert code == 1
    assert "trusted" in err  # the summary table goes to stderr with --json


def test_every_status_code_seen_has_a_plain_reading(c2pa_fixtures: Path) -> None:
    from provenance.verify.explain import KNOWN_CODES
    from provenance.verify.report import ChainNode

    policy = TrustPolicy.from_pem_files([c2pa_fixtures / "test-trust-anchors.pem"])
    seen: set[str] = set()

    def walk(node: ChainNode) -> None:
        seen.update(f.code for f in node.failures)
        for child in node.ingredients:
            walk(child)

    for f in sorted((c2pa_fixtures / "public-testfiles").iterdir()):
        report = verify_path(f, policy)
        seen.update(c.code for c in report.status_codes)
        if report.chain is not None:
            walk(report.chain)
    assert "assertion.dataHash.mismatch" in seen
    assert seen <= KNOWN_CODES, sorted(seen - KNOWN_CODES)
