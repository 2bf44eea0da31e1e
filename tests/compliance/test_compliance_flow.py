"""The marketing flow of issue 6, through the CLI: generate -> edit -> review -> check -> report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.checkpoint import key_from_pem
from provenance.compliance.report import check_report
from provenance.home.paths import ENV_ACTOR, Home
from tests.compliance.conftest import Reviewer, make_reviewer
from tests.conftest import run


def rules(out: str) -> dict[str, dict[str, object]]:
    [doc] = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {r["rule"]: r for r in doc["results"]}


def test_marketing_flow(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_ACTOR, "designer@example.org")
    policy = workdir / "publish.toml"
    policy.write_text(
        'name = "marketing"\n[rules.credentials]\n[rules.ai_disclosure]\n'
        "[rules.latent_disclosure]\n[rules.approval]\n"
        'reviewers = ["legal@example.org"]\nfour_eyes = true\n[rules.chain]\n'
        "[rules.recorded]\n"
    )
    hero, final, v2 = workdir / "hero.png", workdir / "final.png", workdir / "final-v2.png"
    assert run(capsys, "generate", "A blue square", "-o", str(hero))[0] == 0
    assert run(capsys, "edit", str(hero), "-i", "grayscale", "-o", str(final))[0] == 0
    # Each reviewer signs with their own key; the home's admin enrolled their certificates.
    legal = make_reviewer(home, "legal@example.org", workdir / "keys")
    brand = make_reviewer(home, "brand@example.org", workdir / "keys")
    _review_edit_and_reject(capsys, policy, final, v2, legal, brand)
    _erase_and_report(capsys, home, hero)


def _review_edit_and_reject(
    capsys: pytest.CaptureFixture[str],
    policy: Path,
    final: Path,
    v2: Path,
    legal: Reviewer,
    brand: Reviewer,
) -> None:
    # Not yet reviewed: the gate fails on approval alone, and says so.
    code, out, _ = run(capsys, "check", str(final), "--policy", str(policy), "--json")
    assert code == 1
    got = rules(out)
    assert not got["approval"]["passed"] and "no approval" in str(got["approval"]["reason"])
    assert all(r["passed"] for name, r in got.items() if name != "approval")

    code, out, err = run(
        capsys,
        "review",
        str(final),
        "--approve",
        "--by",
        "legal@example.org",
        *legal.cli(),
        "--note",
        "claims checked",
    )
    assert code == 0, err
    code, out, _ = run(capsys, "check", str(final), "--policy", str(policy))
    assert code == 0, out
    assert "PASS" in out and "approved by legal@example.org" in out

    # Edit the approved file: the new file is not approved; the approved one still is.
    assert run(capsys, "edit", str(final), "-i", "brightness 1.2", "-o", str(v2))[0] == 0
    code, out, _ = run(capsys, "check", str(v2), str(final), "--policy", str(policy), "--json")
    assert code == 1
    docs = [json.loads(line) for line in out.splitlines()]
    assert [d["passed"] for d in docs] == [False, True]
    v2_approval = next(r for r in docs[0]["results"] if r["rule"] == "approval")
    assert "every change needs its own approval" in v2_approval["reason"]

    # A later rejection of the approved file wins.
    code, _, err = run(
        capsys,
        "review",
        str(final),
        "--reject",
        "--by",
        "brand@example.org",
        *brand.cli(),
        "--note",
        "wrong logo",
    )
    assert code == 0, err
    code, out, _ = run(capsys, "check", str(final), "--policy", str(policy))
    assert code == 1
    assert "rejected by brand@example.org" in out and "wrong logo" in out


def _erase_and_report(capsys: pytest.CaptureFixture[str], home: Home, hero: Path) -> None:
    # Erase the generation's prompt: audit stays clean, the report keeps the salted hash.
    code, out, _ = run(capsys, "lineage", str(hero), "--json")
    hero_entry = json.loads(out)["entry"]
    code, out, err = run(capsys, "ledger", "erase-prompt", hero_entry, "--reason", "GDPR art. 17")
    assert code == 0, err
    assert "salted hash kept: sha256:" in out
    code, out, _ = run(capsys, "ledger", "audit", "--json")
    assert code == 0 and json.loads(out)["ok"] is True

    code, out, err = run(capsys, "report", "--since", "2000-01-01", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    rows = {r["id"]: r for r in doc["entries"]}
    hero_row = rows[hero_entry]
    assert hero_row["prompt"] is None and hero_row["prompt_status"] == "erased"
    assert hero_row["prompt_hash"].startswith("sha256:")
    assert "GDPR art. 17" in hero_row["detail"]
    assert [r["kind"] for r in doc["entries"]] == [
        "generate",
        "edit",
        "review",
        "edit",
        "review",
        "erasure",
    ]
    final_row = doc["entries"][1]
    assert final_row["prompt"] == "grayscale" and final_row["actor"] == "designer@example.org"
    assert final_row["review_status"] == "rejected" and final_row["reviewer"] == "brand@example.org"
    assert final_row["inputs"][0]["sha256"] == hero_row["outputs"][0]
    # The report checks out against the log's public key; a doctored row does not.
    vkey = home.log_pub.read_text().strip()
    assert check_report(doc, vkey) == []
    doc["entries"][1]["actor"] = "someone-else@example.org"
    assert any("actor" in p for p in check_report(doc, vkey))
    assert key_from_pem(home.log_key.read_bytes())  # the key that signed the report's checkpoint


def test_report_formats_and_window(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pic = workdir / "pic.png"
    assert run(capsys, "generate", "A green triangle", "-o", str(pic))[0] == 0
    tester = make_reviewer(home, "tester@example.org", workdir / "keys")
    assert run(capsys, "review", str(pic), "--approve", *tester.cli())[0] == 0

    code, out, _ = run(capsys, "report", "--since", "2000-01-01", "--until", "2000-12-31")
    assert code == 0
    assert out.splitlines()[0].startswith("index,id,time,kind") and len(out.splitlines()) == 1

    csv_out = workdir / "audit.csv"
    code, _, err = run(capsys, "report", "--since", "2000-01-01T00:00:00Z", "-o", str(csv_out))
    assert code == 0, err
    import csv

    rows = list(csv.DictReader(csv_out.open()))
    assert [r["kind"] for r in rows] == ["generate", "review"]
    assert rows[0]["review_status"] == "approved" and rows[0]["reviewer"] == "tester@example.org"
    assert rows[0]["prompt"] == "A green triangle"
    note = Path(f"{csv_out}.checkpoint").read_text()
    assert note.splitlines()[1] == rows[0]["checkpoint_size"]

    html_out = workdir / "audit.html"
    assert (
        run(
            capsys,
            "report",
            "--since",
            "2000-01-01",
            "--format",
            "html",
            "--no-prompts",
            "-o",
            str(html_out),
        )[0]
        == 0
    )
    page = html_out.read_text()
    assert "<div class=row>" in page and "A green triangle" not in page and "withheld" in page
    assert "— " in page  # the signed note's signature line
