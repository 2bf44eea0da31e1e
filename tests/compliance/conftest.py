"""A recorded marketing world shared by the compliance tests: real files, real signing, real ledger."""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from provenance.credentials import ManifestSpec, make_context, make_signer, sign_bytes
from provenance.home.identity import create_local_identity, load_identity
from provenance.home.ledger import create_ledger
from provenance.home.paths import ENV_HOME, Home
from provenance.record.recorder import Recorder

MAKER = "maker@example.org"


@dataclass(frozen=True)
class World:
    home: Home
    dir: Path
    generated: Path  # local generation, recorded
    edited: Path  # local edit of generated, recorded
    broken_chain: Path  # recorded edit whose parent was tampered with after signing
    foreign: Path  # signed by our identity outside the recorder: AI disclosure, no latent fields
    stripped: Path  # generated's pixels re-saved without credentials
    camera: Path  # an imported plain photo (no generative step)


def add_text_chunk(png: bytes) -> bytes:
    """Insert a tEXt chunk before IEND: pixels intact, but the C2PA hard binding no longer matches."""
    data = b"Comment\x00edited after signing"
    chunk = (
        len(data).to_bytes(4, "big")
        + b"tEXt"
        + data
        + zlib.crc32(b"tEXt" + data).to_bytes(4, "big")
    )
    at = png.rindex(b"IEND") - 4
    return png[:at] + chunk + png[at:]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("compliance")
    home = Home(root / "home")
    create_local_identity(home, actor=MAKER)
    create_ledger(home)
    d = root / "work"
    d.mkdir()
    with Recorder(home, actor=MAKER) as rec:
        [gen] = rec.generate("A red circle on a white background", d / "hero.png", seed=1)
        [ed] = rec.edit([gen.path], "grayscale", d / "hero-gray.png")
        tampered = d / "tampered.png"
        tampered.write_bytes(add_text_chunk(gen.path.read_bytes()))
        [broken] = rec.edit([tampered], "brightness 1.2", d / "broken.png")
        cam = d / "camera.png"
        Image.new("RGB", (64, 48), "navy").save(cam)
        rec.import_asset(cam)
    ident = load_identity(home)
    spec = ManifestSpec(
        title="foreign.png",
        actions=[
            {
                "action": "c2pa.created",
                "digitalSourceType": "trainedAlgorithmicMedia",
                "softwareAgent": {"name": "another tool"},
            }
        ],
    )
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(buf, "PNG")
    foreign = d / "foreign.png"
    signer = make_signer(ident)
    try:
        foreign.write_bytes(
            sign_bytes(
                spec,
                buf.getvalue(),
                "image/png",
                signer,
                make_context(
                    trust_anchors=ident.ca_pem.decode() if ident.ca_pem else None, thumbnail=False
                ),
            )
        )
    finally:
        signer.close()
    stripped = d / "hero-stripped.png"
    with Image.open(gen.path) as im:
        im.convert("RGB").save(stripped)
    return World(home, d, gen.path, ed.path, broken.path, foreign, stripped, cam)


@pytest.fixture
def in_world(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv(ENV_HOME, str(world.home.root))
    yield world


def json_lines(out: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
