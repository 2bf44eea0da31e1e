"""Pixel confirmation (recovery.confirm) on real photographs: the honest transforms of
docs/recovery.md's calibration are confirmed, added or changed content is not."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import skimage
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from provenance.recovery.confirm import confirm, outline


def _photo(name: str) -> Image.Image:
    return Image.open(skimage.data.__path__[0] + f"/{name}").convert("RGB")  # type: ignore[attr-defined]


def _encode(img: Image.Image, fmt: str, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, fmt, quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


def _crop(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = img.size
    return img.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


HONEST: dict[str, Callable[[Image.Image], Image.Image]] = {
    "jpeg q50": lambda i: _encode(i, "JPEG", 50),
    "webp q80": lambda i: _encode(i, "WEBP", 80),
    "resize 25%": lambda i: i.resize((i.width // 4, i.height // 4), Image.Resampling.LANCZOS),
    "grayscale": lambda i: i.convert("L"),
    "brightness +10%": lambda i: ImageEnhance.Brightness(i).enhance(1.1),
    "crop 4% off one side, q75": lambda i: _encode(_crop(i, 0.04, 0, 0, 0), "JPEG", 75),
    "crop 10% uneven, half size": lambda i: _crop(i, 0.06, 0.01, 0.03, 0.05).resize(
        (i.width * 45 // 100, i.height * 45 // 100), Image.Resampling.BILINEAR
    ),
}


@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png", "text.png"])
@pytest.mark.parametrize("how", list(HONEST))
def test_honest_copies_are_confirmed(name: str, how: str) -> None:
    original = _photo(name)
    found = confirm(HONEST[how](original), original)
    assert found.state == "confirmed", (how, found.reason, found.regions[:3])


def test_an_overlaid_caption_is_altered_where_it_is() -> None:
    original = _photo("astronaut.png")
    copy = original.copy()
    ImageDraw.Draw(copy).rectangle((300, 440, 500, 500), fill="black")
    ImageDraw.Draw(copy).text((310, 450), "FAKE", fill="white", font_size=36)
    found = confirm(_encode(copy, "JPEG", 80), original)
    assert found.state == "altered"
    x0, y0 = min(r.x for r in found.regions), min(r.y for r in found.regions)
    x1 = max(r.x + r.width for r in found.regions)
    y1 = max(r.y + r.height for r in found.regions)
    assert 285 <= x0 <= 310 and 425 <= y0 <= 450 and 490 <= x1 <= 512 and y1 >= 490, found
    picture = outline(copy, [(r.x, r.y, r.width, r.height) for r in found.copy_regions])
    assert picture.size == (480, 480)
    assert (255, 0, 170) in {picture.getpixel((x, 420)) for x in range(270, 480)}


def test_a_different_picture_cannot_be_aligned_or_is_altered() -> None:
    found = confirm(_photo("coffee.png"), _photo("astronaut.png"))
    assert found.state in ("unaligned", "altered")


def _poster(numbers: str) -> Image.Image:
    card = Image.new("RGB", (512, 512), "white")
    ImageDraw.Draw(card).text((40, 200), numbers, fill="black", font_size=60)
    return card


@pytest.mark.parametrize("side", [1, 8, 24, 64, 96])
def test_a_copy_too_small_to_show_a_change_is_not_confirmed(side: int) -> None:
    """A doctored poster shrunk to 24x24 px agreed with the recorded one at that size and was
    "confirmed" (so verify said `recovered`: "these are the recorded pixels"). Under a quarter of
    the original's size, the pixels are not compared at all, the genuine copy's included."""
    recorded, doctored = _poster("68% to 32%"), _poster("86% to 14%")
    for copy in (doctored, recorded):
        found = confirm(copy.resize((side, side), Image.Resampling.LANCZOS), recorded)
        assert found.state == "unaligned", (side, found)
        assert "too little detail" in found.reason and not found.regions
    quarter = confirm(recorded.resize((128, 128), Image.Resampling.LANCZOS), recorded)
    assert quarter.state == "confirmed", quarter  # a quarter is still shown in full


def test_a_copy_far_larger_than_the_original_is_not_confirmed() -> None:
    """A 4x4 px recorded original "confirmed" any 512 px picture of its average colour."""
    recorded = _poster("68% to 32%")
    found = confirm(recorded, recorded.resize((4, 4), Image.Resampling.BOX))
    assert found.state == "unaligned" and "times the recorded original's size" in found.reason


@pytest.mark.parametrize("colour", ["black", "white"])
def test_a_flat_copy_is_not_the_recorded_picture(colour: str) -> None:
    """A flat black 512x512 square was "confirmed" as a recorded poster: the tone fit's unbounded
    offset (-255) mapped the whole original to black. A flat white one vs a dark picture, alike."""
    recorded = _poster("68% to 32%")
    original = recorded if colour == "black" else ImageOps.invert(recorded)
    found = confirm(Image.new("RGB", recorded.size, colour), original)
    assert found.state == "altered", found
    darker = ImageEnhance.Brightness(original).enhance(0.85)  # an honest tone change still agrees
    assert confirm(darker, original).state == "confirmed"
