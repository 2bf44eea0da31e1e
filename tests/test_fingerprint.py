"""Perceptual fingerprints on real images: what is recovered, what is not (docs/recovery.md)."""

from __future__ import annotations

import dataclasses
import io
import sqlite3
from pathlib import Path

import pytest
import skimage
from PIL import Image, ImageDraw, ImageFont

from provenance.backends.base import GenerateRequest
from provenance.backends.local import LocalBackend
from provenance.errors import InputError
from provenance.recovery.fingerprint import (
    SEARCH_KIND,
    SEARCH_RADIUS,
    Fingerprints,
    assess,
    choose,
    compute,
    hamming,
)

DATA = Path(skimage.__file__).parent / "data"


def photo(name: str) -> Image.Image:
    with Image.open(DATA / name) as img:
        return img.convert("RGB")


def card(bg: str, title: str, *, shape: str = "circle", size: int = 1024) -> Image.Image:
    """A flat card like the local backend draws."""
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    if shape == "circle":
        draw.ellipse((size * 0.55, size * 0.1, size * 0.9, size * 0.45), fill="#1b2631")
    else:
        draw.rectangle((0, size * 0.8, size, size * 0.9), fill="#1b2631")
    draw.text((size * 0.08, size * 0.55), title, fill="#1b2631", font=ImageFont.load_default(102))
    return img


def jpeg_half(img: Image.Image, quality: int = 75) -> Image.Image:
    """The issue's case: a stripped copy re-encoded as JPEG q75 at half size."""
    small = img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


@pytest.mark.parametrize(
    "make",
    [
        lambda: photo("astronaut.png"),
        lambda: photo("coffee.png"),
        lambda: photo("page.png"),
        lambda: card("#f4d03f", "SALE 20% OFF"),
    ],
    ids=["astronaut", "coffee", "page", "card"],
)
def test_jpeg_q75_half_size_copy_is_a_strong_match_inside_the_prefilter(make: object) -> None:
    assert callable(make)
    original: Image.Image = make()
    query, recorded = compute(jpeg_half(original)), compute(original)
    result = assess(query, recorded)
    assert result.confident, result.reason
    assert result.label == "strong match"
    # the ledger's prefilter must not drop what assess would confirm
    assert hamming(getattr(query, SEARCH_KIND), getattr(recorded, SEARCH_KIND)) <= SEARCH_RADIUS


def test_grayscale_copy_is_recovered_without_comparing_colour() -> None:
    original = photo("chelsea.png")
    result = assess(compute(original.convert("L")), compute(original))
    assert result.confident
    assert "color" not in result.distances
    assert "grayscale" in result.reason


def test_distinct_photos_of_one_scene_are_not_confident() -> None:
    # a stereo pair: two photographs of the same scene a few centimetres apart
    left, right = compute(photo("motorcycle_left.png")), compute(photo("motorcycle_right.png"))
    assert not assess(left, right).confident
    assert not assess(compute(jpeg_half(photo("motorcycle_left.png"))), right).confident


def test_unrelated_photos_are_no_match() -> None:
    result = assess(compute(photo("astronaut.png")), compute(photo("coffee.png")))
    assert (result.confident, result.label) == (False, "no match")


def test_cards_that_differ_in_colour_or_layout_are_not_confident() -> None:
    yellow = compute(card("#f4d03f", "SALE 20% OFF"))
    blue = card("#2471a3", "SALE 20% OFF")
    barred = card("#f4d03f", "SALE 20% OFF", shape="bar")
    recoloured = assess(compute(jpeg_half(blue)), yellow)
    assert (recoloured.confident, recoloured.label) == (False, "possible match")
    assert "color" in recoloured.reason.split(" too far")[0]  # the shapes agree; colour vetoes
    relaid = assess(compute(jpeg_half(barred)), yellow)
    assert (relaid.confident, relaid.label) == (False, "no match")


def test_ten_percent_crop_is_not_recovered() -> None:
    original = photo("astronaut.png")
    w, h = original.size
    cropped = original.crop((w // 20, h // 20, w - w // 20, h - h // 20))
    assert not assess(compute(cropped), compute(original)).confident


def test_same_layout_text_variants_are_told_apart_by_the_detail_grid() -> None:
    # global hashes cannot read: both cards agree on pHash/dHash/PDQ/colour; the detail grid decides
    sale20, sale30 = card("#f4d03f", "SALE 20% OFF"), card("#f4d03f", "SALE 30% OFF")
    query = compute(jpeg_half(sale20))
    picked, ranked = choose(query, {"a20": compute(sale20), "a30": compute(sale30)})
    assert picked == "a20"
    assert [(key, a.confident) for key, a in ranked] == [("a20", True), ("a30", False)]
    assert ranked[1][1].label == "possible match"
    assert "other words or details" in ranked[1][1].reason


def test_choose_names_the_single_strong_match_first() -> None:
    original = photo("coffee.png")
    candidates = {
        "coffee": compute(original),
        "astronaut": compute(photo("astronaut.png")),
        "card": compute(card("#f4d03f", "SALE 20% OFF")),
    }
    picked, ranked = choose(compute(jpeg_half(original)), candidates)
    assert picked == "coffee"
    assert ranked[0][0] == "coffee"
    assert [a.confident for _, a in ranked[1:]] == [False, False]


def test_ledger_round_trip_through_a_real_sqlite_bigint_column(tmp_path: Path) -> None:
    top_bits = Fingerprints(
        phash=(1 << 64) - 1,
        dhash=1 << 63,
        pdq=bytes([0xFF] * 8 + [0x80] + [0] * 23),
        color=bytes(range(0xF0, 0x100)),
    )
    db = sqlite3.connect(tmp_path / "fp.db")
    db.execute("CREATE TABLE fp (kind TEXT PRIMARY KEY, value BIGINT NOT NULL)")
    # the table holds the 64-bit kinds only; the detail grid travels in the entry body
    for fps in (top_bits, dataclasses.replace(compute(photo("camera.png")), detail=None)):
        pairs = fps.as_ledger()
        assert all(-(1 << 63) <= value < 1 << 63 for _, value in pairs)
        db.execute("DELETE FROM fp")
        db.executemany("INSERT INTO fp VALUES (?, ?)", pairs)
        stored = dict(db.execute("SELECT kind, value FROM fp").fetchall())
        assert Fingerprints.from_ledger(stored) == fps
        unsigned = {kind: value & ((1 << 64) - 1) for kind, value in stored.items()}
        assert Fingerprints.from_ledger(unsigned) == fps
    db.close()
    kinds = [kind for kind, _ in top_bits.as_ledger()]
    assert kinds == ["phash", "dhash", "pdq0", "pdq1", "pdq2", "pdq3", "color0", "color1"]


def test_record_without_pdq_is_never_confident() -> None:
    full = compute(photo("astronaut.png"))
    old = Fingerprints.from_ledger({"phash": full.phash, "dhash": full.dhash})
    assert old.pdq is None and old.color is None
    result = assess(full, old)
    assert not result.confident
    assert "pdq" in result.reason


def test_to_json_is_hex_and_round_trips_with_the_detail_grid() -> None:
    fps = compute(photo("camera.png"))
    out = fps.to_json()
    assert {k: len(v) for k, v in out.items()} == {
        "phash": 16,
        "dhash": 16,
        "pdq": 64,
        "color": 32,
        "detail": 2 * 1538,
    }
    assert all(int(v, 16) >= 0 for v in out.values())
    assert Fingerprints.from_json(out) == fps
    # the ledger table stays small: the detail grid is never one of its kinds
    assert [kind for kind, _ in fps.as_ledger()] == [
        "phash",
        "dhash",
        "pdq0",
        "pdq1",
        "pdq2",
        "pdq3",
        "color0",
        "color1",
    ]
    assert Fingerprints.from_ledger(dict(fps.as_ledger())).detail is None


def test_record_without_detail_is_never_confident() -> None:
    full = compute(photo("astronaut.png"))
    old = Fingerprints.from_ledger(dict(full.as_ledger()))
    result = assess(full, old)
    assert (result.confident, result.label) == (False, "possible match")
    assert "detail (missing: words not checked)" in result.reason


def test_transparent_pixels_hash_as_white() -> None:
    rgba = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).ellipse((50, 50, 250, 250), fill=(200, 30, 30, 255))
    on_white = Image.new("RGB", (300, 300), "white")
    ImageDraw.Draw(on_white).ellipse((50, 50, 250, 250), fill=(200, 30, 30))
    assert compute(rgba) == compute(on_white)
    palette = Image.new("P", (300, 300), 0)
    palette.putpalette([0, 0, 0, 200, 30, 30])
    ImageDraw.Draw(palette).ellipse((50, 50, 250, 250), fill=1)
    palette.info["transparency"] = 0  # index 0 (black) is see-through, as in a GIF or PNG8
    assert compute(palette) == compute(on_white)


@pytest.mark.parametrize("mode", ["CMYK", "P", "LA", "RGBA", "I;16", "F"])
def test_any_pillow_mode_hashes_like_the_rgb_original(mode: str) -> None:
    original = photo("chelsea.png")
    source = original.convert("L") if mode in ("I;16", "F") else original
    assert assess(compute(source.convert(mode)), compute(original)).confident


def test_exif_orientation_is_applied_before_hashing() -> None:
    # a phone-style copy: pixels stored sideways, the Orientation tag says how to show them
    original = photo("chelsea.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    original.rotate(90, expand=True).save(buf, "JPEG", quality=90, exif=exif.tobytes())
    sideways = Image.open(io.BytesIO(buf.getvalue()))
    assert assess(compute(sideways), compute(original)).confident


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: compute(Image.new("RGB", (4, 300))), "4x300, too small"),
        (lambda: Fingerprints.from_ledger({"dhash": 1}), "lacks phash"),
        (lambda: Fingerprints(phash=0, dhash=0, pdq=b"short"), "PDQ must be 32 bytes"),
        (lambda: Fingerprints(phash=0, dhash=0, color=b"x"), "colour grid must be 16 bytes"),
        (lambda: Fingerprints(phash=0, dhash=0, detail=b"x"), "detail grid must be 1538 bytes"),
        (lambda: Fingerprints.from_json({"phash": "00" * 8}), "JSON record lacks dhash"),
        (lambda: Fingerprints.from_json({"phash": "zz", "dhash": "00"}), "phash is not a hex"),
        (lambda: Fingerprints.from_json({"phash": "00", "dhash": "00"}), "16 hex digits each"),
    ],
    ids=[
        "tiny-image",
        "missing-kind",
        "short-pdq",
        "short-colour",
        "short-detail",
        "json-missing-kind",
        "json-not-hex",
        "json-short-hash",
    ],
)
def test_bad_input_is_one_clear_error(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(InputError, match=message):
        call()


# Same layout, a few words different: the local engine's real posters and cards, both directions.
TEXT_VARIANTS = [
    ("poster 1200x630, dark blue, title 'Election night'",
     "poster 1200x630, dark blue, title 'Election day'"),
    ("A yellow card with the text 'SALE 20% OFF'", "A yellow card with the text 'SALE 30% OFF'"),
    ("A navy card on white, title 'Press release', subtitle 'Monday 3 November 2026'",
     "A navy card on white, title 'Press release', subtitle 'Tuesday 4 November 2026'"),
    ("16:9 banner, green background, a yellow star, 'Spring sale'",
     "16:9 banner, green background, a yellow star, 'Spring sales'"),
]  # fmt: skip


def local(prompt: str) -> Image.Image:
    made = LocalBackend().generate(GenerateRequest(prompt))
    return Image.open(io.BytesIO(made.outputs[0].data)).convert("RGB")


def _encode(img: Image.Image, fmt: str, **opts: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, fmt, **opts)
    return Image.open(io.BytesIO(buf.getvalue()))


COPIES = {
    "jpeg-q75-half": jpeg_half,
    "jpeg-q50": lambda i: _encode(i, "JPEG", quality=50),
    "webp-q80": lambda i: _encode(i, "WEBP", quality=80),
    "resize-25": lambda i: i.resize((i.width // 4, i.height // 4), Image.Resampling.LANCZOS),
    "grayscale": lambda i: i.convert("L"),
}


@pytest.mark.parametrize("copy", list(COPIES.values()), ids=list(COPIES))
@pytest.mark.parametrize(
    "prompt",
    [TEXT_VARIANTS[0][0], TEXT_VARIANTS[2][0], TEXT_VARIANTS[3][0]],
    ids=["poster", "press-card", "banner"],
)
def test_copies_of_posters_with_text_are_still_strong_matches(prompt: str, copy: object) -> None:
    assert callable(copy)
    original = local(prompt)
    result = assess(compute(copy(original)), compute(original))
    assert result.confident, result.reason
    assert result.distances["detail"] == 0


@pytest.mark.parametrize(
    ("recorded", "variant"),
    TEXT_VARIANTS + [(b, a) for a, b in TEXT_VARIANTS],
    ids=[f"{i}{d}" for d in ("", "-rev") for i in range(len(TEXT_VARIANTS))],
)
def test_one_word_changed_is_not_confident(recorded: str, variant: str) -> None:
    original = compute(local(recorded))
    for copy in (jpeg_half, COPIES["grayscale"]):
        result = assess(compute(copy(local(variant))), original)
        assert not result.confident, (variant, result.reason)
        assert result.distances["detail"] > 0


@pytest.mark.parametrize(("text_a", "text_b"), [
    ("SALE 20% OFF", "SALE 30% OFF"),      # same length, one digit
    ("Open day", "Open night"),            # longer word
    ("Notice", "Notices"),                 # one letter added
    ("Meeting at noon", "Meeting at 10"),  # shorter
])  # fmt: skip
def test_synthetic_card_text_variants_are_not_confident(text_a: str, text_b: str) -> None:
    a, b = card("#f4d03f", text_a), card("#f4d03f", text_b)
    fa, fb = compute(a), compute(b)
    assert assess(compute(jpeg_half(b)), fa).label == "possible match"
    assert not assess(compute(jpeg_half(a)), fb).confident
    assert assess(compute(jpeg_half(a)), fa).confident  # while its own copy still is
