"""The CLI: every edit operation recorded and verified, and ``verify --format crjson``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from tests.conformance.conftest import EDIT_OPERATIONS, NEEDS_MASK
from tests.conformance.rubric import Rubric
from tests.conftest import reports, run

SPEC_22 = Rubric.load("asset-rubric-conformance0.2-spec2.2.yml")


@pytest.fixture
def banner(home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = workdir / "banner.png"
    code, _, err = run(capsys, "generate", "banner 96x64 with a blue sky", "-o", str(out))
    assert code == 0, err
    return out


def test_place_from_the_issue_records_and_verifies(
    home: Home, workdir: Path, banner: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It failed with exit 7 (c2pa.placed needs a componentOf ingredient) before."""
    logo = workdir / "logo.png"
    Image.new("RGBA", (32, 32), (255, 200, 0, 255)).save(logo)
    out = workdir / "out.png"
    argv = ["edit", str(banner), str(logo), "-i", "place 1 bottom left scale 50%", "-o", str(out)]
    code, _, err = run(capsys, *argv)
    assert code == 0, err
    code, text, _ = run(capsys, "verify", "--json", str(out))
    [r] = reports(text)
    assert code == 0 and r["verdict"] == "trusted"
    assert r["actions"] == ["c2pa.opened", "c2pa.placed"]
    titles = {i["title"]: i["relationship"] for i in r["chain"]["ingredients"]}
    assert titles == {"banner.png": "parentOf", "logo.png": "componentOf"}


@pytest.mark.parametrize("op", sorted(EDIT_OPERATIONS))
def test_every_operation_through_the_cli(
    op: str, home: Home, workdir: Path, banner: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["edit", str(banner)]
    if op == "place":
        logo = workdir / "logo.png"
        Image.new("RGB", (24, 24), "gold").save(logo)
        argv.append(str(logo))
    if op in NEEDS_MASK:
        mask = Image.new("L", (96, 64), 0)
        mask.paste(255, (0, 0, 48, 32))
        mask.save(workdir / "mask.png")
        argv += ["--mask", str(workdir / "mask.png")]
    out = workdir / f"{op}.png"
    code, _, err = run(capsys, *argv, "-i", EDIT_OPERATIONS[op], "-o", str(out))
    assert code == 0, err
    code, text, _ = run(capsys, "verify", "--format", "crjson", str(out))
    assert code == 0
    [crjson] = reports(text)
    failed = {k: r.matches for k, r in SPEC_22.check(crjson).items() if not r.passed}
    assert failed == {}
    actions = crjson["manifests"][0]["assertions"]["c2pa.actions.v2"]["actions"]
    with open_ledger(home, read_only=True) as ledger:
        [entry] = ledger.recent(1)
    # The ledger entry's action list is the manifest's, name for name.
    assert entry.body["actions"] == [a["action"] for a in actions]


def test_crjson_per_file_in_input_order(
    home: Home, workdir: Path, banner: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = workdir / "plain.png"
    Image.new("RGB", (16, 16), "white").save(plain)
    missing = workdir / "missing.png"
    code, text, err = run(
        capsys, "verify", "--format", "crjson", str(banner), str(plain), str(missing)
    )
    assert code == 1  # the plain and missing files are not accepted, as with --json
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 3 and lines[1] == {} and lines[2] == {}
    [manifest] = lines[0]["manifests"]
    assert manifest["label"].startswith("urn:c2pa:")
    codes = [s["code"] for s in manifest["validationResults"]["success"]]
    assert "signingCredential.trusted" in codes  # read under the home's trust anchors
    assert lines[0]["jsonGenerator"]["name"] == "c2pa-rs"
    assert "Summary" in err and "accepted" in err  # the summary goes to stderr, not stdout
