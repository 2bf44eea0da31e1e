"""The AI-disclosure line ends with the C2PA signals rubric's label, as other validators show it."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.home.paths import Home
from tests.conftest import run


def test_local_generate_has_no_label_and_an_edit_is_non_genai(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card, gray = workdir / "card.png", workdir / "gray.png"
    assert run(capsys, "generate", "A red circle", "-o", str(card))[0] == 0
    assert run(capsys, "edit", str(card), "-i", "grayscale", "-o", str(gray))[0] == 0
    _, out, _ = run(capsys, "verify", str(card), str(gray))
    card_text, gray_text = out.split(str(gray), 1)
    assert "AI: a procedural (non-AI) engine" in card_text and "C2PA signals" not in card_text
    assert "C2PA signals: Perceptible Non-GenAI Transformations" in gray_text
    assert "edits: Opened, Color adjustments" in gray_text  # c2pa.adjustedColor, in words
