"""One recorded output of every kind, made once per session: the rubric tests read their crJSON.

Every path that signs is here: the local generator, the local editor with every operation of its
language (place with a reference image, redact and inpaint with a mask), a PNG -> JPEG -> WebP
chain, OpenAI generate and a masked two-image OpenAI edit through the stand-in server,
``Recorder.step``, and an edit of an imported file (import itself never signs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from provenance.backends.base import Action
from provenance.credentials import make_context
from provenance.credentials.read import read_crjson
from provenance.home.identity import create_local_identity, load_identity
from provenance.home.ledger import create_ledger
from provenance.home.paths import Home
from provenance.media.imaging import sniff_mime
from provenance.record.recorder import Recorder
from provenance.vocab import ENV_ACTOR, ENV_LEDGER_URL, ENV_TSA_URL
from tests.openai_server import OpenAIServer

KEY = "sk-proj-CONFORMANCEsecret0123456789ab"

# Every operation of the local edit language, as one instruction each (with what it needs).
EDIT_OPERATIONS: dict[str, str] = {
    "crop": "crop 8 8 48 40",
    "resize": "resize 50%",
    "rotate": "rotate 90",
    "flip": "flip horizontal",
    "brightness": "brightness 1.2",
    "contrast": "contrast 1.3",
    "saturation": "saturation 0.5",
    "exposure": "exposure 0.5",
    "grayscale": "grayscale",
    "blur": "blur 2",
    "sharpen": "sharpen",
    "text": "text 'SALE' top left",
    "caption": "caption 'spring sale'",
    "redact": "redact fill black",
    "inpaint": "inpaint telea",
    "place": "place 1 bottom left scale 50%",
}
NEEDS_MASK = {"redact", "inpaint"}


@dataclass(frozen=True)
class Outputs:
    home: Home
    files: dict[str, Path]
    crjson: dict[str, dict[str, Any]]


def _png(path: Path, size: tuple[int, int], color: str) -> Path:
    Image.new("RGB", size, color).save(path)
    return path


def _mask(path: Path, size: tuple[int, int]) -> Path:
    m = Image.new("L", size, 0)
    m.paste(255, (0, 0, size[0] // 2, size[1] // 2))
    m.save(path)
    return path


def _local(rec: Recorder, d: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    [gen] = rec.generate("A red circle on a white background", d / "gen.png", size="64x64")
    files["local generate"] = gen.path
    logo = _png(d / "logo.png", (24, 24), "gold")
    mask = _mask(d / "mask.png", (64, 64))
    for op, instruction in EDIT_OPERATIONS.items():
        inputs = [gen.path, logo] if op == "place" else [gen.path]
        [out] = rec.edit(
            inputs, instruction, d / f"edit-{op}.png", mask=mask if op in NEEDS_MASK else None
        )
        files[f"local edit: {op}"] = out.path
    [jpeg] = rec.edit([gen.path], "grayscale; crop 0 0 48 48", d / "edit.jpg")
    files["local edit to JPEG"] = jpeg.path
    [masked] = rec.edit([gen.path], "inpaint", d / "inpaint.png", mask=mask)
    files["masked inpaint"] = masked.path
    [one] = rec.edit([gen.path], "brightness 1.1", d / "chain-1.png")
    [two] = rec.edit([one.path], "crop 4 4 56 56", d / "chain-2.jpg")
    [three] = rec.edit([two.path], "rotate 180", d / "chain-3.webp")
    files.update({"chain 1 PNG": one.path, "chain 2 JPEG": two.path, "chain 3 WebP": three.path})
    camera = _png(d / "camera.png", (64, 48), "navy")
    rec.import_asset(camera)
    files["import (unsigned original)"] = camera
    [of_import] = rec.edit([camera], "crop 0 0 32 32", d / "import-edit.png")
    files["edit of an import"] = of_import.path
    with rec.step(
        [gen.path],
        d / "step.png",
        actions=[Action("c2pa.filtered", {"name": "denoise"})],
        software_agent="my-denoiser 2.1",
    ) as step:
        step.image = Image.open(gen.path).rotate(180)
    files["Recorder.step"] = d / "step.png"
    return files


def _openai(home: Home, d: Path) -> dict[str, Path]:
    parent = _png(d / "oa-parent.png", (64, 64), "teal")
    ref = _png(d / "oa-ref.png", (32, 32), "orange")
    mask = _mask(d / "oa-mask.png", (64, 64))
    with OpenAIServer(api_key=KEY) as server, pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", KEY)
        mp.setenv("OPENAI_BASE_URL", server.base_url)
        with Recorder(home, backend="openai") as rec:
            [gen] = rec.generate("a kite over a dune", d / "oa-gen.png", size="64x64")
            [edit] = rec.edit([parent, ref], "add a kite", d / "oa-edit.png", mask=mask)
    return {"OpenAI generate": gen.path, "OpenAI masked 2-image edit": edit.path}


@pytest.fixture(scope="session")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outputs]:
    root = tmp_path_factory.mktemp("conformance")
    home = Home(root / "home")
    create_local_identity(home, actor="conformance@example.org")
    create_ledger(home)
    d = root / "work"
    d.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        # Session-scoped, so made before the per-test isolation: no TSA, actor or ledger URL
        # of the developer's own environment reaches these files.
        for var in (ENV_TSA_URL, ENV_ACTOR, ENV_LEDGER_URL, "PROVENANCE_KEY_PASSPHRASE"):
            mp.delenv(var, raising=False)
        with Recorder(home) as rec:
            files = _local(rec, d)
        files.update(_openai(home, d))
    ca = load_identity(home).ca_pem
    ctx = make_context(trust_anchors=ca.decode() if ca else None, thumbnail=False)
    crjson = {}
    for kind, path in files.items():
        data = path.read_bytes()
        crjson[kind] = read_crjson(data, sniff_mime(data) or "image/png", ctx)
    yield Outputs(home, files, crjson)
