"""A stripped copy of an unrecorded poster that differs from a recorded one only in its words is
never `recovered` as the recorded one; a stripped copy of the recorded poster still is."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from provenance.backends.base import GenerateRequest
from provenance.backends.local import LocalBackend
from provenance.home.paths import Home
from tests.conftest import reports, run
from tests.verify.conftest import record

RECORDED = "poster 1200x630, dark blue, title 'Election night'"
VARIANT = "poster 1200x630, dark blue, title 'Election day'"
CARD = "A yellow card with the text 'SALE 20% OFF'"
CARD_VARIANT = "A yellow card with the text 'SALE 30% OFF'"


def _stripped_jpeg(png: bytes, dest: Path) -> Path:
    """What a re-upload does: pixels only (no manifest), JPEG q75."""
    Image.open(io.BytesIO(png)).convert("RGB").save(dest, "JPEG", quality=75)
    return dest


def _unrecorded(prompt: str, dest: Path) -> Path:
    made = LocalBackend().generate(GenerateRequest(prompt))  # drawn, never recorded
    return _stripped_jpeg(made.outputs[0].data, dest)


@pytest.mark.parametrize(
    ("recorded", "variant"),
    [(RECORDED, VARIANT), (CARD, CARD_VARIANT)],
    ids=["poster", "sale-card"],
)
def test_copy_of_unrecorded_text_variant_is_not_recovered(
    home: Home,
    workdir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    recorded: str,
    variant: str,
) -> None:
    original = workdir / "recorded.png"
    record(capsys, "generate", recorded, "-o", str(original))
    other = _unrecorded(variant, tmp_path / "variant.jpg")
    own = _stripped_jpeg(original.read_bytes(), tmp_path / "own-copy.jpg")

    code, out, _ = run(capsys, "verify", "--json", "--accept", "recovered", str(other), str(own))
    variant_report, own_report = reports(out)
    assert variant_report["verdict"] == "no_credentials", variant_report["ledger"]
    assert variant_report["ledger_entry"] is None
    # at most a lead for a human: listed as a candidate, never confident
    assert all(not c["confident"] for c in variant_report["ledger"]["candidates"])
    assert own_report["verdict"] == "recovered", own_report["ledger"]
    assert own_report["ledger"]["match"] == "perceptual"
    [signed] = reports(run(capsys, "verify", "--json", str(original))[1])
    assert own_report["ledger_entry"] == signed["ledger_entry"]
    assert code == 1  # the variant is not accepted
