"""Benchmark: one recorded edit vs the same edit done bare, on 1024x1024 images.

Recorded: ``Recorder.edit([in.png], "grayscale; brightness 1.1", out.png)`` on the local backend
(input hashing and fingerprints, the edit, signing, temp file + fsync, ledger append with a
durable commit and a checkpoint, rename).
Bare: Pillow does the same edit, PNG encode, and a plain c2pa-python sign of the same manifest
(same actions, the same parent ingredient, same thumbnail settings) written to a file. No ledger.

Prints one JSON line per figure (DESIGN.md): value = recorded ms, baseline = bare ms.

    python bench/bench_record.py [--n 30]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provenance.credentials import ManifestSpec, make_context
from provenance.credentials.sign import IngredientSpec
from provenance.home.identity import create_local_identity
from provenance.home.ledger import create_ledger
from provenance.home.paths import Home
from provenance.record.recorder import Recorder

INSTRUCTION = "grayscale; brightness 1.1"


def _photo_like(size: int = 1024) -> Image.Image:
    """A deterministic image with texture (flat colour would flatter PNG encoding)."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:size, 0:size]
    base = np.stack([(x * 255 // size), (y * 255 // size), ((x + y) * 127 // size)], axis=-1)
    noise = rng.integers(0, 40, size=(size, size, 3))
    return Image.fromarray(np.clip(base + noise, 0, 255).astype("uint8"), "RGB")


def _bare(src: Path, dst: Path, signer: object, ctx: object) -> None:
    import c2pa

    data = src.read_bytes()
    img = Image.open(io.BytesIO(data))
    img = ImageEnhance.Brightness(ImageOps.grayscale(img).convert("RGB")).enhance(1.1)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    spec = ManifestSpec(
        title=dst.name,
        actions=[
            {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
            {"action": "c2pa.color_adjustments", "parameters": {"name": "grayscale"}},
            {"action": "c2pa.color_adjustments", "parameters": {"brightness": 1.1}},
        ],
        ingredients=[IngredientSpec(data, "image/png", src.name, "parentOf", "parent")],
    )
    out = io.BytesIO()
    builder = c2pa.Builder(spec.to_json(), context=ctx)
    builder.add_ingredient(
        {"title": src.name, "relationship": "parentOf", "label": "parent"},
        "image/png",
        io.BytesIO(data),
    )
    builder.sign(signer, "image/png", io.BytesIO(buf.getvalue()), out)
    dst.write_bytes(out.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--full", action="store_true", help="same as the default (sizes are fixed)")
    args = ap.parse_args()
    import c2pa

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = Home(root / "home")
        ident = create_local_identity(home, actor="bench")
        create_ledger(home)
        src = root / "in.png"
        _photo_like().save(src)
        key_pem = home.signer_key.read_bytes()
        bare_signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(b"es256", ident.chain_pem, key_pem, None)
        )
        ctx = make_context(trust_anchors=home.ca_cert.read_text())
        rec = Recorder(home, backend="local")
        recorded, bare = [], []
        for i in range(args.n + 2):  # two warm-up rounds, alternating to share the noise
            t = time.perf_counter()
            rec.edit([src], INSTRUCTION, root / f"rec-{i}.png")
            r = time.perf_counter() - t
            t = time.perf_counter()
            _bare(src, root / f"bare-{i}.png", bare_signer, ctx)
            b = time.perf_counter() - t
            if i >= 2:
                recorded.append(r * 1000)
                bare.append(b * 1000)
        rec.close()
    value, baseline = statistics.median(recorded), statistics.median(bare)
    print(
        json.dumps(
            {
                "bench": "record.edit_1024",
                "value": round(value, 2),
                "unit": "ms",
                "baseline": round(baseline, 2),
                "ratio": round(value / baseline, 3),
                "n": args.n,
            }
        )
    )


if __name__ == "__main__":
    main()
