"""Benchmark: pixel confirmation of a recovered copy against its recorded original, beside the
perceptual search alone (issue 12).

confirm.candidate_ms       per candidate: reading the recorded original from the home's store,
                           decoding it and ``confirm(copy, original)`` for a JPEG q75, half-size
                           copy of a recorded 1024x1024 output (the common case: no crop search),
                           vs the perceptual search alone for the same copy (fingerprints, the
                           ledger's prefilter, every hit assessed): ``recover`` without originals.
confirm.crop_candidate_ms  the same for a 5% centred crop (the scale and offset search and ECC
                           refinement run) vs the same search alone.
confirm.recover_ms         the whole ``recover`` with pixel confirmation of the leads (what verify
                           runs) vs the search alone, for the half-size copies.

    python bench/bench_confirm.py            # 10 recorded outputs among 10,000 entries
    python bench/bench_confirm.py --full     # 20 recorded outputs among 100,000 entries
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.calibrate_fingerprints import medians_ms
from ledger import AppendRequest
from provenance.home.identity import create_local_identity
from provenance.home.ledger import create_ledger, open_ledger
from provenance.home.originals import reader_for
from provenance.home.paths import Home
from provenance.media import imaging
from provenance.record.recorder import Recorder
from provenance.recovery.confirm import confirm
from provenance.recovery.fingerprint import to_signed64
from provenance.recovery.match import recover

PROMPTS = [
    "poster, dark blue, title 'Results {i}', caption 'turnout {i}1%'",
    "A yellow card with the text 'SALE {i}0% OFF'",
    "banner, orange background, 'Concert {i} tonight at the park'",
    "poster, gradient from navy to teal, a red circle, title 'Vote {i}'",
]


def emit(bench: str, value: float, baseline: float, n: int) -> None:
    print(json.dumps({"bench": bench, "value": round(value, 3), "unit": "ms",
                      "baseline": round(baseline, 3), "ratio": round(value / baseline, 3),
                      "n": n}), flush=True)  # fmt: skip


def _synthetic(rng: random.Random, i: int) -> AppendRequest:
    sha = hashlib.sha256(f"synthetic-{i}".encode()).hexdigest()
    kinds = ["phash", "dhash", "pdq0", "pdq1", "pdq2", "pdq3", "color0", "color1"]
    return AppendRequest(
        kind="generate",
        body={"op": "generate", "output": {"sha256": sha}},
        outputs=[sha],
        fingerprints=[(sha, k, to_signed64(rng.getrandbits(64))) for k in kinds],
    )


def _setup(tmp: Path, recorded: int, entries: int) -> tuple[Home, list[Path]]:
    home = Home(tmp / "home")
    create_local_identity(home, actor="bench@example.org")
    create_ledger(home)
    outs = []
    with Recorder(home) as rec:
        for i in range(recorded):
            out = tmp / f"rec{i}.png"
            rec.generate(PROMPTS[i % len(PROMPTS)].format(i=i), out)
            outs.append(out)
    rng = random.Random(7)
    with open_ledger(home, checkpoint_every=None) as led:
        for start in range(0, entries, 2_000):
            led.append_many([_synthetic(rng, i) for i in range(start, min(entries, start + 2_000))])
    return home, outs


def _copy(path: Path, how: str) -> Image.Image:
    img = Image.open(path).convert("RGB")
    if how == "crop":
        dx, dy = round(img.width * 0.025), round(img.height * 0.025)
        img = img.crop((dx, dy, img.width - dx, img.height - dy))
    else:
        img = img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=75)
    return Image.open(io.BytesIO(buf.getvalue()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    recorded, entries, repeats = (20, 100_000, 5) if args.full else (10, 10_000, 3)
    with tempfile.TemporaryDirectory() as d:
        home, outs = _setup(Path(d), recorded, entries)
        store = reader_for(home)
        with open_ledger(home, read_only=True) as led:
            recover(led, _copy(outs[0], "half"))  # load the index once, outside the timing
            for how, name in (
                ("half", "confirm.candidate_ms"),
                ("crop", "confirm.crop_candidate_ms"),
            ):
                pix, search = [], []
                for out in outs:
                    copy = _copy(out, how)
                    sha = hashlib.sha256(out.read_bytes()).hexdigest()

                    def pixels(copy: Image.Image = copy, sha: str = sha) -> str:
                        data = store.get(sha)
                        assert data is not None, "the recorder kept no original"
                        state = confirm(copy, imaging.open_image(data, name="original")).state
                        assert state == "confirmed", state
                        return state

                    def alone(copy: Image.Image = copy) -> object:
                        return recover(led, copy)

                    p, s = medians_ms([pixels, alone], repeats)
                    pix.append(p)
                    search.append(s)
                emit(name, statistics.median(pix), statistics.median(search), len(outs) * repeats)
            full, alone_ms = [], []
            for out in outs:
                copy = _copy(out, "half")
                f, a = medians_ms([lambda c=copy: recover(led, c, store.get),
                                   lambda c=copy: recover(led, c)], repeats)  # fmt: skip
                full.append(f)
                alone_ms.append(a)
            emit("confirm.recover_ms", statistics.median(full), statistics.median(alone_ms),
                 len(outs) * repeats)  # fmt: skip


if __name__ == "__main__":
    main()
