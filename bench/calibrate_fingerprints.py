"""Calibrate perceptual-fingerprint recovery and time ``provenance.recovery.fingerprint.compute``.

Images: the photographs bundled in the scikit-image wheel (read from its data directory, never
downloaded) plus generated scenes drawn here, including near-duplicates (same card layout with
different text). Every image is copied under each transform and assessed against its original;
every pair of distinct images, and every copy against every other original, counts a false match
if :func:`provenance.recovery.fingerprint.assess` calls it confident. Text variants (same layout, 1-3 words
different, of other lengths) come from the local engine (:class:`LocalBackend`, real posters,
cards and banners) and from synthetic cards: a copy of each variant under every reliable transform
is assessed against the recorded one, in both directions.

Run::

    .venv/bin/python bench/calibrate_fingerprints.py            # table + bench JSON lines
    .venv/bin/python bench/calibrate_fingerprints.py --write-docs  # also refresh docs/recovery.md
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import imagehash
import numpy as np
import skimage
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from provenance.backends.base import GenerateRequest
from provenance.backends.local import LocalBackend
from provenance.recovery.confirm import confirm
from provenance.recovery.fingerprint import (
    SEARCH_KIND,
    SEARCH_RADIUS,
    Fingerprints,
    assess,
    compute,
    hamming,
)

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "recovery.md"
START, END = "<!-- calibration:start -->", "<!-- calibration:end -->"

# Photographs and scans shipped inside the scikit-image wheel (no fetch needed).
PHOTOS = (
    "astronaut.png", "brick.png", "camera.png", "cell.png", "chelsea.png", "clock_motion.png",
    "coffee.png", "coins.png", "color.png", "grass.png", "gravel.png", "horse.png",
    "hubble_deep_field.jpg", "ihc.png", "logo.png", "microaneurysms.png", "moon.png",
    "motorcycle_left.png", "motorcycle_right.png", "page.png", "phantom.png", "retina.jpg",
    "rocket.jpg", "text.png", "chessboard_RGB.png",
)  # fmt: skip


def photos() -> dict[str, Image.Image]:
    data_dir = Path(skimage.__file__).parent / "data"
    out = {}
    for name in PHOTOS:
        with Image.open(data_dir / name) as img:
            out[name.rsplit(".", 1)[0]] = img.convert("RGB")
    return out


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _card(bg: str, fg: str, title: str, subtitle: str, shape: str, size: int = 1024) -> Image.Image:
    """A flat card like the local backend draws: background, a shape, a title, a subtitle."""
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    if shape == "circle":
        draw.ellipse((size * 0.55, size * 0.1, size * 0.9, size * 0.45), fill=fg)
    elif shape == "bar":
        draw.rectangle((0, size * 0.8, size, size * 0.9), fill=fg)
    else:
        draw.polygon(
            [(size * 0.1, size * 0.5), (size * 0.3, size * 0.15), (size * 0.5, size * 0.5)], fill=fg
        )
    draw.text((size * 0.08, size * 0.55), title, fill=fg, font=_font(size // 10))
    draw.text((size * 0.08, size * 0.68), subtitle, fill=fg, font=_font(size // 24))
    return img


def _scene(seed: int, size: tuple[int, int] = (1024, 1024)) -> Image.Image:
    """A random landscape-like scene: sky gradient, hills, sun, scattered shapes, some noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, h)[:, None, None]
    sky = (top * (1 - t) + bottom * t).astype(np.uint8).repeat(w, axis=1)
    img = Image.fromarray(sky)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 5))):
        y0 = int(rng.integers(h // 3, h))
        pts = [
            (0, h),
            *[(x, y0 + int(rng.integers(-h // 8, h // 8))) for x in range(0, w + 1, w // 8)],
            (w, h),
        ]
        draw.polygon(pts, fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    for _ in range(int(rng.integers(3, 12))):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(10, w // 5))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(
            (x - r, y - r, x + r, y + r), fill=colour
        )
    noise = rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(
        np.clip(np.asarray(img, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    )


def _poster(seed: int, headline: str) -> Image.Image:
    img = _scene(seed)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 1024, 200), fill=(20, 20, 30))
    draw.text((40, 50), headline, fill="white", font=_font(90))
    return img


def generated() -> dict[str, Image.Image]:
    out = {
        # near-duplicate cards: identical layout, only the words differ
        "card_sale20": _card("#f4d03f", "#1b2631", "SALE 20% OFF", "this weekend only", "circle"),
        "card_sale30": _card("#f4d03f", "#1b2631", "SALE 30% OFF", "this weekend only", "circle"),
        "card_press1": _card("white", "navy", "Press release", "Monday 3 November 2026", "bar"),
        "card_press2": _card("white", "navy", "Press release", "Tuesday 4 November 2026", "bar"),
        "card_event_a": _card("#0b5345", "#fdfefe", "Open day", "Hall A, 10:00", "triangle"),
        "card_event_b": _card("#0b5345", "#fdfefe", "Open night", "Hall B, 19:00", "triangle"),
        "card_red": _card("#c0392b", "white", "Breaking", "live updates", "circle"),
        "card_blue": _card("#2471a3", "white", "Breaking", "live updates", "circle"),
        "card_plain": _card("#eeeeee", "#333333", "Notice", "office closed", "bar"),
        "card_plain2": _card("#eeeeee", "#333333", "Notice", "office open", "bar"),
        # same background scene, different headline
        "poster_a": _poster(7, "Election night"),
        "poster_b": _poster(7, "Final results"),
        "poster_c": _poster(8, "Election night"),
    }
    for seed in range(13):
        out[f"scene_{seed}"] = _scene(100 + seed, (1024, 1024) if seed % 3 else (1536, 1024))
    return out


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


def _webp(img: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "WEBP", quality=80)
    return Image.open(io.BytesIO(buf.getvalue()))


def _resize(img: Image.Image, scale: float) -> Image.Image:
    return img.resize(
        (max(8, round(img.width * scale)), max(8, round(img.height * scale))),
        Image.Resampling.LANCZOS,
    )


def _crop(img: Image.Image, frac: float) -> Image.Image:
    """Cut ``frac`` of each dimension away, half from each side (a centred crop)."""
    dx, dy = round(img.width * frac / 2), round(img.height * frac / 2)
    return img.crop((dx, dy, img.width - dx, img.height - dy))


def _caption(img: Image.Image) -> Image.Image:
    out = img.copy()
    draw = ImageDraw.Draw(out)
    bar = out.height // 12
    draw.rectangle((0, out.height - bar, out.width, out.height), fill="black")
    draw.text(
        (out.width // 40, out.height - bar),
        "Shared via social media",
        fill="white",
        font=_font(int(bar * 0.7)),
    )
    return out


TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "JPEG q90": lambda i: _jpeg(i, 90),
    "JPEG q75": lambda i: _jpeg(i, 75),
    "JPEG q50": lambda i: _jpeg(i, 50),
    "WebP q80": _webp,
    "resize 50%": lambda i: _resize(i, 0.5),
    "resize 25%": lambda i: _resize(i, 0.25),
    "JPEG q75 + resize 50%": lambda i: _jpeg(_resize(i, 0.5), 75),
    "brightness +10%": lambda i: ImageEnhance.Brightness(i).enhance(1.1),
    "grayscale": lambda i: i.convert("L"),
    "rotate 1°": lambda i: i.rotate(1, resample=Image.Resampling.BICUBIC, fillcolor="black"),
    "rotate 2°": lambda i: i.rotate(2, resample=Image.Resampling.BICUBIC, fillcolor="black"),
    "crop 5%": lambda i: _crop(i, 0.05),
    "crop 10%": lambda i: _crop(i, 0.10),
    "caption overlay": _caption,
}


@dataclass
class Row:
    transform: str
    recovered: int = 0  # fingerprints: a strong match
    in_radius: int = 0
    total: int = 0
    lead: int = 0  # fingerprints: a strong or possible match (pixels are compared for leads)
    confirmed: int = 0  # pixels: confirmed against the original
    pixel_recovered: int = 0  # a lead whose pixels confirm: `recovered` as verify says it
    dist: dict[str, list[int]] = field(
        default_factory=lambda: {"phash": [], "dhash": [], "pdq": [], "color": [], "detail": []}
    )


@dataclass
class Summary:
    images: int = 0
    pairs: int = 0
    false_pairs: list[str] = field(default_factory=list)
    copy_pairs: int = 0
    copy_false: dict[str, int] = field(default_factory=dict)  # "copy of A → B": how many transforms
    copy_leads: int = 0  # copies against other originals that fingerprints make a lead
    copy_pixel_false: list[str] = field(default_factory=list)  # ... whose pixels confirm (wrong)
    confirm_ms: list[float] = field(default_factory=list)
    closest: dict[str, tuple[int, str]] = field(default_factory=dict)


def calibrate(images: dict[str, Image.Image]) -> tuple[list[Row], Summary]:
    originals = {name: compute(img) for name, img in images.items()}
    rows: list[Row] = []
    summary = Summary(images=len(originals))
    for tname, transform in TRANSFORMS.items():
        row = Row(tname)
        for name, img in images.items():
            fp = compute(transform(img))
            a = assess(fp, originals[name])
            row.total += 1
            row.recovered += a.confident
            near = hamming(getattr(fp, SEARCH_KIND), getattr(originals[name], SEARCH_KIND))
            row.in_radius += near <= SEARCH_RADIUS
            for k, v in a.distances.items():
                row.dist[k].append(v)
            copy = transform(img)
            start = time.perf_counter()
            ok = confirm(copy, img).state == "confirmed"
            summary.confirm_ms.append((time.perf_counter() - start) * 1000)
            lead = a.label != "no match" and near <= SEARCH_RADIUS
            row.lead += lead
            row.confirmed += ok
            row.pixel_recovered += lead and ok
            for other, ofp in originals.items():
                if other != name:
                    summary.copy_pairs += 1
                    other_a = assess(fp, ofp)
                    if other_a.confident:
                        key = f"copy of {name} → {other}"
                        summary.copy_false[key] = summary.copy_false.get(key, 0) + 1
                    if other_a.label != "no match":
                        summary.copy_leads += 1
                        if confirm(copy, images[other]).state == "confirmed":
                            summary.copy_pixel_false.append(f"{tname} copy of {name} → {other}")
        rows.append(row)
    names = list(originals)
    for i, a_name in enumerate(names):
        for b_name in names[i + 1 :]:
            summary.pairs += 1
            a = assess(originals[a_name], originals[b_name])
            if a.confident:
                summary.false_pairs.append(f"{a_name} ~ {b_name}")
            for k, v in a.distances.items():
                if k not in summary.closest or v < summary.closest[k][0]:
                    summary.closest[k] = (v, f"{a_name} / {b_name}")
    return rows, summary


def _stat(values: list[int]) -> str:
    return f"{statistics.median(values):g} / {max(values)}" if values else "-"


def markdown(rows: list[Row], summary: Summary) -> str:
    lines = [
        f"{summary.images} images ({len(PHOTOS)} bundled scikit-image photographs, "
        f"{summary.images - len(PHOTOS)} generated). Distances: Hamming bits (colour: largest "
        "chroma step in 16ths), median / max over all images.",
        "",
        "`strong match`: every fingerprint agrees (what `recovered` meant before pixel "
        "confirmation); `lead`: a strong or possible match, whose pixels verify compares; "
        "`pixels confirmed`: `confirm(copy, original)`; `recovered`: a lead whose pixels are "
        "confirmed, what verify now reports.",
        "",
        f"| transform | recovered | pixels confirmed | lead | strong match | in prefilter "
        f"({SEARCH_KIND} ≤ {SEARCH_RADIUS}) | pHash | dHash | PDQ | colour | detail |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.transform} | {r.pixel_recovered}/{r.total} | {r.confirmed}/{r.total} | "
            f"{r.lead}/{r.total} | {r.recovered}/{r.total} | {r.in_radius}/{r.total} | "
            f"{_stat(r.dist['phash'])} | {_stat(r.dist['dhash'])} | {_stat(r.dist['pdq'])} | "
            f"{_stat(r.dist['color'])} | {_stat(r.dist['detail'])} |"
        )
    copy_false = sum(summary.copy_false.values())
    lines += [
        "",
        f"False matches between distinct originals: {len(summary.false_pairs)} of "
        f"{summary.pairs} pairs" + "".join(f"\n- {p}" for p in summary.false_pairs),
        "",
        f"False matches of a transformed copy against every other original: {copy_false} of "
        f"{summary.copy_pairs}"
        + "".join(f"\n- {k} ({n} transforms)" for k, n in sorted(summary.copy_false.items())),
        "",
        f"Leads among those copies (strong or possible match to another original): "
        f"{summary.copy_leads}; confirmed by pixels (a wrong `recovered`): "
        f"{len(summary.copy_pixel_false)}" + "".join(f"\n- {k}" for k in summary.copy_pixel_false),
        "",
        f"Pixel confirmation of a copy against its original: median "
        f"{statistics.median(summary.confirm_ms):.0f} ms, max {max(summary.confirm_ms):.0f} ms "
        f"(this machine, {len(summary.confirm_ms)} copies).",
        "",
        "Closest distinct pair per fingerprint: "
        + "; ".join(f"{k} {v[0]} ({v[1]})" for k, v in summary.closest.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


# Same layout, a few words different. Local engine prompts (what `provenance generate` draws) and
# synthetic cards; (recorded, variant, what changed).
LOCAL_VARIANTS = [
    ("poster 1200x630, dark blue, title 'Election night'",
     "poster 1200x630, dark blue, title 'Election day'", "1 word, shorter"),
    ("A yellow card with the text 'SALE 20% OFF'",
     "A yellow card with the text 'SALE 30% OFF'", "1 digit, same length"),
    ("A navy card on white, title 'Press release', subtitle 'Monday 3 November 2026'",
     "A navy card on white, title 'Press release', subtitle 'Tuesday 4 November 2026'",
     "2 words in the subtitle"),
    ("poster, gradient from navy to teal, a red circle, title 'Vote today', "
     "caption 'Polls close at 8pm'",
     "poster, gradient from navy to teal, a red circle, title 'Vote today', "
     "caption 'Polls close at 9pm'", "1 digit in a small subtitle"),
    ("16:9 banner, green background, a yellow star, 'Spring sale'",
     "16:9 banner, green background, a yellow star, 'Spring sales'", "1 letter added"),
    ("A white card, black text 'Meeting at noon'", "A white card, black text 'Meeting at ten'",
     "1 word, shorter"),
    ("poster, white background, a blue square, title 'Storm warning', caption 'Coast road closed'",
     "poster, white background, a blue square, title 'Storm warning', caption 'Coast road open'",
     "1 word in the subtitle"),
    ("banner, orange background, 'Concert tonight at the park'",
     "banner, orange background, 'Concert cancelled at the park'", "1 word, longer"),
]  # fmt: skip
SYNTHETIC_VARIANTS = [
    ("card_sale20", "card_sale30", "1 digit, same length"),
    ("card_press1", "card_press2", "2 words in the subtitle"),
    ("card_event_a", "card_event_b", "2 words, longer"),
    ("card_plain", "card_plain2", "1 word in the subtitle, shorter"),
    ("poster_a", "poster_b", "headline replaced"),
]
RELIABLE = (
    "JPEG q90", "JPEG q75", "JPEG q50", "WebP q80", "resize 50%", "resize 25%",
    "JPEG q75 + resize 50%", "brightness +10%", "grayscale",
)  # fmt: skip


def _local(prompt: str) -> Image.Image:
    made = LocalBackend().generate(GenerateRequest(prompt))
    with Image.open(io.BytesIO(made.outputs[0].data)) as img:
        return img.convert("RGB")


def text_variants(images: dict[str, Image.Image]) -> str:
    """Copies of each unrecorded variant, under every reliable transform, against the recorded
    one (both directions): how many the rule wrongly calls a strong match."""
    pairs = [(f"local: {what}", _local(a), _local(b), a) for a, b, what in LOCAL_VARIANTS]
    pairs += [(f"synthetic {a}/{b}: {what}", images[a], images[b], a)
              for a, b, what in SYNTHETIC_VARIANTS]  # fmt: skip
    lines = ["| text variant | recovered (wrong) | pixels: altered | fingerprints confident "
             "(wrong) | possible match | detail blocks (median / max) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    wrong_total = total = pixel_wrong_total = 0
    for label, a, b, _ in pairs:
        wrong = possible = altered = pixel_wrong = 0
        details: list[int] = []
        for recorded, variant in ((a, b), (b, a)):
            fp = compute(recorded)
            for tname in RELIABLE:
                copy = TRANSFORMS[tname](variant)
                result = assess(compute(copy), fp)
                state = confirm(copy, recorded).state
                wrong += result.confident
                possible += result.label == "possible match"
                altered += state == "altered"
                pixel_wrong += state == "confirmed" and result.label != "no match"
                details.append(result.distances.get("detail", -1))
                total += 1
        wrong_total += wrong
        pixel_wrong_total += pixel_wrong
        n = 2 * len(RELIABLE)
        lines.append(f"| {label} | {pixel_wrong}/{n} | {altered}/{n} | {wrong}/{n} | "
                     f"{possible}/{n} | {_stat(details)} |")  # fmt: skip
    head = (f"Text variants: {len(pairs)} pairs ({len(LOCAL_VARIANTS)} from the local engine, "
            f"{len(SYNTHETIC_VARIANTS)} synthetic), copies of the unrecorded one under the "
            f"{len(RELIABLE)} reliable transforms, both directions: {pixel_wrong_total} of "
            f"{total} wrongly `recovered` (a lead whose pixels confirm); the fingerprints alone "
            f"were wrongly confident for {wrong_total}.")  # fmt: skip
    return head + "\n\n" + "\n".join(lines) + "\n"


def _ledger_images(n: int) -> Iterator[Image.Image]:
    """``n`` distinct 256x256 images: random scenes and cards with random colours and layout."""
    rng = np.random.default_rng(2026)
    for i in range(n):
        if i % 2:
            yield _scene(10_000 + i, (256, 256))
            continue
        bg, fg = (tuple(int(c) for c in rng.integers(0, 256, 3)) for _ in range(2))
        img = Image.new("RGB", (256, 256), bg)
        draw = ImageDraw.Draw(img)
        x, y, r = (int(v) for v in rng.integers(20, 236, 3))
        draw.ellipse((x - r // 3, y - r // 3, x + r // 3, y + r // 3), fill=fg)
        draw.text((int(rng.integers(5, 120)), int(rng.integers(5, 200))), f"No. {i}", fill=fg,
                  font=_font(int(rng.integers(16, 48))))  # fmt: skip
        yield img


def ledger_scale(images: dict[str, Image.Image], size: int) -> tuple[str, dict[str, object]]:
    """Recover JPEG q75 50% copies among ``size`` entries through a numpy Hamming prefilter."""
    recorded = list(images.items())[::2]  # every other calibration image is "recorded"
    stored: list[Fingerprints] = [compute(img) for img in _ledger_images(size - len(recorded))]
    stored += [compute(img) for _, img in recorded]
    index = np.array([dict(fp.as_ledger())[SEARCH_KIND] for fp in stored], dtype=np.int64)

    def search(query: Fingerprints) -> list[int]:
        value = np.int64(dict(query.as_ledger())[SEARCH_KIND])
        dist = np.bitwise_count((index ^ value).view(np.uint64))
        hits = np.flatnonzero(dist <= SEARCH_RADIUS)
        return [int(i) for i in hits if assess(query, stored[int(i)]).confident]

    target_of = {name: len(stored) - len(recorded) + i for i, (name, _) in enumerate(recorded)}
    ok = missed = 0
    wrong: list[str] = []
    times, scans = [], []
    copies = {
        name: compute(TRANSFORMS["JPEG q75 + resize 50%"](img)) for name, img in images.items()
    }
    for name, query in copies.items():
        start = time.perf_counter()
        found = search(query)
        times.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        np.bitwise_count((index ^ np.int64(0)).view(np.uint64))
        scans.append((time.perf_counter() - start) * 1000)
        want = target_of.get(name)
        ok += want is not None and found == [want]
        missed += want is not None and want not in found
        if any(i != want for i in found):
            wrong.append(name)
    text = (
        f"Ledger of {len(stored)} entries ({len(recorded)} of the calibration images recorded, the "
        f"rest distinct generated images): JPEG q75 + 50% copies of all {len(copies)} calibration "
        f"images searched through the {SEARCH_KIND} prefilter (≤ {SEARCH_RADIUS}) then assessed: "
        f"{ok} of {len(recorded)} recorded ones recovered as exactly their entry, {missed} missed; "
        f"queries with a strong match to a wrong entry: {len(wrong)}"
        + (f" (copies of {', '.join(wrong)})" if wrong else "")
        + ".\n"
    )
    bench = {"bench": f"fingerprint.search_{len(stored)}", "value": round(statistics.median(times), 3),
             "unit": "ms", "baseline": round(statistics.median(scans), 3),
             "ratio": round(statistics.median(times) / statistics.median(scans), 3),
             "n": len(times)}  # fmt: skip
    return text, bench


def medians_ms(fns: list[Callable[[], object]], n: int) -> list[float]:
    """Median wall time of each function, run in alternation so machine load hits all alike."""
    times: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        fn()
    for _ in range(n):
        for fn, bucket in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            bucket.append((time.perf_counter() - start) * 1000)
    return [statistics.median(t) for t in times]


def bench_compute(img: Image.Image, n: int = 50) -> dict[str, object]:
    img = img.resize((1024, 1024), Image.Resampling.LANCZOS)
    value, baseline = medians_ms([lambda: compute(img), lambda: imagehash.phash(img)], n)
    return {"bench": "fingerprint.compute_1024", "value": round(value, 3), "unit": "ms",
            "baseline": round(baseline, 3), "ratio": round(value / baseline, 3), "n": n}  # fmt: skip


def write_docs(table: str) -> None:
    text = DOCS.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOCS.write_text(f"{head}{START}\n{table}{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--write-docs", action="store_true", help="refresh the table in docs/recovery.md"
    )
    parser.add_argument(
        "--ledger-size", type=int, default=10_000, help="entries in the search test (0: skip)"
    )
    args = parser.parse_args(argv)
    images = {**photos(), **generated()}
    rows, summary = calibrate(images)
    table = markdown(rows, summary) + "\n" + text_variants(images)
    figures = [bench_compute(images["astronaut"])]
    if args.ledger_size:
        text, search_bench = ledger_scale(images, args.ledger_size)
        table += "\n" + text
        figures.append(search_bench)
    print(table, file=sys.stderr)
    if args.write_docs:
        write_docs(table)
    for figure in figures:
        print(json.dumps(figure))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
