"""Stripped-copy recovery among a ledger of 10,000+ entries: a JPEG q75, 50%-resized copy of a
recorded output is `recovered` with its entry and lineage; distinct images are not."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from ledger import AppendRequest
from provenance.home.ledger import open_ledger
from provenance.home.paths import Home
from provenance.recovery.fingerprint import to_signed64
from tests.conftest import reports, run
from tests.verify.conftest import record

SYNTHETIC = 10_000


def _synthetic(rng: random.Random, i: int) -> AppendRequest:
    sha = hashlib.sha256(f"synthetic-{i}".encode()).hexdigest()
    kinds = ["phash", "dhash", "pdq0", "pdq1", "pdq2", "pdq3", "color0", "color1"]
    fps = [(sha, k, to_signed64(rng.getrandbits(64))) for k in kinds]
    return AppendRequest(
        kind="generate",
        body={"op": "generate", "output": {"sha256": sha}},
        outputs=[sha],
        fingerprints=fps,
    )


@pytest.fixture
def big_ledger(home: Home, workdir: Path, capsys: pytest.CaptureFixture[str]) -> list[Path]:
    recorded = []
    for i, prompt in enumerate(
        ["A red circle on a white background", "A blue square", "Election night, dark blue poster"]
    ):
        out = workdir / f"rec{i}.png"
        record(capsys, "generate", prompt, "-o", str(out))
        recorded.append(out)
    record(capsys, "edit", str(recorded[1]), "-i", "grayscale", "-o", str(workdir / "rec3.png"))
    recorded.append(workdir / "rec3.png")
    rng = random.Random(7)
    with open_ledger(home, checkpoint_every=None) as led:
        for start in range(0, SYNTHETIC, 2_000):
            led.append_many([_synthetic(rng, i) for i in range(start, start + 2_000)])
        led.checkpoint()
        assert led.size >= SYNTHETIC + len(recorded)
    return recorded


def _q75_half(src: Path, dest: Path) -> Path:
    img = Image.open(src).convert("RGB")
    img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS).save(dest, quality=75)
    return dest


def test_recovered_among_ten_thousand(
    big_ledger: list[Path], workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copies = tmp_path / "copies"
    copies.mkdir()
    targets = [_q75_half(p, copies / f"{p.stem}-copy.jpg") for p in big_ledger]
    code, out, _ = run(capsys, "verify", "--json", "--accept", "recovered", *map(str, targets))
    rs = reports(out)
    originals = {}
    for p in big_ledger:
        [r] = reports(run(capsys, "verify", "--json", str(p))[1])
        originals[p.stem] = r
    for p, r in zip(big_ledger, rs, strict=True):
        assert r["verdict"] == "recovered", (p.name, r["reasons"], r["ledger"]["candidates"][:2])
        assert r["ledger"]["match"] == "perceptual"
        assert r["ledger_entry"] == originals[p.stem]["ledger_entry"]
        assert r["ledger"]["proof"]["verified"] is True
        assert r["ledger"]["lineage"][0]["id"] == r["ledger_entry"]
    assert len(rs[3]["ledger"]["lineage"]) == 2  # the edit and its parent
    assert code == 0


def test_distinct_images_are_not_recovered(
    big_ledger: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from skimage import data as samples

    files = []
    for name in ("astronaut", "coffee", "chelsea", "camera"):
        f = tmp_path / f"{name}.png"
        Image.fromarray(getattr(samples, name)()).save(f)
        files.append(f)
    # Same layout as a recorded picture, different content: a circle elsewhere, another colour.
    look_alike = Image.new("RGB", (1024, 1024), "white")
    ImageDraw.Draw(look_alike).ellipse((500, 80, 950, 530), fill="darkred")
    look_alike.save(f := tmp_path / "other-circle.png")
    files.append(f)
    code, out, _ = run(capsys, "verify", "--json", "--accept", "recovered", *map(str, files))
    rs = reports(out)
    assert [r["verdict"] for r in rs] == ["no_credentials"] * len(files), [
        (r["path"], r["ledger"]["candidates"][:1]) for r in rs
    ]
    assert code == 1
