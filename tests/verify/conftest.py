"""Helpers for the verification tests: run the CLI in-process, read JSON reports, record files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
