"""Helpers for the verification tests: run the CLI in-process, read JSON reports, record files."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from provenance.backends.base import GenerateRequest
from provenance.backends.local import LocalBackend
from provenance.recovery.detail import GRID
from provenance.recovery.fingerprint import compute
from tests.conftest import run


def record(capsys: pytest.CaptureFixture[str], *argv: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 0, err


def flip_after(path: Path, marker: bytes, offset: int) -> None:
    """Change one byte of the compressed pixels (outside the manifest) after ``marker``."""
    data = bytearray(path.read_bytes())
    at = data.rindex(marker) + offset
    data[at] ^= 0x5A
    path.write_bytes(bytes(data))


def node_titles(node: dict[str, Any]) -> list[str]:
    out = [node["title"]]
    for child in node["ingredients"]:
        out += node_titles(child)
    return out


# Issue 12's doctored poster: a recorded one, and an unrecorded one with other numbers.
POSTER = "poster 1200x630, dark blue, title '68% to 32%', caption 'turnout 61%'"
OTHER_NUMBERS = "poster 1200x630, dark blue, title '53% to 47%', caption 'turnout 44%'"


def _block_means(img: Image.Image) -> np.ndarray:
    detail = compute(img).detail
    assert detail is not None
    return np.frombuffer(detail, np.uint8, GRID * GRID, 2).reshape(GRID, GRID).astype(float)


def doctored(recorded: Image.Image, variant: Image.Image, rounds: int = 12) -> Image.Image:
    """The attack: ``variant``'s 32x32 block brightness shifted until its block means are the
    recorded ones (what the detail grid and the global hashes see)."""
    pixels = np.asarray(variant.convert("RGB"), dtype=float).copy()
    h, w = pixels.shape[:2]
    rows = np.minimum(np.arange(h) * GRID // h, GRID - 1)
    cols = np.minimum(np.arange(w) * GRID // w, GRID - 1)
    target = _block_means(recorded)
    for _ in range(rounds):
        now = Image.fromarray(np.rint(pixels).astype(np.uint8))
        delta = target - _block_means(now)
        pixels = np.clip(pixels + delta[rows][:, cols][..., None], 0, 255)
    return Image.fromarray(np.rint(pixels).astype(np.uint8))


def unrecorded(prompt: str) -> Image.Image:
    made = LocalBackend().generate(GenerateRequest(prompt)).outputs[0].data
    return Image.open(io.BytesIO(made)).convert("RGB")
