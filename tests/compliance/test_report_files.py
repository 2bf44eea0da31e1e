"""Issue 13: `report` names each row's output file; the HTML report is a page a person reads.

Before the fix rows carried only hashes, and the HTML report was one wide table without
pictures: each case below failed.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from provenance.cli import main
from provenance.home.paths import Home
from tests.compliance.conftest import make_reviewer


def _report(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    assert main(["report", "--since", "2000-01-01", *extra]) == 0
    return capsys.readouterr().out


def _names_csv(out: str) -> list[str]:
    return [r["output_files"] for r in csv.DictReader(io.StringIO(out)) if r["kind"] != "review"]


def _names_json(out: str) -> list[str]:
    return [" ".join(r["output_names"]) for r in json.loads(out)["entries"] if r["outputs"]]


@pytest.mark.parametrize(
    ("fmt", "names"), [("csv", _names_csv), ("json", _names_json)], ids=["csv", "json"]
)
def test_each_row_names_its_output_file(
    fmt: str, names: object, home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["generate", "A red circle", "--size", "64x64", "-o", str(workdir / "hero.png")]) == 0
    )
    assert (
        main(
            ["edit", str(workdir / "hero.png"), "-i", "grayscale", "-o", str(workdir / "gray.png")]
        )
        == 0
    )
    assert callable(names)
    assert names(_report(capsys, "--format", fmt)) == ["hero.png", "gray.png"]


def test_html_report_is_readable_with_thumbnails(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("hero.png", "decoy.png"):
        assert main(["generate", f"A {name}", "--size", "64x64", "-o", str(workdir / name)]) == 0
    legal = make_reviewer(home, "legal@example.org", workdir / "keys")
    assert main(["review", str(workdir / "hero.png"), "--approve", *legal.cli()]) == 0
    (workdir / "decoy.png").write_bytes(
        (workdir / "hero.png").read_bytes()
    )  # same name, wrong bytes
    page = _report(capsys, "--format", "html", "--thumbnails", str(workdir))
    cards = page.split("<div class=row>")[1:]
    hero = next(c for c in cards if "hero.png" in c and "#0" in c)
    decoy = next(c for c in cards if "decoy.png" in c)
    assert "<style>" in page and "<table" not in page  # cards that wrap, not a wide table
    assert "src='data:image/png;base64," in hero
    assert "data:image" not in decoy and "no picture" in decoy
    assert "badge approved" in hero and "by legal@example.org" in hero
    assert hero.index("approved") < hero.index("<dl>")  # status in the card's first line
