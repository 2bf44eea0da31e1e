"""The offline engine says what it did: style words, size words, and what it ignored."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from provenance.backends.local._prompt import Scene, parse_prompt, parse_size
from provenance.backends.local._render import render
from provenance.credentials.sign import _explain
from provenance.home.paths import Home
from tests.conftest import run

SALE = "poster 1080x1350 for our spring sale, 'SPRING SALE -30%' in bold, pastel colours"


def test_style_words_are_understood_not_ignored() -> None:
    scene = parse_prompt(SALE)
    assert scene.bold and scene.palette == "pastel" and scene.size == (1080, 1350)
    assert "text: bold ('bold')" in scene.understood
    assert "palette: pastel ('pastel')" in scene.understood
    assert not {"bold", "pastel", "colours"} & {w.lower() for w in scene.ignored_words}
    assert {"our", "spring", "sale"} <= {w.lower() for w in scene.ignored_words}
    assert parse_prompt("'Hi' in italics").italic
    assert parse_prompt("three circles, dark colours").palette == "dark"
    assert parse_prompt("a vivid red star").palette == "vivid"
    assert parse_prompt("gradients from navy to teal").gradient


def test_size_and_layout_words_are_never_drawn_as_text() -> None:
    scene = parse_prompt("banner 1200x628 with our logo")
    assert scene.size == (1200, 628) and scene.layout == "banner"
    assert scene.title == "our logo"
    for prompt in ("square poster 16:9", "banner 1200x628"):
        title = parse_prompt(prompt).title or ""
        assert not {"banner", "poster", "square", "1200x628", "16:9"} & set(title.split())


def _ink(scene: Scene) -> int:
    pixels = np.asarray(render(scene, 0).convert("L"))
    return int((pixels < 128).sum())


def test_bold_italic_and_palettes_change_the_pixels() -> None:
    regular = parse_prompt("300x120 'Bold move'")
    bold = parse_prompt("300x120 'Bold move' in bold")
    italic = parse_prompt("300x120 'Bold move' italic")
    assert _ink(bold) > _ink(regular) * 1.1
    assert render(italic, 0).tobytes() != render(regular, 0).tobytes()
    plain = np.asarray(render(parse_prompt("200x200 three red circles"), 0)).mean()
    pastel = np.asarray(render(parse_prompt("200x200 three red circles, pastel"), 0)).mean()
    dark = np.asarray(render(parse_prompt("200x200 three red circles, dark colours"), 0)).mean()
    assert pastel > plain > dark


def test_docs_banner_example_puts_the_diamond_top_right() -> None:
    prompt = (
        'gradient from navy to teal 16:9 banner with "Spring sale" and a gold diamond top right'
    )
    img = np.asarray(render(parse_prompt(prompt), 0)).astype(int)
    gold = (abs(img[..., 0] - 255) < 40) & (abs(img[..., 1] - 215) < 40) & (img[..., 2] < 60)
    ys, xs = np.nonzero(gold)
    assert len(xs) > 50
    h, w = gold.shape
    assert xs.mean() > w * 0.6 and ys.mean() < h * 0.45


@pytest.mark.parametrize(
    ("size", "expected"), [("16:9", (1024, 576)), ("square", (1024, 1024)), ("banner", (1500, 500))]
)
def test_size_option_takes_what_its_help_advertises(
    home: Home,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    size: str,
    expected: tuple[int, int],
) -> None:
    out = workdir / "s.png"
    code, _, err = run(capsys, "generate", "a red circle", "-o", str(out), "--size", size)
    assert code == 0, err
    assert Image.open(out).size == expected
    assert parse_size(size) == expected


def test_generate_prints_what_it_understood_and_ignored(
    home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "generate", SALE, "-o", str(workdir / "p.png"), "--json")
    assert code == 0, err
    row = json.loads(out)
    assert "text: bold ('bold')" in row["understood"]
    assert row["ignored_words"] == ["our", "spring", "sale"]
    assert "understood: size: 1080x1350" in err and "ignored: our, spring, sale" in err
    code, out, err = run(capsys, "generate", "a red circle", "-o", str(workdir / "c.png"))
    assert code == 0 and "understood: shape: 1 x red circle" in err and "ignored" not in err
    code, _, err = run(capsys, "generate", "x", "-o", str(workdir / "d.png"), "--size", "huge")
    assert code == 2 and "an aspect W:H (16:9)" in err


def test_a_long_c2pa_error_is_one_line_in_our_words_never_cut_mid_word() -> None:
    raw = (
        "assertion.action.ingredientMismatch: action[1] ('c2pa.placed') must have valid\n"
        "ingredient with componentOf relationship " + "and more detail " * 40
    )
    text = _explain(Exception(raw))
    assert "\n" not in text
    assert text.startswith("an action names an ingredient the manifest lacks")
    assert "(c2pa: assertion.action.ingredientMismatch: action[1]" in text
    assert text.endswith(" …)") and text[: -len(" …)")].split()[-1] in ("and", "more", "detail")
